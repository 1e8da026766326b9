package config_test

import (
	"strings"
	"testing"

	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/reconcile"
)

// TestAdopt checks a link's adopt key: absent or false leaves another
// writer's link of the name alone, true adopts it; the field survives the
// message API's conversion both ways.
func TestAdopt(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`scopes:
  - name: a
    desired:
      links:
        - {name: br0, kind: bridge, adopt: true}
        - {name: br1, kind: bridge, adopt: false}
        - {name: br2, kind: bridge}
`))
	if err != nil {
		t.Fatal(err)
	}
	links := cfg.Scopes[0].Desired.Links
	if !links[0].Adopt || links[1].Adopt || links[2].Adopt {
		t.Errorf("adopt = %v %v %v, want true false false", links[0].Adopt, links[1].Adopt, links[2].Adopt)
	}
	m, err := convert.DesiredToProto(cfg.Scopes[0].Desired)
	if err != nil {
		t.Fatal(err)
	}
	v, err := convert.DesiredFromProto(m)
	if err != nil {
		t.Fatal(err)
	}
	back := v.(reconcile.Desired)
	if !back.Links[0].Adopt || back.Links[2].Adopt {
		t.Errorf("after the message API: adopt = %v %v, want true false", back.Links[0].Adopt, back.Links[2].Adopt)
	}
	_, err = config.Parse("t.yaml", []byte("scopes:\n - name: a\n   desired:\n    links:\n     - {name: b, kind: bridge, adopt: yes please}\n"))
	if err == nil || !strings.Contains(err.Error(), "links[0].adopt: want true or false") {
		t.Errorf("adopt not a boolean: %v", err)
	}
}
