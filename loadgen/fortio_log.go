package loadgen

import (
	"encoding/json"
	"fmt"
	stdlog "log"
	"strings"
	"sync"

	fortiolog "fortio.org/log"
)

// Fortio logs every failed request itself, one JSON line each on stderr,
// whatever --log.level and --log.format say (1 002 lines for a 2 s run
// against a closed port). Those lines are the only place its HTTP client
// says why a request failed, so they are not thrown away: fortio's logger
// writes into fortioLogs, which hands each line's reason to the run and
// connection it names (fortio tags its request errors with "run" and
// "thread"), and the request hook counts reasons per run. Nothing of it
// reaches the process's own log; the scheduler logs the counts once per
// run.
//
// Fortio's logger is process-wide, so this sink is too: it is the one piece
// of package state, created on first use.
var fortioLogs = sync.OnceValue(func() *fortioLogSink {
	s := &fortioLogSink{runs: map[int64][]string{}}
	fortiolog.SetLogLevelQuiet(fortiolog.Error) // request errors only
	fortiolog.Config.JSON = true
	fortiolog.Config.ConsoleColor = false
	fortiolog.Config.ForceColor = false
	// fortio's SetOutput also redirects the standard library's logger,
	// which slog's default handler writes through: put it back.
	prev := stdlog.Writer()
	fortiolog.SetOutput(s)
	stdlog.SetOutput(prev)
	return s
})

// fortioLogSink keeps, per registered fortio run and connection, the reason
// of the last error fortio logged for that connection that no failed
// request has taken yet.
type fortioLogSink struct {
	mu   sync.Mutex
	next int64
	runs map[int64][]string // run id → pending reason per connection
}

// register reserves a fortio run id for a run on the given connections.
func (s *fortioLogSink) register(connections int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.runs[s.next] = make([]string, connections)
	return s.next
}

func (s *fortioLogSink) unregister(id int64) {
	s.mu.Lock()
	delete(s.runs, id)
	s.mu.Unlock()
}

// take returns and clears the reason pending for a connection of a run,
// "" when fortio logged none.
func (s *fortioLogSink) take(id int64, thread int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pending := s.runs[id]
	if thread < 0 || thread >= len(pending) {
		return ""
	}
	r := pending[thread]
	pending[thread] = ""
	return r
}

// Write implements io.Writer; fortio writes one JSON line per call. Lines
// that name no registered run are dropped: fortio runs only inside our
// runs, and a stray line is no reason to flood the log again.
func (s *fortioLogSink) Write(p []byte) (int, error) {
	var line struct {
		Msg    string `json:"msg"`
		Err    any    `json:"err"`
		Run    *int64 `json:"run"`
		Thread *int   `json:"thread"`
	}
	if json.Unmarshal(p, &line) != nil || line.Run == nil || line.Thread == nil {
		return len(p), nil
	}
	errText := ""
	if line.Err != nil {
		errText = fmt.Sprint(line.Err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The latest line wins: a line left over from fortio's unmeasured
	// first request on the connection is replaced by the failed request's
	// own.
	if pending := s.runs[*line.Run]; *line.Thread >= 0 && *line.Thread < len(pending) {
		pending[*line.Thread] = failureReason(line.Msg, errText)
	}
	return len(p), nil
}

// maxReasonLength bounds one reason; the innermost cause of a network
// error is a few words.
const maxReasonLength = 120

// failureReason is the short cause of a failed request: the innermost part
// of the error ("connection refused", "i/o timeout", "certificate signed by
// unknown authority"), without the addresses and URLs that wrap it, else
// the message. Callers still redact it: a message may quote the target.
func failureReason(msg, err string) string {
	r := strings.TrimSpace(err)
	if i := strings.LastIndex(r, ": "); i >= 0 {
		r = r[i+2:]
	}
	r = strings.Trim(r, "\"' ")
	if r == "" {
		r = strings.TrimSpace(msg)
	}
	if r == "" {
		r = reasonUnknown
	}
	if len(r) > maxReasonLength {
		r = strings.ToValidUTF8(r[:maxReasonLength], "")
	}
	return r
}

// reasonUnknown counts failed requests the engine gave no reason for.
const reasonUnknown = "unknown"
