package parts_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/linx-net/linx/internal/parts"
)

// TestRun: the parts cover the range once, in order, numbered from 0,
// and Run reports false when any part does.
func TestRun(t *testing.T) {
	for _, c := range []struct{ n, parts int }{{0, 1}, {10, 1}, {10, 3}, {7, 4}, {3, 8}} {
		ranges := make([][2]int, c.parts)
		seen := make([]int, c.n)
		ok := parts.Run(c.n, c.parts, func(k, lo, hi int) bool {
			ranges[k] = [2]int{lo, hi}
			for i := lo; i < hi; i++ {
				seen[i]++ // parts do not overlap: no two goroutines write one item
			}
			return true
		})
		if !ok {
			t.Errorf("n=%d parts=%d: Run reported a part failed", c.n, c.parts)
		}
		for k := 1; k < c.parts; k++ {
			if ranges[k][0] != ranges[k-1][1] {
				t.Errorf("n=%d parts=%d: part %d starts at %d, part %d ends at %d", c.n, c.parts, k, ranges[k][0], k-1, ranges[k-1][1])
			}
		}
		if ranges[0][0] != 0 || ranges[c.parts-1][1] != c.n {
			t.Errorf("n=%d parts=%d: parts span %v", c.n, c.parts, ranges)
		}
		if slices.ContainsFunc(seen, func(v int) bool { return v != 1 }) {
			t.Errorf("n=%d parts=%d: items seen %v times, want once each", c.n, c.parts, seen)
		}
	}
	if parts.Run(100, 4, func(k, _, _ int) bool { return k != 2 }) {
		t.Error("Run reported success with part 2 failing")
	}
}

// TestOf: small ranges stay in one part.
func TestOf(t *testing.T) {
	if got := parts.Of(parts.Large - 1); got != 1 {
		t.Errorf("Of(Large-1) = %d, want 1", got)
	}
	if got := parts.Of(parts.Large); got < 1 {
		t.Errorf("Of(Large) = %d", got)
	}
}

func ExampleRun() {
	squares := make([]int, 100_000)
	parts.Run(len(squares), parts.Of(len(squares)), func(_, lo, hi int) bool {
		for i := lo; i < hi; i++ {
			squares[i] = i * i
		}
		return true
	})
	fmt.Println(squares[99_999])
	// Output: 9999800001
}
