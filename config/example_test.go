package config_test

import (
	"fmt"
	"strings"

	"github.com/linx-net/linx/config"
)

// Every problem, a YAML syntax error included, names FILE:LINE:COL.
func ExampleParse_problems() {
	_, err := config.Parse("linx.yaml", []byte(`state_dir: /var/lib/linx
scopes:
  - name: blue
    interval: 1ms
    desired:
      routes:
        - {dst: 10.1.0.0/16, via: 10.0.0.300}
`))
	fmt.Println(err)

	_, err = config.Parse("linx.yaml", []byte("scopes:\n  - name: a\n - name: b\n"))
	fmt.Println(err)

	_, err = config.Parse("linx.yaml", []byte("x: "+strings.Repeat("[", 40000)))
	fmt.Println(err)
	// Output:
	// invalid configuration (2 problems):
	// linx.yaml:4:15: scopes[0].interval: want a duration of at least 100ms such as 30s, got "1ms"
	// linx.yaml:7:35: scopes[0].desired.routes[0].via: want an IP address such as 10.0.0.1 or fd00::1, got "10.0.0.300"
	// invalid configuration (1 problems):
	// linx.yaml:3:2: not valid YAML: did not find expected key while parsing a block mapping at line 1, column 1
	// invalid configuration (1 problems):
	// linx.yaml:1:67: nesting deeper than 64 levels (a Linx configuration needs at most 8)
}
