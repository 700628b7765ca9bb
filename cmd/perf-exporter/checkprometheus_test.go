package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/internal/testutil"
)

func TestCheckPrometheus(t *testing.T) {
	working := testutil.StartPrometheus(t, testutil.PrometheusOptions{})
	closed := testutil.FreeAddr(t)
	write := func(yaml string) string {
		path := filepath.Join(t.TempDir(), "perf.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	t.Run("all answer", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := checkPrometheus(context.Background(), write(fmt.Sprintf("prometheus:\n  - {name: cluster, url: %q}\n", working)), 10*time.Second, &out, &errOut)
		if code != 0 || !strings.HasPrefix(out.String(), "ok") || !strings.Contains(out.String(), "cluster") || !strings.Contains(out.String(), "Prometheus 2.") {
			t.Errorf("exit %d, output:\n%s%s", code, out.String(), errOut.String())
		}
	})
	t.Run("one fails", func(t *testing.T) {
		var out, errOut bytes.Buffer
		file := write(fmt.Sprintf("prometheus:\n  - {name: cluster, url: %q}\n  - {name: gone, url: \"http://user:pw-9876@%s\"}\n", working, closed))
		code := checkPrometheus(context.Background(), file, 10*time.Second, &out, &errOut)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if code != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], "ok") || !strings.HasPrefix(lines[1], "FAILED") ||
			!strings.Contains(lines[1], "gone") || !strings.Contains(lines[1], "refused") {
			t.Errorf("exit %d, output:\n%s%s", code, out.String(), errOut.String())
		}
		if strings.Contains(out.String(), "pw-9876") {
			t.Errorf("the password of the URL is printed:\n%s", out.String())
		}
	})
	t.Run("no sources", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := checkPrometheus(context.Background(), write("global: {}\n"), time.Second, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no prometheus sources") {
			t.Errorf("exit %d, stderr %q", code, errOut.String())
		}
	})
}
