// Package grafanatest is a fake of the part of Grafana's HTTP API that
// package dashboards calls: GET /api/health, GET /api/search, POST
// /api/folders, GET /api/folders/{uid}, POST /api/dashboards/db, GET
// /api/dashboards/uid/{uid}, GET /api/datasources/uid/{uid} (with the
// datasource's url, which an imported board's panels are mapped by), and
// the legacy annotations API: POST and GET /api/annotations, PATCH
// /api/annotations/{id}. For those it answers as Grafana does (read
// from Grafana's handlers and its generated client's per-route status
// codes):
//
//   - bodies are bound like Grafana's web binding (encoding/json: keys without
//     case, unknown keys ignored; a decode failure is 400 "bad request data");
//   - errors are JSON with a message: {"message","status"} for dashboard
//     errors, errutil's {"statusCode","messageId","message"} for
//     authentication, RBAC's {"accessErrorId","message","title"} for a
//     missing permission;
//   - credentials are Bearer tokens (service accounts, one org each; basic
//     auth as user "api_key" is the same), or basic-auth users with a role per
//     org; X-Grafana-Org-Id selects the org, and a token of another org is 401
//     api-key.organization-mismatch;
//   - saves follow Grafana's rules in Grafana's order (see save), searches
//     take repeated parameters and never split commas, folder titles are
//     unique at the root (409);
//   - annotations: time and timeEnd are epoch milliseconds, with timeEnd a
//     region; without dashboardUID an annotation belongs to the
//     organization (any board shows it through a tag-filtered annotation
//     query); an unknown dashboardUID is refused (404), never turned into
//     an organization annotation; creating needs annotations:create
//     (Editor), a Viewer gets 403; POST answers {"message":"Annotation
//     added","id"}, PATCH changes only the fields sent, an unknown id is
//     404; GET ANDs repeated tags (matchAny=true ORs them) and returns at
//     most limit (100) annotations overlapping from..to;
//   - what changed between releases is a version switch (Grafana10, 11, 13).
//
// Every request is recorded so tests can assert on the wire format, and
// failures and hangs can be injected. It is a test helper: nothing in the
// shipped binary imports it.
package grafanatest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version profiles: Grafana releases whose API behaviour differs.
const (
	// Grafana10 answers 404 "Folder not found" for an unknown folderUid,
	// rejects a second board with the same title in a folder (412
	// name-exists) and a refresh below the minimum (400).
	Grafana10 = "10.4.0"
	// Grafana11 answers 400 "folder not found", still enforces unique
	// board titles in a folder, and raises a too-short refresh silently.
	Grafana11 = "11.6.0"
	// Grafana13 no longer enforces unique board titles in a folder.
	Grafana13 = "13.0.0"
)

// Role is an organisation role; it decides what an identity may do.
type Role string

// Organisation roles.
const (
	Viewer Role = "Viewer"
	Editor Role = "Editor"
	Admin  Role = "Admin"
)

// Identity is who a token authenticates as.
type Identity struct {
	Login string // shown as createdBy/updatedBy
	OrgID int64  // tokens belong to one org; 0 means 1
	Role  Role
	// WritableFolders, when not nil, limits saving boards to these folder
	// uids and forbids creating folders, like a service account granted
	// edit on a single folder.
	WritableFolders []string
}

// User is a basic-auth user.
type User struct {
	Password string
	Orgs     map[int64]Role // membership; the lowest org is the default
}

// Options configure the fake.
type Options struct {
	Version string              // default Grafana13
	Tokens  map[string]Identity // Bearer tokens (and basic auth as user "api_key")
	Users   map[string]User     // basic-auth logins
	// MinRefresh is the server's min_refresh_interval (default 5s).
	MinRefresh time.Duration
	// HideVersion hides version and commit from /api/health, as with
	// anonymous access and hide_version.
	HideVersion bool
	// TLS, when set, makes the fake serve HTTPS with this config (its
	// certificate is httptest's unless the config has one; see
	// Server.Certificate).
	TLS *tls.Config
	// Listener, when set, is where the fake listens (a test that starts
	// Grafana after the code under test, at an address fixed beforehand).
	Listener net.Listener
}

// Request is one recorded request.
type Request struct {
	Method string
	Path   string
	Query  map[string][]string // as sent: repeated parameters stay separate
	Header http.Header
	Body   []byte
	Status int // what the fake answered (0 while it has not answered)
}

