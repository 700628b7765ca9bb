package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSetFilesOnlyRegularFiles: a pattern matching /dev/zero or a named
// pipe is an error naming the file, at once (found by FuzzParse: the loader
// used to read /dev/zero for ever, and block on a pipe).
func TestSetFilesOnlyRegularFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "sets.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipe: %v", err)
	}
	for _, file := range []string{"/dev/zero", fifo} {
		done := make(chan error, 1)
		go func() {
			_, err := Parse(fmt.Appendf(nil, "environment_set_files: [%q]\n", file), "c.yaml")
			done <- err
		}()
		select {
		case err := <-done:
			want := fmt.Sprintf("c.yaml:1: environment_set_files: %s is not a regular file", file)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q", file, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("loading a config whose set file is %s has not returned after 10s", file)
		}
	}
}
