// Package hygiene_test checks the repository's own checks: the Makefile's
// lint (run by .ci/run before anything else) must fail on an untidy go.mod.
package hygiene_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the directory of go.mod and the Makefile.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// tidyCheck runs `make tidy-check` with go.mod (and go.sum) replaced by
// modFile through GOFLAGS=-modfile.
func tidyCheck(t *testing.T, root, modFile string) (string, error) {
	t.Helper()
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skipf("make not found: %v", err)
	}
	cmd := exec.Command(makeBin, "-s", "tidy-check")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-modfile="+modFile, "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLintFailsOnUntidyGoMod: a direct requirement marked "// indirect" (what
// issue 14 found) or a missing go.sum line fails make lint, with the diff.
func TestLintFailsOnUntidyGoMod(t *testing.T) {
	root := repoRoot(t)
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(mod, sum string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "go.sum"), []byte(sum), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "go.mod")
	}

	if out, err := tidyCheck(t, root, write(string(goMod), string(goSum))); err != nil {
		t.Fatalf("make tidy-check of the repository's own go.mod failed: %v\n%s", err, out)
	}

	const direct = "\tgo.etcd.io/bbolt v1.4.3\n"
	if !strings.Contains(string(goMod), direct) {
		t.Fatalf("go.mod no longer requires %q directly: update the test", direct)
	}
	untidy := strings.Replace(string(goMod), direct, strings.TrimSuffix(direct, "\n")+" // indirect\n", 1)
	out, err := tidyCheck(t, root, write(untidy, string(goSum)))
	if err == nil || !strings.Contains(out, "go.mod/go.sum are not tidy") || !strings.Contains(out, "-\tgo.etcd.io/bbolt v1.4.3 // indirect") {
		t.Errorf("make tidy-check with bbolt marked indirect: %v\n%s", err, out)
	}

	var sum []string
	for line := range strings.SplitSeq(string(goSum), "\n") {
		if !strings.HasPrefix(line, "go.etcd.io/bbolt v1.4.3 ") {
			sum = append(sum, line)
		}
	}
	out, err = tidyCheck(t, root, write(string(goMod), strings.Join(sum, "\n")))
	if err == nil || !strings.Contains(out, "go.mod/go.sum are not tidy") {
		t.Errorf("make tidy-check with bbolt's go.sum lines missing: %v\n%s", err, out)
	}
}