// Server is a running fake Grafana.
type Server struct {
	*httptest.Server
	opts Options

	mu       sync.Mutex
	orgs     map[int64]*orgStore
	nextID   int64
	healthy  bool
	requests []*Request // recorded on arrival, the status filled in after
	faults   []*fault
}

// New starts a fake Grafana, stopped when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Version == "" {
		opts.Version = Grafana13
	}
	if opts.MinRefresh == 0 {
		opts.MinRefresh = 5 * time.Second
	}
	s := &Server{opts: opts, orgs: map[int64]*orgStore{}, healthy: true}
	s.Server = httptest.NewUnstartedServer(s.routes())
	if opts.Listener != nil {
		s.Listener.Close()
		s.Listener = opts.Listener
	}
	if opts.TLS != nil {
		s.TLS = opts.TLS
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *Server) major() int {
	n, _ := strconv.Atoi(strings.SplitN(s.opts.Version, ".", 2)[0])
	return n
}

// SetHealthy makes /api/health answer 503 with a failing database.
func (s *Server) SetHealthy(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.healthy = ok
}

// Requests returns the requests recorded so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, 0, len(s.requests))
	for _, r := range s.requests {
		out = append(out, *r)
	}
	return out
}

// RequestsTo returns the recorded requests with this method and path.
func (s *Server) RequestsTo(method, path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

type fault struct {
	method, path string
	left         int
	status       int // 0: hang until the client gives up
	message      string
}

// FailNext makes the next n requests with this method and path answer
// status with a Grafana-shaped error body.
func (s *Server) FailNext(method, path string, n, status int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, path: path, left: n, status: status, message: message})
}

// HangNext makes the next n requests with this method and path wait
// without answering until the client gives up (a timeout).
func (s *Server) HangNext(method, path string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, path: path, left: n})
}

func (s *Server) takeFault(r *http.Request) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.left > 0 && f.method == r.Method && f.path == r.URL.Path {
			f.left--
			return f
		}
	}
	return nil
}

// recorder captures the status for the request log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type route struct {
	pattern string
	handler http.HandlerFunc
}

// table is exactly the routes the client (package dashboards) calls; its
// tests check that it calls each. Work that calls more (annotations, board
// import) adds its routes here. Patterns are paths only: methods are
// dispatched in the handlers so that a wrong method gets Grafana's JSON 405
// rather than the mux's plain text.
func (s *Server) table() []route {
	return []route{
		{"/api/health", s.health},
		{"/api/search", s.authed(s.search)},
		{"/api/folders", s.authed(s.folders)},
		{"/api/folders/{uid}", s.authed(s.folderByUID)},
		{"/api/dashboards/db", s.authed(s.postDashboard)},
		{"/api/dashboards/uid/{uid}", s.authed(s.dashboardByUID)},
		{"/api/datasources/uid/{uid}", s.authed(s.datasourceByUID)},
		{"/api/annotations", s.authed(s.annotations)},
		{"/api/annotations/{id}", s.authed(s.annotationByID)},
	}
}

// Routes lists the path patterns the fake serves.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.table() {
		out = append(out, r.pattern)
	}
	return out
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.table() {
		mux.HandleFunc(r.pattern, r.handler)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w}
		// Recorded on arrival: a request the client gave up on (a hang)
		// counts even if its handler has not noticed yet.
		recorded := &Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
		s.mu.Lock()
		s.requests = append(s.requests, recorded)
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			recorded.Status = rec.status
			s.mu.Unlock()
		}()
		if f := s.takeFault(r); f != nil {
			if f.status == 0 {
				<-r.Context().Done()
				return
			}
			writeJSON(rec, f.status, map[string]any{"message": f.message})
			return
		}
		mux.ServeHTTP(rec, r)
	})
}

// caller is the authenticated identity of a request, in its org.
type caller struct {
	Identity
	org *orgStore
}

// authed resolves the credentials as Grafana's authn does and answers 401
// with errutil-shaped bodies when they fail.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, status, body := s.authenticate(r)
		if status != 0 {
			writeJSON(w, status, body)
			return
		}
		s.mu.Lock()
		org := s.org(id.OrgID)
		s.mu.Unlock()
		h(w, r, &caller{Identity: id, org: org})
	}
}

func errutil(status int, messageID, message string) map[string]any {
	return map[string]any{"statusCode": status, "messageId": messageID, "message": message}
}

