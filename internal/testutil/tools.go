// Package testutil holds helpers shared by tests that use real tools
// (prometheus, promtool, wrk, helm, chromium) and the perf-exporter binary.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequireToolsEnv names the variable that turns a missing tool from a skip
// into a failure. CI sets it, so a test that needs a real tool cannot pass by
// not running.
const RequireToolsEnv = "PERF_EXPORTER_REQUIRE_TOOLS"

// Tool returns the path of an executable on PATH. When it is missing the test
// is skipped, or failed when RequireToolsEnv is set.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(RequireToolsEnv) != "" {
		t.Fatalf("%s is required (%s is set) but not found on PATH: %v", name, RequireToolsEnv, err)
	}
	t.Skipf("%s not found on PATH (set %s to make this a failure): %v", name, RequireToolsEnv, err)
	return ""
}
