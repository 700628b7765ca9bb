package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/internal/testutil"
	"github.com/perf-exporter/perf-exporter/loadgen"
	"github.com/perf-exporter/perf-exporter/result"
)

// listener keeps the documents it hears of.
type listener struct {
	mu   sync.Mutex
	docs []*result.Document
}

func (l *listener) RunFinished(doc *result.Document) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.docs = append(l.docs, doc)
}

func (l *listener) got() []*result.Document {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*result.Document(nil), l.docs...)
}

// Every run that took place is told to the listener once, with its
// published document (what the Grafana annotations mark).
func TestRunListenerHearsEveryRun(t *testing.T) {
	rec := newFakeRecorder()
	l := &listener{}
	s := New(Options{
		Engines:  func(*config.Config, string) (loadgen.Engine, error) { return &sleepEngine{}, nil },
		Recorder: rec,
		Finished: l,
	})
	cfg := testConfig(t, `
profiles:
  - {name: a, schedule: "@every 1h", run_on_start: true, target: {url: "http://127.0.0.1:1/"}, load: {duration: 100ms}}
`)
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 15*time.Second, "the first run", func() bool { return len(l.got()) == 1 })
	if err := s.RunNow("a"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 15*time.Second, "the second run", func() bool { return len(l.got()) == 2 })
	_ = s.Stop(context.Background())
	docs := l.got()
	for _, d := range docs {
		if d.PerfExporter.Profile != "a" || d.PerfExporter.Outcome != result.OutcomeSuccess {
			t.Errorf("heard %+v", d.PerfExporter)
		}
	}
	if docs[0].PerfExporter.RunID == docs[1].PerfExporter.RunID {
		t.Error("the same run twice")
	}
	if len(l.got()) != 2 {
		t.Errorf("heard %d runs, want 2", len(l.got()))
	}
}
