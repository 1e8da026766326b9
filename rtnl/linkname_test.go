package rtnl_test

import (
	"testing"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// CheckLinkName agrees with the kernel on every name: what it accepts the
// kernel creates, what it refuses the kernel refuses, except invalid
// UTF-8, which the kernel takes and Linx's text forms cannot carry.
func TestCheckLinkNameAgreesWithKernel(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	for _, c := range []struct {
		name   string
		kernel bool // the kernel creates it
	}{
		{"br0", true}, {"a", true}, {"012345678901234", true}, {"é0", true}, {"a=b", true}, {"a-b.c_d@e", true},
		{"...", true}, {"a\x01b", true},
		{"0123456789abcdef", false}, {".", false}, {"..", false}, {"a b", false}, {"a/b", false}, {"a:b", false},
		{"br\r0", false}, {"a\tb", false}, {"a\nb", false}, {"a\vb", false}, {"a\fb", false},
		{"à", false}, // UTF-8 c3 a0: the kernel's isspace takes 0xa0 for a space
		{"\xe9", true},
	} {
		err := rtnl.CheckLinkName(c.name)
		kerr := s.LinkAdd(rtnl.Link{Name: c.name, Kind: "bridge"})
		created := kerr == nil
		if created {
			// LinkAdd checks names with CheckLinkName first: only a name
			// it accepts can have reached the kernel.
			if err := s.LinkDelete(c.name); err != nil {
				t.Fatal(err)
			}
		}
		want := c.kernel && c.name != "\xe9"
		if (err == nil) != want {
			t.Errorf("CheckLinkName(%q) = %v, want accepted %v", c.name, err, want)
		}
		if created != want {
			t.Errorf("LinkAdd(%q) = %v, want created %v", c.name, kerr, want)
		}
		if c.kernel != want {
			continue
		}
		// The kernel itself, without Linx's check, through ip.
		_, ipErr := ns.TryIP("link", "add", "name", c.name, "type", "bridge")
		if (ipErr == nil) != c.kernel {
			t.Errorf("ip link add %q: %v, want created %v", c.name, ipErr, c.kernel)
		}
		if ipErr == nil {
			ns.IP("link", "del", "dev", c.name)
		}
	}
}
