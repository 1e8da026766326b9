package config

import (
	"errors"
	"strings"
	"testing"
)

// Interface names the kernel would refuse, in every field that names an
// interface, are refused with the file, line and field: a rule's iif with
// a space and a link named with a carriage return among them. adopt_protocol
// reads as a boolean.
func TestBadInterfaceNames(t *testing.T) {
	const file = `scopes:
  - name: a
    adopt_protocol: true
    desired:
      links:
        - {name: "br\r0", kind: bridge}
        - {name: m0, kind: macvlan, parent: "a/b"}
        - {name: "..", kind: bridge, master: "x:y"}
      addresses:
        - {link: "e 0", address: 10.0.0.1/24}
      neighbours:
        - {link: "n\t0", ip: 10.0.0.9, mac: "02:00:00:00:00:01"}
      rules:
        - {iif: "a b", table: 100, priority: 10}
        - {oif: "0123456789abcdef", table: 100, priority: 11}
`
	_, err := Parse("names.yaml", []byte(file))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse = %v, want a *config.Error", err)
	}
	text := err.Error()
	for _, want := range []string{
		`names.yaml:6:`, `scopes[0].desired.links[0].name: interface name "br\r0"`,
		`names.yaml:7:`, `scopes[0].desired.links[1].parent: interface name "a/b"`,
		`names.yaml:8:`, `scopes[0].desired.links[2].name: interface name ".."`,
		`scopes[0].desired.links[2].master: interface name "x:y"`,
		`names.yaml:10:`, `scopes[0].desired.addresses[0].link: interface name "e 0"`,
		`names.yaml:12:`, `scopes[0].desired.neighbours[0].link: interface name "n\t0"`,
		`names.yaml:14:`, `scopes[0].desired.rules[0].iif: interface name "a b"`,
		`names.yaml:15:`, `scopes[0].desired.rules[1].oif: interface name "0123456789abcdef": 16 bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if len(ce.Problems) != 8 {
		t.Errorf("%d problems, want 8:\n%s", len(ce.Problems), text)
	}

	cfg, err := Parse("ok.yaml", []byte("scopes:\n  - name: a\n    adopt_protocol: true\n  - name: b\n    protocol: 77\n"))
	if err != nil || !cfg.Scopes[0].AdoptProtocol || cfg.Scopes[1].AdoptProtocol {
		t.Fatalf("adopt_protocol: %v, %+v", err, cfg)
	}
	if _, err := Parse("bad.yaml", []byte("scopes:\n  - name: a\n    adopt_protocol: maybe\n")); err == nil || !strings.Contains(err.Error(), "bad.yaml:3:") {
		t.Fatalf("adopt_protocol: maybe = %v, want refused at line 3", err)
	}
}