func (s *Server) authenticate(r *http.Request) (Identity, int, map[string]any) {
	var orgHeader int64
	if h := r.Header.Get("X-Grafana-Org-Id"); h != "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil {
			return Identity{}, http.StatusBadRequest, map[string]any{"message": "Invalid X-Grafana-Org-Id header"}
		}
		orgHeader = n
	}
	token := ""
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "Bearer "):
		token = strings.TrimPrefix(auth, "Bearer ")
	case auth != "":
		user, pass, ok := r.BasicAuth()
		if !ok {
			return Identity{}, http.StatusUnauthorized, errutil(401, "auth.unauthorized", "Unauthorized")
		}
		if user == "api_key" {
			token = pass
			break
		}
		u, found := s.opts.Users[user]
		if !found || u.Password != pass {
			return Identity{}, http.StatusUnauthorized, errutil(401, "password-auth.failed", "Invalid username or password")
		}
		org := orgHeader
		if org == 0 {
			for o := range u.Orgs {
				if org == 0 || o < org {
					org = o
				}
			}
		}
		role, member := u.Orgs[org]
		if !member {
			return Identity{}, http.StatusUnauthorized, errutil(401, "auth.unauthorized", "User is not a member of the organization")
		}
		return Identity{Login: user, OrgID: org, Role: role}, 0, nil
	default:
		return Identity{}, http.StatusUnauthorized, errutil(401, "auth.unauthorized", "Unauthorized")
	}
	id, found := s.opts.Tokens[token]
	if !found {
		return Identity{}, http.StatusUnauthorized, errutil(401, "api-key.invalid", "Invalid API key")
	}
	if id.OrgID == 0 {
		id.OrgID = 1
	}
	if orgHeader != 0 && orgHeader != id.OrgID {
		return Identity{}, http.StatusUnauthorized, errutil(401, "api-key.organization-mismatch", "API key does not belong to the requested organization")
	}
	if id.Login == "" {
		id.Login = "sa-perf-exporter"
	}
	return id, 0, nil
}

// accessDenied is the body of an RBAC denial.
func accessDenied(w http.ResponseWriter, actions ...string) {
	writeJSON(w, http.StatusForbidden, map[string]any{
		"accessErrorId": "ACE3841692764",
		"message":       "You'll need additional permissions to perform this action. Permissions needed: any of " + strings.Join(actions, ", "),
		"title":         "Access denied",
	})
}

func (c *caller) canWrite() bool { return c.Role == Editor || c.Role == Admin }

func (c *caller) canWriteFolder(uid string) bool {
	if !c.canWrite() {
		return false
	}
	return c.WritableFolders == nil || slices.Contains(c.WritableFolders, uid)
}

func (c *caller) canCreateFolders() bool { return c.canWrite() && c.WritableFolders == nil }

// decode binds a JSON body like Grafana's web binding: encoding/json,
// case-insensitive keys, unknown keys ignored, 400 "bad request data".
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func methodNotAllowed(w http.ResponseWriter) {
	writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method Not Allowed"})
}

var (
	uidPattern  = regexp.MustCompile(`^[a-zA-Z0-9\-_]*$`)
	slugInvalid = regexp.MustCompile(`[^a-z0-9]+`)
)

func slugify(title string) string {
	return strings.Trim(slugInvalid.ReplaceAllString(strings.ToLower(title), "-"), "-")
}

// checkUID applies Grafana's uid rules.
func checkUID(uid string) string {
	switch {
	case !uidPattern.MatchString(uid):
		return "uid contains illegal characters"
	case len(uid) > 40:
		return "uid too long, max 40 characters"
	}
	return ""
}

// newUID makes a short alphanumeric uid, deterministically (tests compare).
func (s *Server) newUID() string {
	s.nextID++
	return fmt.Sprintf("fk%012d", s.nextID)
}

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	s.mu.Lock()
	healthy := s.healthy
	s.mu.Unlock()
	body := map[string]any{"database": "ok"}
	status := http.StatusOK
	if !healthy {
		body["database"], status = "failing", http.StatusServiceUnavailable
	}
	if !s.opts.HideVersion {
		body["version"], body["commit"] = s.opts.Version, "0123456789"
	}
	data, _ := json.MarshalIndent(body, "", "  ")
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		_, _ = w.Write(data)
	}
}
