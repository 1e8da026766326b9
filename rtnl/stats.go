package rtnl

import (
	"encoding/binary"
	"fmt"
)

// LinkStats64 is the kernel's struct rtnl_link_stats64: all 25 counters of
// an interface, in the kernel's order. A kernel older than the struct's
// last fields leaves them zero.
type LinkStats64 struct {
	RxPackets          uint64 `json:"rx_packets"`
	TxPackets          uint64 `json:"tx_packets"`
	RxBytes            uint64 `json:"rx_bytes"`
	TxBytes            uint64 `json:"tx_bytes"`
	RxErrors           uint64 `json:"rx_errors"`
	TxErrors           uint64 `json:"tx_errors"`
	RxDropped          uint64 `json:"rx_dropped"`
	TxDropped          uint64 `json:"tx_dropped"`
	Multicast          uint64 `json:"multicast"`
	Collisions         uint64 `json:"collisions"`
	RxLengthErrors     uint64 `json:"rx_length_errors"`
	RxOverErrors       uint64 `json:"rx_over_errors"`
	RxCRCErrors        uint64 `json:"rx_crc_errors"`
	RxFrameErrors      uint64 `json:"rx_frame_errors"`
	RxFIFOErrors       uint64 `json:"rx_fifo_errors"`
	RxMissedErrors     uint64 `json:"rx_missed_errors"`
	TxAbortedErrors    uint64 `json:"tx_aborted_errors"`
	TxCarrierErrors    uint64 `json:"tx_carrier_errors"`
	TxFIFOErrors       uint64 `json:"tx_fifo_errors"`
	TxHeartbeatErrors  uint64 `json:"tx_heartbeat_errors"`
	TxWindowErrors     uint64 `json:"tx_window_errors"`
	RxCompressed       uint64 `json:"rx_compressed"`
	TxCompressed       uint64 `json:"tx_compressed"`
	RxNoHandler        uint64 `json:"rx_nohandler"`
	RxOtherhostDropped uint64 `json:"rx_otherhost_dropped"`
}

// decodeStats64 decodes IFLA_STATS64; fields past the end of b stay zero.
func decodeStats64(b []byte) LinkStats64 {
	var st LinkStats64
	fields := [...]*uint64{
		&st.RxPackets, &st.TxPackets, &st.RxBytes, &st.TxBytes, &st.RxErrors, &st.TxErrors,
		&st.RxDropped, &st.TxDropped, &st.Multicast, &st.Collisions, &st.RxLengthErrors,
		&st.RxOverErrors, &st.RxCRCErrors, &st.RxFrameErrors, &st.RxFIFOErrors,
		&st.RxMissedErrors, &st.TxAbortedErrors, &st.TxCarrierErrors, &st.TxFIFOErrors,
		&st.TxHeartbeatErrors, &st.TxWindowErrors, &st.RxCompressed, &st.TxCompressed,
		&st.RxNoHandler, &st.RxOtherhostDropped,
	}
	for i, f := range fields {
		if len(b) < (i+1)*8 {
			break
		}
		*f = binary.NativeEndian.Uint64(b[i*8:])
	}
	return st
}

// Stats is one interface's counters.
type Stats struct {
	Index int
	Name  string
	Link  LinkStats64
}

// String returns `Stats<ifindex=2 rx=128431p/189204771B tx=85912p/12504331B>`.
func (s Stats) String() string {
	return fmt.Sprintf("Stats<ifindex=%d rx=%dp/%dB tx=%dp/%dB>",
		s.Index, s.Link.RxPackets, s.Link.RxBytes, s.Link.TxPackets, s.Link.TxBytes)
}

// Stats returns the counters of the link called name. An unknown name fails
// with ENODEV.
func (s *Socket) Stats(name string) (Stats, error) {
	l, st, err := s.getLink("stats get", 0, name)
	if err != nil {
		return Stats{}, err
	}
	return Stats{Index: l.Index, Name: l.Name, Link: st}, nil
}

// AllStats returns the counters of every link, ordered by index. Failures
// are as Links's.
func (s *Socket) AllStats() ([]Stats, error) {
	var out []Stats
	err := s.dumpLinks("stats list", true, func(l Link, st *LinkStats64) {
		out = append(out, Stats{Index: l.Index, Name: l.Name, Link: *st})
	}, func() { out = out[:0] })
	if err != nil {
		return nil, err
	}
	return out, nil
}
