package rtnl

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// This file lends the external rule tests a writer that is not Linx's own
// encoder, to install rules with selectors as another program would.

// Rule attribute types for the tests (include/uapi/linux/fib_rules.h).
const (
	FRADSCP          = fraDSCP
	FRAFlowLabel     = fraFlowLabel
	FRAFlowLabelMask = fraFlowLabelMask
	FRADPortMask     = fraDPortMask
	FRADSCPMask      = fraDSCPMask
)

// RawAttr is one netlink attribute as RuleAddRaw sends it.
type RawAttr struct {
	Type    uint16
	Payload []byte
}

// RuleAddRaw installs a to-table rule of family at priority pref looking
// up table, with attrs after FRA_PRIORITY and FRA_TABLE, from a message
// built byte by byte here rather than by encodeRule, with NLM_F_EXCL as
// `ip rule add` sends it. It returns the kernel's answer.
func RuleAddRaw(s *Socket, family Family, pref, table uint32, attrs ...RawAttr) error {
	return ruleAddRaw(s, unix.NLM_F_EXCL, family, pref, table, attrs...)
}

// RuleAppendRaw is RuleAddRaw without NLM_F_EXCL: the kernel then skips
// its check for an existing rule the request matches, and installs a rule
// after a twin with more selectors, which NLM_F_EXCL refuses (EEXIST).
func RuleAppendRaw(s *Socket, family Family, pref, table uint32, attrs ...RawAttr) error {
	return ruleAddRaw(s, 0, family, pref, table, attrs...)
}

func ruleAddRaw(s *Socket, excl uint16, family Family, pref, table uint32, attrs ...RawAttr) error {
	b := make([]byte, unix.NLMSG_HDRLEN)
	b = append(b, uint8(family), 0, 0, 0, 0, 0, 0, unix.FR_ACT_TO_TBL, 0, 0, 0, 0)
	put := func(typ uint16, p []byte) {
		b = binary.NativeEndian.AppendUint16(b, uint16(unix.SizeofRtAttr+len(p)))
		b = binary.NativeEndian.AppendUint16(b, typ)
		b = append(b, p...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	put(unix.FRA_PRIORITY, binary.NativeEndian.AppendUint32(nil, pref))
	put(unix.FRA_TABLE, binary.NativeEndian.AppendUint32(nil, table))
	for _, a := range attrs {
		put(a.Type, a.Payload)
	}
	binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:6], unix.RTM_NEWRULE)
	binary.NativeEndian.PutUint16(b[6:8], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|excl)
	return s.request("raw rule add", b, nil)
}
