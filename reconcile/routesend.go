package reconcile

import (
	"errors"
	"slices"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// doRoutes is do for the creates and updates of the pass's route diffs,
// built, sent and settled sendChunk at a time, with the kernel working on
// one chunk while the pass settles those before and builds those after:
// at a million routes, building and encoding the ops cost a third of the
// kernel's install, and done first they added to it.
//
// Only the kernel's work (Kernel.ApplyWith) runs outside the pass's
// goroutine, one chunk at a time and in order, with up to routeQueue more
// built and waiting for it. A chunk cut short (the transport failed) ends
// the sending as it does in send: those queued after it come back unsent.
// Routes never depend on routes, so settling a chunk after the next is
// built holds back nothing that building them in one list would not.
func (p *pass) doRoutes(parts []diff.RouteChanges) error {
	n := 0
	for _, c := range parts {
		n += c.Len()
	}
	if n == 0 {
		return nil
	}
	defer p.muteRoutes(n)()
	// The report's room is made once, not grown chunk by chunk, and each
	// chunk is built in it, past its end (at next), where settling leaves
	// the ops in place: a million of them are not built in lists of
	// their own and copied. Settling a chunk appends at most its own ops,
	// so it never writes over a chunk still in the kernel.
	p.report.Applied = slices.Grow(p.report.Applied, n)
	next := len(p.report.Applied)

	var (
		batches = make([]rtnl.Batch, routeQueue+2)
		todo    = make(chan *routeChunk, routeQueue)
		results = make(chan *routeChunk, routeQueue+1)
		waiting int // chunks sent to the kernel whose outcome is not in
	)
	go func() {
		defer close(results)
		broken := false
		for c := range todo {
			if !broken {
				c.apply(p.s)
				broken = c.err != nil || c.done < len(c.ops)
			}
			results <- c
		}
	}()
	// finish stops the sending and settles what was sent, returning err or
	// else the first error of a chunk.
	finish := func(err error) error {
		close(todo)
		for c := range results {
			if e := p.settleChunk(c); err == nil {
				err = e
			}
		}
		return err
	}
	k := 0
	for _, c := range parts {
		for from := 0; from < c.Len(); from += sendChunk {
			ops := c.Append(p.report.Applied[next:next], from, min(from+sendChunk, c.Len()))
			next += len(ops)
			if ops = p.keep(ops); len(ops) == 0 {
				continue
			}
			ops, err := p.prepare(ops)
			if err != nil {
				return finish(err)
			}
			if len(ops) == 0 {
				continue
			}
			// A batch is reused once the chunk encoded in it is settled:
			// at most routeQueue+1 are waiting.
			b := &batches[k%len(batches)]
			k++
			b.Reset()
			for i := range ops {
				p.addToBatch(b, &ops[i])
			}
			todo <- &routeChunk{ops: ops, b: b}
			if waiting++; waiting <= routeQueue {
				continue
			}
			done := <-results
			waiting--
			if err := p.settleChunk(done); err != nil || done.err != nil || done.done < len(done.ops) {
				return finish(err)
			}
		}
	}
	return finish(nil)
}

// routeQueue is how many chunks of routes doRoutes builds ahead of the
// one the kernel applies: enough that the kernel does not wait when
// building one takes longer than usual (a garbage collection, say).
const routeQueue = 4

// routeChunk is a chunk of route ops of doRoutes, encoded in b, and what
// the kernel made of it: how many leading ops were processed, the
// failures by index, and the error of a batch that failed without a
// *rtnl.BatchError.
type routeChunk struct {
	ops    []diff.Op
	b      *rtnl.Batch
	done   int
	failed map[int]*rtnl.Error
	err    error
}

// apply sends c's batch through k.
func (c *routeChunk) apply(k Kernel) {
	err := k.ApplyWith(c.b, rtnl.ApplyOptions{})
	var be *rtnl.BatchError
	switch {
	case err == nil:
		c.done = len(c.ops)
	case errors.As(err, &be):
		c.done = be.Done
		c.failed = make(map[int]*rtnl.Error, len(be.Failures))
		for _, f := range be.Failures {
			c.failed[f.Index] = f.Err
		}
	default:
		c.err = err
	}
}

// settleChunk settles c as do does: nothing is known of a chunk whose
// batch failed as a whole, and its error is the pass's.
func (p *pass) settleChunk(c *routeChunk) error {
	if c.err != nil {
		return c.err
	}
	if len(c.failed) > 0 {
		// The ops were built in the report's room: the applied ones, moved
		// down over the refused, would overwrite the ops settle still reads.
		c.ops = slices.Clone(c.ops)
	}
	return p.settle(c.ops, c.done, c.failed)
}
