package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

func (s *slots) waitingRuns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting)
}

// Runs waiting for a slot get it in the order of their ticks, whatever
// order they arrived in; runs of one tick in the order they arrived; a run
// that gives up waiting takes no slot with it.
func TestSlotsGoInTickOrder(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	if err := s.acquire(ctx, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	base := time.Unix(1700000000, 0)
	granted := make(chan string, 8)
	wait := func(name string, tick time.Time, ctx context.Context) {
		n := s.waitingRuns()
		go func() {
			if err := s.acquire(ctx, tick); err != nil {
				granted <- name + ": " + err.Error()
				return
			}
			granted <- name
		}()
		// One at a time, so the arrival order is known.
		testutil.WaitFor(t, 10*time.Second, name+" waiting", func() bool { return s.waitingRuns() == n+1 })
	}
	gaveUp, giveUp := context.WithCancel(ctx)
	wait("tick 3", base.Add(3*time.Minute), ctx)
	wait("tick 1, first", base.Add(time.Minute), ctx)
	wait("tick 2 (gives up)", base.Add(2*time.Minute), gaveUp)
	wait("tick 1, second", base.Add(time.Minute), ctx)
	wait("tick 0", base, ctx)
	giveUp()
	if got := <-granted; got != "tick 2 (gives up): context canceled" {
		t.Fatalf("the cancelled run: %s", got)
	}
	if n := s.waitingRuns(); n != 4 {
		t.Fatalf("%d runs waiting after one gave up, want 4", n)
	}
	for _, want := range []string{"tick 0", "tick 1, first", "tick 1, second", "tick 3"} {
		s.release() // the previous holder's slot
		if got := <-granted; got != want {
			t.Fatalf("slot went to %s, want %s", got, want)
		}
	}
	s.release()
	if s.free != 1 || s.waitingRuns() != 0 {
		t.Errorf("after every run: %d free of 1, %d waiting", s.free, s.waitingRuns())
	}
}
