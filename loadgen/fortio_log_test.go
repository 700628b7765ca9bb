package loadgen

import (
	"fmt"
	"testing"
)

func TestFailureReasonIsTheInnermostCause(t *testing.T) {
	for _, tc := range []struct{ msg, err, want string }{
		{"Unable to connect", "dial tcp 127.0.0.1:1: connect: connection refused", "connection refused"},
		{"Timeout error (incomplete/invalid response)", "read tcp 127.0.0.1:5000->127.0.0.1:8080: i/o timeout", "i/o timeout"},
		{"Unable to TLS connect", "tls: failed to verify certificate: x509: certificate signed by unknown authority", "certificate signed by unknown authority"},
		{"", `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`, "connection refused"},
		{"Short write", "", "Short write"},
		{"", "", reasonUnknown},
	} {
		if got := failureReason(tc.msg, tc.err); got != tc.want {
			t.Errorf("failureReason(%q, %q) = %q, want %q", tc.msg, tc.err, got, tc.want)
		}
	}
}

// Fortio's lines reach the run and connection they name, and no other.
func TestFortioLogSinkHandsReasonsToTheirRun(t *testing.T) {
	s := &fortioLogSink{runs: map[int64][]string{}}
	a, b := s.register(2), s.register(2)
	line := func(run int64, thread int, err string) {
		_, _ = fmt.Fprintf(s, `{"level":"err","msg":"Unable to connect","err":%q,"thread":%d,"run":%d}`+"\n", err, thread, run)
	}
	line(a, 1, "dial tcp 10.0.0.1:80: connect: connection refused")
	line(b, 1, "read tcp 10.0.0.1:80: i/o timeout")
	line(99, 0, "connect: connection refused") // no such run: dropped
	_, _ = s.Write([]byte("not json\n"))
	if got := s.take(a, 1); got != "connection refused" {
		t.Errorf("run a, connection 1: %q", got)
	}
	if got := s.take(a, 1); got != "" {
		t.Errorf("a reason is taken once, got %q again", got)
	}
	if got := s.take(b, 1); got != "i/o timeout" {
		t.Errorf("run b, connection 1: %q", got)
	}
	if got := s.take(a, 0); got != "" {
		t.Errorf("run a, connection 0: %q", got)
	}
	s.unregister(a)
	if len(s.runs) != 1 {
		t.Errorf("unregistered run kept: %v", s.runs)
	}
}
