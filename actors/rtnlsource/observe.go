package rtnlsource

import "github.com/linx-net/linx/reconcile"

// OnPass makes fn see the full reconcile.Report of every pass the source
// runs from now on, with the error reconcile.Pass returned (or a
// *FightError when the pass redid what another writer keeps undoing),
// before the report is summarised for the loop. fn runs on the scope's socket actor:
// it must return quickly and must not keep rep's slices beyond the call.
// A nil fn removes the observer. OnPass is safe to call at any time, but
// is meant to be called once, right after New, before the source is used
// (for example to count operations per kind for metrics).
func (s *Source) OnPass(fn func(rep reconcile.Report, err error)) {
	if fn == nil {
		s.observe.Store(nil)
		return
	}
	s.observe.Store(&fn)
}
