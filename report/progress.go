// Package report shows a one-off run to a person: a progress line while it
// runs and a summary with a text latency histogram when it is over.
package report

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// Progress counts requests as they complete and prints progress: a bar
// redrawn in place on a terminal, a plain line every few seconds otherwise
// (logs and CI output stay readable).
type Progress struct {
	out      io.Writer
	terminal bool
	duration time.Duration
	requests atomic.Int64
	errors   atomic.Int64
	start    time.Time
	done     chan struct{}
	stopped  chan struct{}
}

// NewProgress starts printing progress of a run of the given duration.
func NewProgress(ctx context.Context, out io.Writer, terminal bool, duration time.Duration) *Progress {
	p := &Progress{out: out, terminal: terminal, duration: duration, start: time.Now(),
		done: make(chan struct{}), stopped: make(chan struct{})}
	go p.loop(ctx)
	return p
}

// ObserveRequest implements result.Observer.
func (p *Progress) ObserveRequest(_ time.Duration, code string) {
	p.requests.Add(1)
	if len(code) != 3 || code[0] != '2' {
		p.errors.Add(1)
	}
}

// Stop ends the progress output.
func (p *Progress) Stop() {
	close(p.done)
	<-p.stopped
}

func (p *Progress) loop(ctx context.Context) {
	defer close(p.stopped)
	every := 2 * time.Second
	if p.terminal {
		every = 200 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			p.print()
		case <-ctx.Done():
			p.finish()
			return
		case <-p.done:
			p.finish()
			return
		}
	}
}

func (p *Progress) finish() {
	if p.terminal {
		fmt.Fprint(p.out, "\r\033[K")
	}
}

func (p *Progress) print() {
	elapsed := time.Since(p.start)
	n := p.requests.Load()
	rate := float64(n) / elapsed.Seconds()
	frac := min(elapsed.Seconds()/p.duration.Seconds(), 1)
	stats := fmt.Sprintf("%5.1fs/%s  %d requests  %.0f req/s  %d errors", elapsed.Seconds(), p.duration, n, rate, p.errors.Load())
	if n == 0 {
		// External engines (wrk, wrk2, Nighthawk) report only at the end.
		stats = fmt.Sprintf("%5.1fs/%s", elapsed.Seconds(), p.duration)
	}
	if !p.terminal {
		fmt.Fprintf(p.out, "progress: %3.0f%%  %s\n", frac*100, stats)
		return
	}
	const width = 30
	filled := int(frac * width)
	fmt.Fprintf(p.out, "\r\033[K[%s%s] %3.0f%%  %s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100, stats)
}
