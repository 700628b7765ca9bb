package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/go-openapi/runtime"
)

// APIError is an answer of Grafana's other than success: the status and
// Grafana's own message, plus what we were doing, in one line.
type APIError struct {
	Op      string // what we asked, e.g. `saving board "perf-exporter-overview"`
	Status  int    // HTTP status
	Message string // Grafana's message, or the start of a non-JSON body
	Reason  string // Grafana's machine-readable status or messageId, e.g. version-mismatch
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: Grafana answered %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Reason != "" && !strings.Contains(e.Message, e.Reason) {
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	if h := e.hint(); h != "" {
		fmt.Fprintf(&b, "; %s", h)
	}
	return b.String()
}

// hint says what usually fixes a status, for the statuses people meet
// when provisioning.
func (e *APIError) hint() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "check the token (grafana.token_file or GRAFANA_TOKEN) or basic_auth, and that org_id is the token's org"
	case http.StatusForbidden:
		return "the service account lacks permission: it needs the Editor role, or dashboards:create/write and folders:create on the folder"
	case http.StatusPreconditionFailed:
		return "the board was changed in Grafana; provision with overwrite to replace it"
	}
	return ""
}

// IsStatus tells whether err is an APIError with this status.
func IsStatus(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == status
}

// maxErrorBody bounds how much of an error body is read: Grafana's are
// small; a proxy's HTML page is cut.
const maxErrorBody = 64 << 10

// errorReader turns every non-2xx answer into an APIError before the
// generated reader sees it. The generated readers know only the statuses in
// the spec (a 502 from a proxy or Grafana 12's 406 become an opaque
// runtime.APIError) and fail to decode non-JSON bodies, losing the status.
type errorReader struct {
	next runtime.ClientResponseReader
	op   string
}

func (r errorReader) ReadResponse(resp runtime.ClientResponse, consumer runtime.Consumer) (any, error) {
	if code := resp.Code(); code < 200 || code > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body(), maxErrorBody))
		msg, reason := errorMessage(body)
		return nil, &APIError{Op: r.op, Status: code, Message: msg, Reason: reason}
	}
	// The generated readers take an empty body for an empty payload (a save
	// "succeeds" with version 0 and no URL) and report a cut body as a bare
	// "unexpected EOF"; every answer we ask for has a JSON body, so a
	// missing or broken one is an error that says so, with the status.
	body, err := io.ReadAll(resp.Body())
	if errors.Is(err, errResponseTooLarge) {
		return nil, &APIError{Op: r.op, Status: resp.Code(), Message: err.Error() + ": not read further (is the URL Grafana's own address?)"}
	}
	if err != nil {
		return nil, &APIError{Op: r.op, Status: resp.Code(), Message: fmt.Sprintf(
			"the answer was cut short after %d bytes (%v): a proxy or a dropped connection?", len(body), err)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &APIError{Op: r.op, Status: resp.Code(), Message: "the answer has an empty body, not the JSON Grafana sends, so nothing says the request took effect"}
	}
	// A 200 that is not JSON is not Grafana's API: typically a login page of
	// an SSO proxy, or a URL that points at something else.
	if mt, _, err := mime.ParseMediaType(resp.GetHeader("Content-Type")); err != nil || mt != runtime.JSONMime {
		return nil, &APIError{Op: r.op, Status: resp.Code(), Message: fmt.Sprintf(
			"the answer is %q, not JSON: is the URL Grafana's own address (not a login page or proxy)?", resp.GetHeader("Content-Type"))}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, &APIError{Op: r.op, Status: resp.Code(), Message: fmt.Sprintf(
			"the answer is not valid JSON (%v after %d bytes): cut short by a proxy or a dropped connection?", err, len(body))}
	}
	return r.next.ReadResponse(withBody{resp, body}, consumer)
}

// withBody is a response whose body was read already.
type withBody struct {
	runtime.ClientResponse
	body []byte
}

func (w withBody) Body() io.ReadCloser { return io.NopCloser(bytes.NewReader(w.body)) }

// errorMessage reads the shapes Grafana's errors come in: {"message",
// "status"} for dashboard errors, errutil's {"message","messageId"}, RBAC's
// {"message","title","accessErrorId"}; anything else is shown as text.
func errorMessage(body []byte) (message, reason string) {
	var e struct {
		Message   string `json:"message"`
		Status    string `json:"status"`
		MessageID string `json:"messageId"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		reason = e.Status
		if reason == "" {
			reason = e.MessageID
		}
		return e.Message, reason
	}
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	return text, ""
}

// opError adds what we were doing to a transport error (connection refused,
// timeout after retries); APIErrors already say it.
func opError(op string, err error) error {
	if _, ok := errors.AsType[*APIError](err); ok {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
