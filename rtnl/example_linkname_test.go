package rtnl_test

import (
	"fmt"

	"github.com/linx-net/linx/rtnl"
)

// CheckLinkName accepts the names the kernel gives interfaces and refuses
// the others with the reason.
func ExampleCheckLinkName() {
	for _, name := range []string{"br0", "a b", "br\r0", "eth0:1", "averyverylongname"} {
		fmt.Println(rtnl.CheckLinkName(name))
	}
	// Output:
	// <nil>
	// interface name "a b": byte 1 (' ') is not allowed (no '/', ':', NUL or whitespace)
	// interface name "br\r0": byte 2 ('\r') is not allowed (no '/', ':', NUL or whitespace)
	// interface name "eth0:1": byte 4 (':') is not allowed (no '/', ':', NUL or whitespace)
	// interface name "averyverylongname": 17 bytes, the kernel allows at most 15
}
