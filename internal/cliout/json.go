package cliout

import (
	"encoding/json"
	"strconv"
)

// The views listed by the million (routes, addresses, neighbours) encode
// themselves: encoding/json's reflection is most of the cost of printing
// a full routing table. Each appendJSON writes exactly what json.Marshal
// writes for the view (TestAppendJSONMatchesMarshal holds them to it).

// appendString appends s as a JSON string, escaped as json.Marshal
// escapes it (HTML characters included).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendKey appends `,"key":` (without the comma for the first key).
func appendKey(b []byte, first bool, key string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendNullable appends *p as a string, or null.
func appendNullable(b []byte, p *string) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	return appendString(b, *p)
}

func (v RouteView) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendKey(b, true, "dst")
	b = appendString(b, v.Dst)
	if v.Gateway != "" {
		b = appendKey(b, false, "gateway")
		b = appendString(b, v.Gateway)
	}
	b = appendKey(b, false, "oif")
	b = strconv.AppendInt(b, int64(v.OIF), 10)
	if v.Dev != "" {
		b = appendKey(b, false, "dev")
		b = appendString(b, v.Dev)
	}
	b = appendKey(b, false, "table")
	b = strconv.AppendUint(b, uint64(v.Table), 10)
	b = appendKey(b, false, "protocol")
	b = strconv.AppendUint(b, uint64(v.Protocol), 10)
	b = appendKey(b, false, "protocol_name")
	b = appendString(b, v.ProtocolName)
	b = appendKey(b, false, "metric")
	b = strconv.AppendUint(b, uint64(v.Metric), 10)
	b = appendKey(b, false, "family")
	b = appendString(b, v.Family)
	b = appendKey(b, false, "type")
	b = appendString(b, v.Type)
	b = appendKey(b, false, "scope")
	b = appendString(b, v.Scope)
	if v.PrefSrc != "" {
		b = appendKey(b, false, "prefsrc")
		b = appendString(b, v.PrefSrc)
	}
	if len(v.NextHops) > 0 {
		b = appendKey(b, false, "nexthops")
		b = append(b, '[')
		for i, nh := range v.NextHops {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			first := true
			if nh.Gateway != "" {
				b = appendKey(b, true, "gateway")
				b = appendString(b, nh.Gateway)
				first = false
			}
			b = appendKey(b, first, "oif")
			b = strconv.AppendInt(b, int64(nh.OIF), 10)
			if nh.Dev != "" {
				b = appendKey(b, false, "dev")
				b = appendString(b, nh.Dev)
			}
			b = appendKey(b, false, "weight")
			b = strconv.AppendInt(b, int64(nh.Weight), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if v.From != "" {
		b = appendKey(b, false, "from")
		b = appendString(b, v.From)
	}
	if v.NHID != 0 {
		b = appendKey(b, false, "nhid")
		b = strconv.AppendUint(b, uint64(v.NHID), 10)
	}
	return append(b, '}')
}

func (v AddressView) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendKey(b, true, "ifindex")
	b = strconv.AppendInt(b, int64(v.Index), 10)
	b = appendKey(b, false, "ifname")
	b = appendString(b, v.IfName)
	b = appendKey(b, false, "address")
	b = appendString(b, v.Address)
	b = appendKey(b, false, "family")
	b = appendString(b, v.Family)
	b = appendKey(b, false, "scope")
	b = appendString(b, v.Scope)
	for _, kv := range [...][2]string{{"peer", v.Peer}, {"broadcast", v.Broadcast}, {"label", v.Label}} {
		if kv[1] != "" {
			b = appendKey(b, false, kv[0])
			b = appendString(b, kv[1])
		}
	}
	b = appendKey(b, false, "flags")
	b = strconv.AppendUint(b, uint64(v.Flags), 10)
	b = appendKey(b, false, "flag_names")
	if v.FlagNames == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, n := range v.FlagNames {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, n)
		}
		b = append(b, ']')
	}
	b = appendKey(b, false, "protocol")
	b = strconv.AppendUint(b, uint64(v.Protocol), 10)
	return append(b, '}')
}

func (v NeighbourView) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendKey(b, true, "ifindex")
	b = strconv.AppendInt(b, int64(v.Index), 10)
	b = appendKey(b, false, "ifname")
	b = appendString(b, v.IfName)
	b = appendKey(b, false, "ip")
	b = appendString(b, v.IP)
	b = appendKey(b, false, "mac")
	b = appendNullable(b, v.MAC)
	b = appendKey(b, false, "state")
	b = appendString(b, v.State)
	b = appendKey(b, false, "family")
	b = appendString(b, v.Family)
	b = appendKey(b, false, "flags")
	b = strconv.AppendUint(b, uint64(v.Flags), 10)
	b = appendKey(b, false, "protocol")
	b = strconv.AppendUint(b, uint64(v.Protocol), 10)
	return append(b, '}')
}
