// Package fakesource is an in-memory source.Source for the actors' tests:
// a key/value "kernel", a ledger of keys the scope created, a watch fed by
// the test, and real file descriptors behind every handle and watch so that
// leaks show in /proc/self/fd.
package fakesource

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linx-net/linx/actors/source"
)

// Desired is the desired state the fake understands: key -> value.
type Desired map[string]string

// Source is the fake. The zero value is not usable; call New.
type Source struct {
	// PassDelay is added to every pass (set before use).
	PassDelay time.Duration
	// Degrade reports conflicts as a degraded pass (source.ErrDegraded,
	// one Object per conflict) instead of a failed one, with RetryIn as
	// the report's (set before use).
	Degrade bool
	RetryIn time.Duration

	mu      sync.Mutex
	kernel  map[string]string
	ledger  map[string]bool
	watches map[*Watch]bool
	gone    error
	openErr error
	// silent counts the deletions no event reported since the last pass
	// that looked at everything.
	silent int

	// PanicInOverruns makes Watch.Overruns panic, as a bug in a watch
	// would, inside the monitor's reader goroutine.
	PanicInOverruns atomic.Bool

	Passes atomic.Int64
	// LastTrigger is the trigger the last pass's context carried.
	LastTrigger atomic.Uint32
	Opens       atomic.Int64
	Closes      atomic.Int64
	Watches     atomic.Int64
}

// New returns an empty fake.
func New() *Source {
	return &Source{kernel: map[string]string{}, ledger: map[string]bool{}, watches: map[*Watch]bool{}}
}

// Kernel returns a copy of the fake kernel state.
func (s *Source) Kernel() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.kernel)
}

// Ledger returns a copy of the ledger.
func (s *Source) Ledger() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.ledger)
}

// SetForeign writes a key as another writer would and wakes the watches.
func (s *Source) SetForeign(k, v string) {
	s.mu.Lock()
	s.kernel[k] = v
	s.mu.Unlock()
	s.Emit(source.Wake)
}

// Delete removes a key as an operator would by hand and wakes the watches.
func (s *Source) Delete(k string) {
	s.mu.Lock()
	delete(s.kernel, k)
	s.mu.Unlock()
	s.Emit(source.Wake)
}

// DeleteSilently removes k from the kernel with no event, as a kernel
// flush nobody reports: only an interval pass repairs it, and reports it
// as drift.
func (s *Source) DeleteSilently(k string) {
	s.mu.Lock()
	delete(s.kernel, k)
	s.silent++
	s.mu.Unlock()
}

// SetOpenError makes Open fail with err (nil restores it).
func (s *Source) SetOpenError(err error) {
	s.mu.Lock()
	s.openErr = err
	s.mu.Unlock()
}

// Vanish makes the scope disappear: open watches end, and Open and Pass
// fail, with an error wrapping source.ErrScopeGone.
func (s *Source) Vanish() {
	s.mu.Lock()
	s.gone = fmt.Errorf("process 4242 exited: %w", source.ErrScopeGone)
	ws := maps.Clone(s.watches)
	s.mu.Unlock()
	for w := range ws {
		w.end(s.gone)
	}
}

// Disappear makes the scope disappear as a removed namespace file does:
// as Vanish, with an error wrapping source.ErrScopeAbsent as well, so the
// scope waits for it to come back instead of stopping for good.
func (s *Source) Disappear() {
	s.mu.Lock()
	s.gone = fmt.Errorf("/run/netns/fake no longer exists: %w (%w)", source.ErrScopeGone, source.ErrScopeAbsent)
	ws := maps.Clone(s.watches)
	s.mu.Unlock()
	for w := range ws {
		w.end(s.gone)
	}
}

// Emit sends ev to every open watch, dropping it where the buffer is full.
func (s *Source) Emit(ev source.Event) {
	s.mu.Lock()
	ws := maps.Clone(s.watches)
	s.mu.Unlock()
	for w := range ws {
		w.send(ev)
	}
}

// OpenWatches returns how many watches are open.
func (s *Source) OpenWatches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.watches)
}

type handle struct {
	s *Source
	f *os.File
}

func (h *handle) Close() error {
	h.s.Closes.Add(1)
	return h.f.Close()
}

