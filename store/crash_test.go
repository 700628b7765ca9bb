package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/result"
)

// crashDirEnv makes the test binary, run again as a child, the process that
// gets killed (TestCrashChild); it names the store to write to.
const crashDirEnv = "PERF_EXPORTER_STORE_CRASH_DIR"

// crashInFlightEnv names the run the child begins and never saves.
const crashInFlightEnv = "PERF_EXPORTER_STORE_CRASH_INFLIGHT"

func crashRun(i int) run {
	return run{id: fmt.Sprintf("crash-%06d", i), profile: "crash", start: base.Add(time.Duration(i) * time.Second), scale: 1 + float64(i%7)}
}

// TestKill9DuringRuns kills (SIGKILL) a process that is saving runs as fast
// as it can, then checks that every run it had reported saved is intact and
// that the runs it had begun but not saved are recorded as aborted.
func TestKill9DuringRuns(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("running as the child of this test")
	}
	// One store through several kills: what survived one crash must
	// survive the next ones too.
	dir := t.TempDir()
	var saved []string
	for _, killAfter := range []int{1, 17, 60} {
		t.Run(fmt.Sprintf("after %d saves", killAfter), func(t *testing.T) {
			inFlight := fmt.Sprintf("crash-inflight-%d", killAfter)
			saved = append(saved, killChild(t, dir, inFlight, killAfter)...)
			checkAfterCrash(t, dir, inFlight, saved)
		})
	}
}

// killChild starts the child writing into dir, waits until it has reported
// killAfter more saved runs, kills it with SIGKILL and returns every run id
// it reported saved.
func killChild(t *testing.T, dir, inFlight string, killAfter int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashInFlightEnv+"="+inFlight)
	cmd.Stderr = os.Stderr
	// The child runs until its stdin closes: if this test dies, so does it.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var saved []string
	lines := bufio.NewScanner(stdout)
	for len(saved) < killAfter && lines.Scan() {
		if id, ok := strings.CutPrefix(lines.Text(), "saved "); ok {
			saved = append(saved, id)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing the child: %v (did it exit early? it reported %d saves)", err, len(saved))
	}
	// What it printed between our last read and the kill also counts: each
	// line is printed only after its Save returned.
	for lines.Scan() {
		if id, ok := strings.CutPrefix(lines.Text(), "saved "); ok {
			saved = append(saved, id)
		}
	}
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", err)
	}
	if len(saved) < killAfter {
		t.Fatalf("child reported %d saves before dying, want at least %d", len(saved), killAfter)
	}
	return saved
}

func checkAfterCrash(t *testing.T, dir, inFlight string, saved []string) {
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopening after kill -9: %v", err)
	}
	defer s.Close()

	recovered, err := s.RecoverInFlight(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	aborted := map[string]bool{}
	for _, d := range recovered {
		aborted[d.PerfExporter.RunID] = true
	}
	if !aborted[inFlight] {
		t.Errorf("run %s, in flight at the kill, was not recorded as aborted (recovered %v)", inFlight, aborted)
	}
	// Besides it, at most the run whose Save the kill interrupted.
	if len(recovered) > 2 {
		t.Errorf("recovered %d runs, want at most 2: %v", len(recovered), aborted)
	}
	for _, id := range saved {
		if aborted[id] {
			t.Errorf("run %s was reported saved but recovered as in flight", id)
		}
		got, err := s.Get(ctx, id)
		if err != nil {
			t.Errorf("run %s was reported saved before a kill: %v", id, err)
			continue
		}
		var i int
		if _, err := fmt.Sscanf(id, "crash-%06d", &i); err != nil {
			t.Fatalf("child reported an unexpected run id %q", id)
		}
		sameDoc(t, got, crashRun(i).doc())
	}
	for id := range aborted {
		d, err := s.Get(ctx, id)
		if err != nil || d.PerfExporter.Outcome != result.OutcomeAborted || d.PerfExporter.Error != AbortedByCrash {
			t.Errorf("recovered run %s: stored %v, %v; want an aborted document", id, d, err)
		}
	}
	if again, err := s.RecoverInFlight(ctx, time.Now()); err != nil || len(again) != 0 {
		t.Errorf("second RecoverInFlight = %d runs, %v; want none", len(again), err)
	}
}

// TestCrashChild is the process TestKill9DuringRuns kills: it begins one run
// it never saves, then begins and saves runs until killed, printing each id
// once its Save has returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestKill9DuringRuns")
	}
	go func() { // the parent is gone: stop
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BeginRun(ctx, pending(os.Getenv(crashInFlightEnv), "crash", base)); err != nil {
		t.Fatal(err)
	}
	// Go on after the runs an earlier child saved.
	sums, _, err := s.List(ctx, Query{Profile: "crash", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	next := 0
	for _, sum := range sums {
		_, _ = fmt.Sscanf(sum.RunID, "crash-%06d", &next)
		next++
	}
	for i := next; ; i++ {
		r := crashRun(i)
		if err := s.BeginRun(ctx, pending(r.id, r.profile, r.start)); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, r.doc()); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("saved %s\n", r.id)
	}
}
