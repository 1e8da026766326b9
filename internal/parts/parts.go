package parts

import (
	"runtime"
	"slices"
	"sync"
)

// Large is how many items a range must hold for Of to split it: below
// it, starting goroutines costs more than it saves.
const Large = 1 << 15

// Of returns how many parts a range of n items is worked in: one per
// processor (runtime.GOMAXPROCS) when n is at least Large, else one.
func Of(n int) int {
	if n < Large {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// Run splits [0, n) into parts consecutive ranges, part k being
// [k*n/parts, (k+1)*n/parts), calls f with each part's number and range,
// in a goroutine of its own (or on the caller's, for one part), and
// reports whether every call returned true. It returns once every call
// has.
func Run(n, parts int, f func(k, lo, hi int) bool) bool {
	if parts <= 1 {
		return f(0, 0, n)
	}
	ok := make([]bool, parts)
	var wg sync.WaitGroup
	for k := range parts {
		wg.Go(func() { ok[k] = f(k, k*n/parts, (k+1)*n/parts) })
	}
	wg.Wait()
	return !slices.Contains(ok, false)
}
