package scheduler

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// slots are the max_concurrent_runs run slots. Runs waiting for one get it
// in the order of their ticks (then of their arrival), not in whatever
// order their goroutines happened to reach a channel: with hundreds of
// profiles queueing for a few slots, the run that has waited longest
// always goes next, so lateness stays bounded and no profile starves.
type slots struct {
	size int

	mu      sync.Mutex
	free    int
	seq     uint64
	waiting waiters
}

func newSlots(n int) *slots { return &slots{size: n, free: n} }

// waiter is a run waiting for a slot; granted is closed when it has one.
type waiter struct {
	tick    time.Time
	seq     uint64
	granted chan struct{}
	index   int // in the heap; -1 once granted or gone
}

// acquire waits for a slot; a run of an earlier tick is served first. It
// fails only when ctx is done first.
func (s *slots) acquire(ctx context.Context, tick time.Time) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiting) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	w := &waiter{tick: tick, seq: s.seq, granted: make(chan struct{})}
	s.seq++
	heap.Push(&s.waiting, w)
	s.mu.Unlock()
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.index >= 0 {
		heap.Remove(&s.waiting, w.index)
		return ctx.Err()
	}
	// Granted as ctx ended: hand the slot on.
	s.releaseLocked()
	return ctx.Err()
}

// release gives a slot back, to the earliest waiting tick if any.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *slots) releaseLocked() {
	if len(s.waiting) > 0 {
		w := heap.Pop(&s.waiting).(*waiter)
		close(w.granted)
		return
	}
	s.free++
}

// waiters is a heap of waiting runs by tick, then arrival.
type waiters []*waiter

func (h waiters) Len() int { return len(h) }
func (h waiters) Less(i, j int) bool {
	if !h[i].tick.Equal(h[j].tick) {
		return h[i].tick.Before(h[j].tick)
	}
	return h[i].seq < h[j].seq
}
func (h waiters) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waiters) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waiters) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}