// Open implements source.Source.
func (s *Source) Open(context.Context) (source.Handle, error) {
	s.mu.Lock()
	err := s.openErr
	if s.gone != nil {
		err = s.gone
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	s.Opens.Add(1)
	return &handle{s: s, f: f}, nil
}

// Pass implements source.Source: desired keys are written and recorded in
// the ledger; ledger keys no longer desired are deleted.
func (s *Source) Pass(ctx context.Context, h source.Handle, desired any) source.Report {
	start := time.Now()
	if _, ok := h.(*handle); !ok {
		return source.Report{Err: errors.New("fakesource: foreign handle")}
	}
	if s.PassDelay > 0 {
		time.Sleep(s.PassDelay)
	}
	s.Passes.Add(1)
	s.LastTrigger.Store(uint32(source.TriggerOf(ctx)))
	d, _ := desired.(Desired)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone != nil {
		return source.Report{Err: s.gone}
	}
	r := source.Report{}
	for k, v := range d {
		if cur, ok := s.kernel[k]; ok && cur == v {
			continue
		} else if ok && !s.ledger[k] {
			r.Conflicts++
			r.Objects = append(r.Objects, source.Object{Kind: "key", Key: k, State: source.StateConflict, By: "value " + cur})
			continue
		}
		s.ledger[k] = true
		s.kernel[k] = v
		r.Applied++
	}
	for k := range s.ledger {
		if _, ok := d[k]; !ok {
			delete(s.kernel, k)
			delete(s.ledger, k)
			r.Applied++
		}
	}
	// Wake-ups are narrowed, as rtnlsource narrows them; an interval pass
	// that repairs a silent deletion reports it as drift.
	why := source.TriggerOf(ctx)
	r.Narrowed = why == source.TriggerEvents
	if why == source.TriggerCheck && s.silent > 0 && r.Applied > 0 {
		r.Drift = map[string]int{"fake": r.Applied}
	}
	if why != source.TriggerEvents {
		s.silent = 0
	}
	r.Converged = r.Conflicts == 0
	switch {
	case !r.Converged && s.Degrade:
		r.Err, r.RetryIn = fmt.Errorf("%w: %d conflicts", source.ErrDegraded, r.Conflicts), s.RetryIn
	case !r.Converged:
		r.Err, r.Objects = fmt.Errorf("%d conflicts", r.Conflicts), nil
	}
	r.Duration = time.Since(start)
	return r
}

// Watch is the fake's watch: a buffered channel and a pipe (a real fd).
type Watch struct {
	s        *Source
	mu       sync.Mutex
	ch       chan source.Event
	r, w     *os.File
	closed   bool
	err      error
	overruns atomic.Uint64
}

// Watch implements source.Source.
func (s *Source) Watch(context.Context) (source.Watch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone != nil {
		return nil, s.gone
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	wt := &Watch{s: s, ch: make(chan source.Event, 1024), r: r, w: w}
	s.watches[wt] = true
	s.Watches.Add(1)
	return wt, nil
}

func (w *Watch) send(ev source.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if ev == source.Resync {
		w.overruns.Add(1)
	}
	select {
	case w.ch <- ev:
	default:
	}
}

func (w *Watch) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed, w.err = true, err
	close(w.ch)
	w.s.mu.Lock()
	delete(w.s.watches, w)
	w.s.mu.Unlock()
	w.r.Close()
	w.w.Close()
}

// Events implements source.Watch.
func (w *Watch) Events() <-chan source.Event { return w.ch }

// Err implements source.Watch.
func (w *Watch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Overruns implements source.Watch.
func (w *Watch) Overruns() uint64 {
	if w.s.PanicInOverruns.Load() {
		panic("fakesource: Overruns exploded")
	}
	return w.overruns.Load()
}

// Close implements source.Watch.
func (w *Watch) Close() error {
	w.end(nil)
	return nil
}

// Fail ends every open watch with err, as a dead subscription would.
func (s *Source) Fail(err error) {
	s.mu.Lock()
	ws := maps.Clone(s.watches)
	s.mu.Unlock()
	for w := range ws {
		w.end(err)
	}
}
