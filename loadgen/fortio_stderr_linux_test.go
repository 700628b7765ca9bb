package loadgen

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/result"
)

// Fortio logged one JSON line per failed request on the process's stderr
// (1 002 lines for 2 s against a closed port), whatever --log.level and
// --log.format said (issue 18, item 11). Its logger holds the stderr file
// it found at start, so the test watches file descriptor 2 itself.
func TestFortioWritesNothingToStderrWhenRequestsFail(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	out := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); out <- b }()
	m, runErr := NewFortio().Run(context.Background(), testProfile("http://"+closedPort(t)+"/", 100, 2, 500*time.Millisecond), nil)
	_ = syscall.Dup3(saved, 2, 0)
	_ = syscall.Close(saved)
	w.Close()
	written := <-out
	if runErr != nil {
		t.Fatal(runErr)
	}
	if m.Codes[result.CodeError] == 0 {
		t.Fatalf("codes %v: no request failed", m.Codes)
	}
	if len(written) > 0 {
		t.Errorf("%d failed requests wrote %d bytes to stderr:\n%.500s", m.Codes[result.CodeError], len(written), written)
	}
}
