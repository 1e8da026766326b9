package rtnl

// The Decode functions turn the payload of one rtnetlink message (the bytes
// after its nlmsghdr) into the same structs the list verbs return. They
// serve readers of other sockets, such as the multicast monitor, so that an
// event's resource equals what a re-read returns. Each returns an error
// naming the malformed field; none panics on any input.

// DecodeLink decodes an RTM_NEWLINK or RTM_DELLINK payload. A malformed
// payload yields the zero Link and an error naming the field.
func DecodeLink(payload []byte) (Link, error) { return decodeLink(payload, nil) }

// DecodeLinkStats decodes an RTM_NEWLINK payload into the link's counters.
// A malformed payload yields the zero Stats and an error naming the field.
func DecodeLinkStats(payload []byte) (Stats, error) {
	var st LinkStats64
	l, err := decodeLink(payload, &st)
	if err != nil {
		return Stats{}, err
	}
	return Stats{Index: l.Index, Name: l.Name, Link: st}, nil
}

// DecodeAddress decodes an RTM_NEWADDR or RTM_DELADDR payload. A malformed
// payload yields the zero Address and an error naming the field.
func DecodeAddress(payload []byte) (Address, error) { return decodeAddress(payload) }

// DecodeRoute decodes an RTM_NEWROUTE or RTM_DELROUTE payload. ok is false,
// with a nil error, for a route of a family other than IPv4 or IPv6
// (multicast routing tables), which Linx does not model.
func DecodeRoute(payload []byte) (r Route, ok bool, err error) {
	ok, err = decodeRoute(payload, &r)
	return r, ok, err
}

// DecodeNeighbour decodes an RTM_NEWNEIGH or RTM_DELNEIGH payload. ok is
// false, with a nil error, for an entry that is not IPv4 or IPv6 (bridge
// forwarding entries).
func DecodeNeighbour(payload []byte) (n Neighbour, ok bool, err error) {
	return decodeNeighbour(payload)
}

// DecodeRule decodes an RTM_NEWRULE or RTM_DELRULE payload. ok is false,
// with a nil error, for a family other than IPv4 or IPv6.
func DecodeRule(payload []byte) (r Rule, ok bool, err error) { return decodeRule(payload) }

// DecodeNexthop decodes the payload of an RTM_NEWNEXTHOP or
// RTM_DELNEXTHOP message (after the netlink header), as Nexthops does.
func DecodeNexthop(payload []byte) (Nexthop, error) { return decodeNexthop(payload) }
