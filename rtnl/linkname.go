package rtnl

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// CheckLinkName returns nil when name is a name the kernel can give an
// interface, or an error quoting it and saying why not. It follows the
// kernel's dev_valid_name (net/core/dev.c): 1 to 15 bytes (IFNAMSIZ-1),
// not "." or "..", and no '/', ':', NUL or space (the kernel's isspace:
// space, \t, \n, \v, \f, \r and the byte 0xa0). It also refuses a name
// that is not valid UTF-8, which the kernel would take but Linx's text
// forms (the ledger's JSON, the YAML configuration, the message API's
// protobuf strings) cannot carry unchanged.
//
// Every interface name Linx takes from outside, a link's, its parent's,
// master's or peer's, a rule's iif or oif, the link of an address or
// neighbour, is checked by this one function, so that a name refused
// here is refused everywhere, before any request, and a name accepted
// fits every key's text form.
func CheckLinkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("interface name %q: empty", name)
	case len(name) >= unix.IFNAMSIZ:
		return fmt.Errorf("interface name %q: %d bytes, the kernel allows at most %d", name, len(name), unix.IFNAMSIZ-1)
	case name == "." || name == "..":
		return fmt.Errorf("interface name %q: reserved", name)
	}
	if i := strings.IndexFunc(name, badNameRune); i >= 0 {
		return fmt.Errorf("interface name %q: byte %d (%q) is not allowed (no '/', ':', NUL or whitespace)", name, i, name[i])
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0xa0 { // isspace in the kernel's Latin-1 ctype
			return fmt.Errorf("interface name %q: byte %d (0xa0) is not allowed (no '/', ':', NUL or whitespace)", name, i)
		}
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("interface name %q: not valid UTF-8", name)
	}
	return nil
}

func badNameRune(r rune) bool {
	switch r {
	case '/', ':', 0, ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}
