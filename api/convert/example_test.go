package convert_test

import (
	"fmt"
	"log"

	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/config"
)

// A scope of a configuration file becomes the SpawnScope message a
// controller sends to an agent (client.Client.Spawn), losing nothing: the
// agent converts it back with DesiredFromProto.
func ExampleSpawnFromConfig() {
	cfg, err := config.Parse("linx.yaml", []byte(`
scopes:
  - name: web
    netns: path:/var/run/netns/web
    desired:
      links: [{name: mt0, kind: macvtap, parent: eth0, mode: private}]
      routes:
        - {dst: 192.0.2.0/24, type: blackhole}
        - {dst: default, via: 10.0.42.254, src: 10.0.42.1}
`))
	if err != nil {
		log.Fatal(err)
	}
	m, err := convert.SpawnFromConfig(cfg.Scopes[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.GetName(), m.GetNamespace().GetPath(), m.GetInterval().AsDuration())
	l := m.GetDesired().GetLinks()[0]
	fmt.Println(l.GetName(), l.GetKind(), l.GetMacvlan().GetMode(), l.GetMacvlan().GetTap())
	for _, r := range m.GetDesired().GetRoutes() {
		fmt.Printf("dst=%s type=%q via=%q src=%q\n", r.GetDst(), r.GetType(), r.GetVia(), r.GetSrc())
	}
	// Output:
	// web /var/run/netns/web 30s
	// mt0 macvtap private true
	// dst=192.0.2.0/24 type="blackhole" via="" src=""
	// dst=0.0.0.0/0 type="" via="10.0.42.254" src="10.0.42.1"
}
