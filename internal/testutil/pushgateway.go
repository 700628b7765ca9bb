package testutil

import (
	"net/http"
	"testing"
)

// StartPushgateway runs Debian's prometheus-pushgateway (found with Tool) on
// a free 127.0.0.1 port, waits until it is ready and returns its base URL
// ("http://127.0.0.1:PORT"). It keeps pushed groups in memory only. The
// process is killed at the end of the test; extra flags are passed on.
func StartPushgateway(t testing.TB, flags ...string) string {
	t.Helper()
	bin := Tool(t, "prometheus-pushgateway")
	return startServer(t, bin, flags, "http", httpProbe(http.DefaultClient, "/-/ready", "", ""))
}
