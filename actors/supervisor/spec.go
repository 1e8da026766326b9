package supervisor

import (
	"reflect"
	"time"

	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
)

// Spec is one scope to spawn, in Go types: what Node.Spawn takes, and
// what Config.NewSource and Config.Claim are given. Protobuf messages
// (messages.SpawnScope) are converted to it once, where they arrive; an
// embedder builds it directly. The zero Spec is invalid: Name is required.
type Spec struct {
	// Name names the scope: non-empty, without '/' or spaces.
	Name string
	// Namespace is the network namespace the scope converges; the zero
	// value is the host's.
	Namespace rtnl.Namespace
	// Desired is the desired state the Source's Pass expects: a
	// reconcile.Desired for package rtnlsource. The node validates it
	// once, when the scope is spawned or updated (see Config.Check), and
	// refuses an invalid one with the validation's error. The passes read
	// it from other goroutines: the caller does not modify it (nor
	// anything it shares, such as a slice's elements) afterwards, but
	// calls Node.Update with a new value.
	Desired any
	// Loop tunes the scope's loop; zero fields take Config's defaults.
	Loop Loop
	// Source holds what the Source needs beyond the fields above, read
	// by Config.NewSource and Config.Claim: an rtnlsource.Settings for
	// package rtnlsource. Nil means that package's defaults.
	Source any
}

// Loop tunes one scope's long-lived loop. Every zero field takes the
// node's Config default.
type Loop struct {
	// Interval is the time between periodic passes.
	Interval time.Duration
	// Debounce is how long the loop waits after a kernel event before a
	// pass; negative disables debouncing.
	Debounce time.Duration
	// PassTimeout bounds one pass.
	PassTimeout time.Duration
	// Rate (passes per second) and Burst bound how often passes run.
	Rate  float64
	Burst int
	// NoMonitor runs periodic passes only, with no kernel event monitor.
	NoMonitor bool
}

// validator is a desired state that checks itself (reconcile.Desired).
type validator interface{ Validate() error }

// validate runs d's Validate, if it has one: the single check of a
// desired state per spawn or update.
func validate(d any) error {
	if rv := reflect.ValueOf(d); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	if v, ok := d.(validator); ok {
		return v.Validate()
	}
	return nil
}

// MessageSpec returns the source-independent part of the Spec that m
// describes: its name and loop settings, with desired as the desired
// state (m's desired state already converted by the caller). Namespace
// and Source are left for the source's own converter (see
// api/convert.SpecFromProto).
func MessageSpec(m *messages.SpawnScope, desired any) Spec {
	s := Spec{Name: m.GetName(), Desired: desired}
	if d := m.GetInterval(); d != nil {
		s.Loop.Interval = d.AsDuration()
	}
	o := m.GetOptions()
	if d := o.GetDebounce(); d != nil {
		s.Loop.Debounce = d.AsDuration()
	}
	if d := o.GetPassTimeout(); d != nil {
		s.Loop.PassTimeout = d.AsDuration()
	}
	s.Loop.Rate = o.GetMaxPassesPerSecond()
	s.Loop.Burst = int(o.GetBurst())
	s.Loop.NoMonitor = o.GetNoMonitor()
	return s
}
