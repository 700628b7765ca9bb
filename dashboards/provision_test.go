package dashboards

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
)

const testToken = "glsa_0123456789abcdef_secret"

func editorFake(t testing.TB, version string) *grafanatest.Server {
	return grafanatest.New(t, grafanatest.Options{
		Version: version,
		Tokens:  map[string]grafanatest.Identity{testToken: {Role: grafanatest.Editor}},
	})
}

// testClient talks to the fake with short timeouts and backoff, so retry
// tests run in milliseconds.
func testClient(t testing.TB, s *grafanatest.Server, mods ...func(*Options)) *Client {
	t.Helper()
	o := Options{URL: s.URL, Token: testToken, Timeout: 5 * time.Second, Backoff: time.Millisecond}
	for _, m := range mods {
		m(&o)
	}
	c, err := NewClient(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func allBoards(t testing.TB, g *config.Grafana) []Board {
	t.Helper()
	boards, err := Select(g)
	if err != nil {
		t.Fatal(err)
	}
	return boards
}

var defaultOpts = ProvisionOptions{Folder: Folder{UID: DefaultFolderUID, Title: DefaultFolderTitle}, Overwrite: true}

func outcomes(results []Result) map[string]Outcome {
	out := map[string]Outcome{}
	for _, r := range results {
		out[r.UID] = r.Outcome
	}
	return out
}

func TestProvisionCreatesFolderAndBoards(t *testing.T) {
	for _, version := range []string{grafanatest.Grafana10, grafanatest.Grafana11, grafanatest.Grafana13} {
		t.Run(version, func(t *testing.T) {
			s := editorFake(t, version)
			boards := allBoards(t, nil)
			results, err := testClient(t, s).Provision(context.Background(), boards, defaultOpts)
			if err != nil {
				t.Fatal(err)
			}
			if title, ok := s.Folder(1, DefaultFolderUID); !ok || title != DefaultFolderTitle {
				t.Errorf("folder %q = %q, %v; want created as %q", DefaultFolderUID, title, ok, DefaultFolderTitle)
			}
			if len(results) != len(boards) {
				t.Fatalf("%d results for %d boards", len(results), len(boards))
			}
			for _, r := range results {
				if r.Outcome != Created || r.Version != 1 || !strings.HasPrefix(r.URL, s.URL+"/d/"+r.UID+"/") {
					t.Errorf("result %+v, want created, version 1, a link to the board", r)
				}
			}
			posts := s.RequestsTo(http.MethodPost, "/api/dashboards/db")
			if len(posts) != len(boards) {
				t.Fatalf("%d saves for %d boards", len(posts), len(boards))
			}
			for i, p := range posts {
				var body map[string]any
				if err := json.Unmarshal(p.Body, &body); err != nil {
					t.Fatal(err)
				}
				dash, _ := body["dashboard"].(map[string]any)
				if body["folderUid"] != DefaultFolderUID || body["overwrite"] != true || !strings.Contains(fmt.Sprint(body["message"]), "perf-exporter") {
					t.Errorf("save %d: folderUid=%v overwrite=%v message=%v", i, body["folderUid"], body["overwrite"], body["message"])
				}
				if _, ok := body["folderId"]; ok {
					t.Errorf("save %d sends the deprecated folderId", i)
				}
				if _, ok := dash["id"]; ok {
					t.Errorf("save %d sends an id: ids belong to one Grafana (404 elsewhere)", i)
				}
				if got := p.Header.Get("Authorization"); got != "Bearer "+testToken {
					t.Errorf("save %d: Authorization = %q", i, got)
				}
			}
			for _, b := range boards {
				stored, ok := s.Dashboard(1, b.UID())
				if !ok {
					t.Fatalf("board %s not stored", b.UID())
				}
				if stored.FolderUID != DefaultFolderUID {
					t.Errorf("board %s in folder %q", b.UID(), stored.FolderUID)
				}
				if !reflect.DeepEqual(withoutInstanceFields(stored.Model), withoutInstanceFields(b.Model)) {
					t.Errorf("board %s stored differently from what was sent", b.UID())
				}
			}
		})
	}
}

func TestProvisionIsIdempotent(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	c := testClient(t, s)
	boards := allBoards(t, nil)
	if _, err := c.Provision(context.Background(), boards, defaultOpts); err != nil {
		t.Fatal(err)
	}
	s.ResetRequests()
	results, err := c.Provision(context.Background(), allBoards(t, nil), defaultOpts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Outcome != Unchanged || r.Version != 1 {
			t.Errorf("second provisioning: %+v, want unchanged at version 1", r)
		}
	}
	for _, r := range s.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("second provisioning wrote: %s %s", r.Method, r.Path)
		}
	}
	for _, b := range boards {
		if d, _ := s.Dashboard(1, b.UID()); len(d.Versions) != 1 {
			t.Errorf("board %s has %d versions, want 1", b.UID(), len(d.Versions))
		}
	}
}

func TestProvisionUpdatesOnlyChangedBoards(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	c := testClient(t, s)
	if _, err := c.Provision(context.Background(), allBoards(t, nil), defaultOpts); err != nil {
		t.Fatal(err)
	}
	g := &config.Grafana{Boards: map[string]config.GrafanaBoard{
		"overview": {Refresh: "30s"}, "nodes": {}, "regressions": {}, "mesh-overhead": {}, "profile-detail": {},
	}}
	results, err := c.Provision(context.Background(), allBoards(t, g), defaultOpts)
	if err != nil {
		t.Fatal(err)
	}
	got := outcomes(results)
	for uid, o := range got {
		want := Unchanged
		if uid == "perf-exporter-overview" {
			want = Updated
		}
		if o != want {
			t.Errorf("%s: %s, want %s", uid, o, want)
		}
	}
	stored, _ := s.Dashboard(1, "perf-exporter-overview")
	if stored.Model["refresh"] != "30s" || stored.Version != 2 {
		t.Errorf("overview refresh=%v version=%d, want 30s at version 2", stored.Model["refresh"], stored.Version)
	}
}

// editInGrafana changes a stored board the way a user saving it in the UI
// would: new content, version + 1.
func editInGrafana(t *testing.T, s *grafanatest.Server, uid string) {
	t.Helper()
	d, ok := s.Dashboard(1, uid)
	if !ok {
		t.Fatalf("no board %s", uid)
	}
	d.Model["title"] = d.Title + " (edited)"
	d.Title += " (edited)"
	d.Version++
	s.AddDashboard(1, d)
}

func TestProvisionOverwritesEditsMadeInGrafana(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	c := testClient(t, s)
	boards := allBoards(t, nil)
	if _, err := c.Provision(context.Background(), boards, defaultOpts); err != nil {
		t.Fatal(err)
	}
	editInGrafana(t, s, "perf-exporter-nodes")
	results, err := c.Provision(context.Background(), boards, defaultOpts)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomes(results)["perf-exporter-nodes"]; o != Updated {
		t.Errorf("edited board: %s, want updated", o)
	}
	if d, _ := s.Dashboard(1, "perf-exporter-nodes"); d.Title != "perf-exporter / Nodes" {
		t.Errorf("title after provisioning = %q: the edit was not replaced", d.Title)
	}
}

func TestProvisionWithoutOverwriteKeepsEdits(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	c := testClient(t, s)
	boards := allBoards(t, nil)
	if _, err := c.Provision(context.Background(), boards, defaultOpts); err != nil {
		t.Fatal(err)
	}
	editInGrafana(t, s, "perf-exporter-nodes")
	opts := defaultOpts
	opts.Overwrite = false
	results, err := c.Provision(context.Background(), boards, opts)
	want := `saving board "perf-exporter-nodes" in folder "perf-exporter": Grafana answered 412 Precondition Failed: The dashboard has been changed by someone else (version-mismatch); the board was changed in Grafana; provision with overwrite to replace it`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
	if len(results) != 3 { // overview, profile-detail, mesh-overhead before nodes
		t.Errorf("results before the error: %v", results)
	}
	if d, _ := s.Dashboard(1, "perf-exporter-nodes"); d.Title != "perf-exporter / Nodes (edited)" {
		t.Errorf("the edit was overwritten: %q", d.Title)
	}
}

func TestProvisionMovesBoardBackIntoFolder(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	boards := allBoards(t, nil)[:1]
	s.AddDashboard(1, grafanatest.Dashboard{Model: boards[0].Model}) // same content, root folder
	results, err := testClient(t, s).Provision(context.Background(), boards, defaultOpts)
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Outcome != Updated {
		t.Errorf("board in the wrong folder: %s, want updated", results[0].Outcome)
	}
	if d, _ := s.Dashboard(1, boards[0].UID()); d.FolderUID != DefaultFolderUID {
		t.Errorf("board still in folder %q", d.FolderUID)
	}
}

func TestProvisionFindsFolderByTitle(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana11)
	s.AddFolder(1, "abc123", "Team performance")
	opts := defaultOpts
	opts.Folder = Folder{Title: "Team performance"}
	if _, err := testClient(t, s).Provision(context.Background(), allBoards(t, nil)[:1], opts); err != nil {
		t.Fatal(err)
	}
	if n := len(s.RequestsTo(http.MethodPost, "/api/folders")); n != 0 {
		t.Errorf("%d folders created; the existing one should be used", n)
	}
	if d, _ := s.Dashboard(1, "perf-exporter-overview"); d.FolderUID != "abc123" {
		t.Errorf("board in folder %q, want abc123", d.FolderUID)
	}
}

func TestProvisionDryRunWritesNothing(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	results, err := testClient(t, s).Provision(context.Background(), allBoards(t, nil), ProvisionOptions{Folder: defaultOpts.Folder, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Outcome != WouldCreate {
			t.Errorf("%+v, want would create", r)
		}
	}
	for _, r := range s.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("dry run wrote: %s %s", r.Method, r.Path)
		}
	}
}

func TestProvisionErrors(t *testing.T) {
	const viewer = "glsa_viewer"
	const narrow = "glsa_narrow"
	const org2 = "glsa_org2"
	newFake := func(t *testing.T, version string) *grafanatest.Server {
		return grafanatest.New(t, grafanatest.Options{Version: version, Tokens: map[string]grafanatest.Identity{
			testToken: {Role: grafanatest.Editor},
			viewer:    {Role: grafanatest.Viewer},
			narrow:    {Role: grafanatest.Editor, WritableFolders: []string{"other"}},
			org2:      {Role: grafanatest.Editor, OrgID: 2},
		}})
	}
	tests := []struct {
		name    string
		version string
		setup   func(*grafanatest.Server)
		mod     func(*Options)
		want    string
	}{
		{"wrong token", grafanatest.Grafana13, nil, func(o *Options) { o.Token = "glsa_wrong" },
			`reading folder "perf-exporter": Grafana answered 401 Unauthorized: Invalid API key (api-key.invalid); check the token (grafana.token_file or GRAFANA_TOKEN) or basic_auth, and that org_id is the token's org`},
		{"token of another org", grafanatest.Grafana13, nil, func(o *Options) { o.Token, o.OrgID = org2, 1 },
			`reading folder "perf-exporter": Grafana answered 401 Unauthorized: API key does not belong to the requested organization (api-key.organization-mismatch); check the token`},
		{"viewer cannot create the folder", grafanatest.Grafana13, nil, func(o *Options) { o.Token = viewer },
			`creating folder "Performance" (uid "perf-exporter"): Grafana answered 403 Forbidden: You'll need additional permissions to perform this action. Permissions needed: any of folders:create; the service account lacks permission`},
		{"viewer cannot save", grafanatest.Grafana13, func(s *grafanatest.Server) { s.AddFolder(1, DefaultFolderUID, "Performance") }, func(o *Options) { o.Token = viewer },
			`saving board "perf-exporter-overview" in folder "perf-exporter": Grafana answered 403 Forbidden: You'll need additional permissions to perform this action. Permissions needed: any of dashboards:create, dashboards:write;`},
		{"no permission on the folder", grafanatest.Grafana13, func(s *grafanatest.Server) { s.AddFolder(1, DefaultFolderUID, "Performance") }, func(o *Options) { o.Token = narrow },
			`saving board "perf-exporter-overview" in folder "perf-exporter": Grafana answered 403 Forbidden: Access denied to save dashboard; the service account lacks permission`},
		{"provisioned by file", grafanatest.Grafana13, func(s *grafanatest.Server) {
			s.AddFolder(1, DefaultFolderUID, "Performance")
			s.AddDashboard(1, grafanatest.Dashboard{UID: "perf-exporter-overview", Title: "old", Provisioned: true, Model: map[string]any{"title": "old"}})
		}, nil,
			`saving board "perf-exporter-overview" in folder "perf-exporter": Grafana answered 400 Bad Request: Cannot save provisioned dashboard`},
		{"server error persists", grafanatest.Grafana13, func(s *grafanatest.Server) {
			s.FailNext(http.MethodGet, "/api/folders/perf-exporter", 10, http.StatusInternalServerError, "Failed to get folder")
		}, nil,
			`reading folder "perf-exporter": Grafana answered 500 Internal Server Error: Failed to get folder`},
		{"proxy error page", grafanatest.Grafana13, nil, func(o *Options) { o.Transport = htmlError{} },
			`reading folder "perf-exporter": Grafana answered 502 Bad Gateway: <html><body><h1>502 Bad Gateway</h1></body></html>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t, tc.version)
			if tc.setup != nil {
				tc.setup(s)
			}
			mods := []func(*Options){}
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			_, err := testClient(t, s, mods...).Provision(context.Background(), allBoards(t, nil), defaultOpts)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant prefix:\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// htmlError is a reverse proxy in front of a Grafana that is down.
type htmlError struct{}

func (htmlError) RoundTrip(*http.Request) (*http.Response, error) {
	body := "<html><body><h1>502 Bad Gateway</h1></body></html>"
	return &http.Response{StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway",
		Header: http.Header{"Content-Type": {"text/html"}}, Body: ioNopCloser(body)}, nil
}

func TestFolderNotFoundIsReportedPerVersion(t *testing.T) {
	// Grafana answers 404 (10.x) or 400 (11+) when a board is saved into a
	// missing folder, e.g. one deleted between our check and the save.
	tests := map[string]string{
		grafanatest.Grafana10: `saving board "perf-exporter-overview" in folder "gone": Grafana answered 404 Not Found: Folder not found (not-found)`,
		grafanatest.Grafana13: `saving board "perf-exporter-overview" in folder "gone": Grafana answered 400 Bad Request: folder not found`,
	}
	for version, want := range tests {
		t.Run(version, func(t *testing.T) {
			s := editorFake(t, version)
			_, err := testClient(t, s).saveBoard(context.Background(), allBoards(t, nil)[0], "gone", defaultOpts)
			if err == nil || err.Error() != want {
				t.Errorf("error:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	const save = "/api/dashboards/db"
	t.Run("5xx is retried", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana13)
		s.FailNext(http.MethodPost, save, 2, http.StatusServiceUnavailable, "database is locked")
		if _, err := testClient(t, s).Provision(context.Background(), allBoards(t, nil)[:1], defaultOpts); err != nil {
			t.Fatal(err)
		}
		statuses := []int{}
		for _, r := range s.RequestsTo(http.MethodPost, save) {
			statuses = append(statuses, r.Status)
		}
		if !reflect.DeepEqual(statuses, []int{503, 503, 200}) {
			t.Errorf("save attempts answered %v, want [503 503 200]", statuses)
		}
	})
	t.Run("5xx gives up after the attempts", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana13)
		s.FailNext(http.MethodPost, save, 10, http.StatusBadGateway, "upstream down")
		_, err := testClient(t, s, func(o *Options) { o.Attempts = 3 }).Provision(context.Background(), allBoards(t, nil)[:1], defaultOpts)
		if !IsStatus(err, http.StatusBadGateway) || !strings.Contains(err.Error(), "upstream down") {
			t.Errorf("error %v, want the 502 with Grafana's message", err)
		}
		if n := len(s.RequestsTo(http.MethodPost, save)); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
	t.Run("4xx is final", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana13)
		s.FailNext(http.MethodPost, save, 1, http.StatusBadRequest, "bad request data")
		_, err := testClient(t, s).Provision(context.Background(), allBoards(t, nil)[:1], defaultOpts)
		if !IsStatus(err, http.StatusBadRequest) {
			t.Errorf("error %v, want the 400", err)
		}
		if n := len(s.RequestsTo(http.MethodPost, save)); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
	t.Run("timeout is retried", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana13)
		s.HangNext(http.MethodPost, save, 1)
		c := testClient(t, s, func(o *Options) { o.Timeout = 100 * time.Millisecond })
		results, err := c.Provision(context.Background(), allBoards(t, nil)[:1], defaultOpts)
		if err != nil {
			t.Fatal(err)
		}
		if results[0].Outcome != Created {
			t.Errorf("%+v", results[0])
		}
		if n := len(s.RequestsTo(http.MethodPost, save)); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
	t.Run("timeouts give up", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana13)
		s.HangNext(http.MethodGet, "/api/health", 5)
		c := testClient(t, s, func(o *Options) { o.Timeout, o.Attempts = 50*time.Millisecond, 2 })
		findings := c.Check(context.Background(), defaultOpts.Folder, "")
		if len(findings) != 1 || !findings[0].Problem || !strings.Contains(findings[0].Text, "no answer within 50ms (after 2 attempts)") {
			t.Errorf("findings %v", findings)
		}
	})
	t.Run("refused connection is not retried", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana13)
		url := s.URL
		s.Close()
		var logs bytes.Buffer
		c, err := NewClient(Options{URL: url, Token: testToken, Backoff: time.Hour}, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Provision(context.Background(), allBoards(t, nil)[:1], defaultOpts)
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error %v, want connection refused at once (a retry would wait an hour)", err)
		}
		if logs.Len() > 0 {
			t.Errorf("retried: %s", logs.String())
		}
	})
	t.Run("cancel stops the backoff", func(t *testing.T) {
		s := editorFake(t, grafanatest.Grafana13)
		s.FailNext(http.MethodGet, "/api/folders/perf-exporter", 10, http.StatusServiceUnavailable, "down")
		ctx, cancel := context.WithCancel(context.Background())
		c, err := NewClient(Options{URL: s.URL, Token: testToken, Backoff: time.Hour}, slog.New(cancelOnLog{cancel}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Provision(ctx, allBoards(t, nil)[:1], defaultOpts); err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("error %v, want context canceled", err)
		}
	})
}

// cancelOnLog cancels a context when the retry is logged, i.e. while the
// transport waits for its backoff.
type cancelOnLog struct{ cancel context.CancelFunc }

func (h cancelOnLog) Enabled(context.Context, slog.Level) bool  { return true }
func (h cancelOnLog) Handle(context.Context, slog.Record) error { h.cancel(); return nil }
func (h cancelOnLog) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h cancelOnLog) WithGroup(string) slog.Handler             { return h }

func TestBasicAuthAndOrg(t *testing.T) {
	s := grafanatest.New(t, grafanatest.Options{
		Users:  map[string]grafanatest.User{"admin": {Password: "pa55", Orgs: map[int64]grafanatest.Role{1: grafanatest.Viewer, 2: grafanatest.Admin}}},
		Tokens: map[string]grafanatest.Identity{testToken: {Role: grafanatest.Editor, OrgID: 2}},
	})
	c := testClient(t, s, func(o *Options) { o.Token, o.Username, o.Password, o.OrgID = "", "admin", "pa55", 2 })
	if _, err := c.Provision(context.Background(), allBoards(t, nil)[:1], defaultOpts); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Dashboard(2, "perf-exporter-overview"); !ok {
		t.Error("board not saved in org 2")
	}
	if _, ok := s.Dashboard(1, "perf-exporter-overview"); ok {
		t.Error("board saved in org 1")
	}
	for _, r := range s.Requests() {
		if r.Header.Get("X-Grafana-Org-Id") != "2" || r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:pa55")) {
			t.Errorf("%s %s: org header %q, authorization %q", r.Method, r.Path, r.Header.Get("X-Grafana-Org-Id"), r.Header.Get("Authorization"))
		}
	}
	// A token, sent the way some tools send it: basic auth as user api_key.
	c = testClient(t, s, func(o *Options) { o.Token, o.Username, o.Password = "", "api_key", testToken })
	results, err := c.Provision(context.Background(), allBoards(t, nil)[:1], defaultOpts)
	if err != nil || results[0].Outcome != Unchanged {
		t.Errorf("api_key basic auth: %v %v", results, err)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	s.FailNext(http.MethodPost, "/api/dashboards/db", 1, http.StatusServiceUnavailable, "busy")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := Options{URL: s.URL, Token: testToken, Password: "hunter2", Backoff: time.Millisecond}
	c, err := NewClient(o, logger)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("options", "options", o, "token", o.Token)
	if _, err := c.Provision(context.Background(), allBoards(t, nil), defaultOpts); err != nil {
		t.Fatal(err)
	}
	bad := testClient(t, s, func(o *Options) { o.Token = "glsa_wrong_secret" })
	_, err = bad.Provision(context.Background(), allBoards(t, nil), defaultOpts)
	printed := fmt.Sprintf("%v %+v %#v %s %v", o, o, o, o.Token, err)
	for _, secret := range []string{testToken, "hunter2", "glsa_wrong_secret"} {
		if strings.Contains(logs.String(), secret) || strings.Contains(printed, secret) {
			t.Errorf("secret %q leaked:\nlogs: %s\nprinted: %s", secret, logs.String(), printed)
		}
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the retry was not logged, so the test proves nothing: %s", logs.String())
	}
}

func TestOptionsFromConfig(t *testing.T) {
	dir := t.TempDir()
	tokenFile := dir + "/token"
	writeFile(t, tokenFile, "  glsa_from_file\n")
	env := func(k string) string {
		if k == TokenEnv {
			return "glsa_from_env"
		}
		return ""
	}
	o, err := OptionsFromConfig(&config.Grafana{URL: "http://g:3000", TokenFile: tokenFile, OrgID: 3}, env)
	if err != nil || o.Token.reveal() != "glsa_from_file" || o.OrgID != 3 {
		t.Errorf("token file: %v %v", o.Token.reveal(), err)
	}
	o, err = OptionsFromConfig(&config.Grafana{URL: "http://g:3000"}, env)
	if err != nil || o.Token.reveal() != "glsa_from_env" {
		t.Errorf("env: %v %v", o.Token.reveal(), err)
	}
	passFile := dir + "/pass"
	writeFile(t, passFile, "s3cret\n")
	o, err = OptionsFromConfig(&config.Grafana{URL: "http://g:3000", BasicAuth: &config.BasicAuth{Username: "u", PasswordFile: passFile}}, env)
	if err != nil || o.Username != "u" || o.Password.reveal() != "s3cret" || o.Token.set() {
		t.Errorf("basic auth: %+v %v", o, err)
	}
	writeFile(t, tokenFile, "\n")
	if _, err := OptionsFromConfig(&config.Grafana{URL: "http://g:3000", TokenFile: tokenFile}, env); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty token file: %v", err)
	}
	if _, err := OptionsFromConfig(&config.Grafana{}, env); err == nil || !strings.Contains(err.Error(), "--grafana.url") {
		t.Errorf("no url: %v", err)
	}
	if _, err := NewClient(Options{URL: "http://admin:pw@g:3000"}, nil); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("credentials in the URL: %v", err)
	}
}

// notGrafana answers 200 with a login page, like an SSO proxy in front of
// Grafana.
type notGrafana struct{}

func (notGrafana) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK",
		Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: ioNopCloser("<html>Sign in</html>")}, nil
}

func TestNotGrafana(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	_, err := testClient(t, s, func(o *Options) { o.Transport = notGrafana{} }).Provision(context.Background(), allBoards(t, nil), defaultOpts)
	want := `reading folder "perf-exporter": Grafana answered 200 OK: the answer is "text/html; charset=utf-8", not JSON: is the URL Grafana's own address (not a login page or proxy)?`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

// brokenSave is a Grafana (or a proxy in front of it) that answers every
// save with 200 and the given body, and passes every other request on.
type brokenSave struct {
	next http.RoundTripper
	body string
}

func (b brokenSave) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.URL.Path == "/api/dashboards/db" {
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK",
			Header: http.Header{"Content-Type": {"application/json"}}, Body: ioNopCloser(b.body)}, nil
	}
	return b.next.RoundTrip(r)
}

// TestSaveAnswerWithoutBody: a 200 whose body is empty, cut short or
// lacks the saved version is not a success; the error names the status
// and what is wrong with the body, and nothing is reported as saved.
func TestSaveAnswerWithoutBody(t *testing.T) {
	tests := map[string]struct{ body, want string }{
		"empty": {"", `saving board "perf-exporter-overview" in folder "perf-exporter": Grafana answered 200 OK: the answer has an empty body, not the JSON Grafana sends, so nothing says the request took effect`},
		"truncated": {`{"status":"success","slug":"perf-exporter-overview","vers`,
			`saving board "perf-exporter-overview" in folder "perf-exporter": Grafana answered 200 OK: the answer is not valid JSON (unexpected end of JSON input after 57 bytes): cut short by a proxy or a dropped connection?`},
		"no version": {`{"status":"success"}`, `saving board "perf-exporter-overview" in folder "perf-exporter": Grafana answered 200 OK: the answer lacks the saved board's version and URL, so nothing says the board was stored`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := editorFake(t, grafanatest.Grafana13)
			c := testClient(t, s, func(o *Options) { o.Transport = brokenSave{next: http.DefaultTransport, body: tc.body} })
			results, err := c.Provision(context.Background(), allBoards(t, nil), defaultOpts)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tc.want)
			}
			if len(results) != 0 {
				t.Errorf("reported as provisioned: %+v", results)
			}
		})
	}
}

// TestCheckReportsBrokenHealthAnswer: a cut-short answer is Grafana
// answering badly, not Grafana being unreachable.
func TestCheckReportsBrokenHealthAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"database": "o`)
	}))
	defer srv.Close()
	c, err := NewClient(Options{URL: srv.URL, Token: testToken, Attempts: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	findings := c.Check(context.Background(), Folder{UID: "perf"}, "")
	want := "problem: Grafana at " + srv.URL + `: checking health: Grafana answered 200 OK: the answer is not valid JSON (unexpected end of JSON input after 15 bytes)`
	if len(findings) != 1 || !strings.HasPrefix(findings[0].String(), want) {
		t.Errorf("findings %v\nwant %s", findings, want)
	}
}

// TestProvisionFolderTitleTaken: Grafana refuses to create our folder when
// a root folder with its title exists under another uid (409); the error
// names that folder and what to set.
func TestProvisionFolderTitleTaken(t *testing.T) {
	for _, version := range []string{grafanatest.Grafana10, grafanatest.Grafana11, grafanatest.Grafana13} {
		t.Run(version, func(t *testing.T) {
			s := editorFake(t, version)
			s.AddFolder(1, "abc123", "performance")
			_, err := testClient(t, s).Provision(context.Background(), allBoards(t, nil), defaultOpts)
			want := `creating folder "Performance" (uid "perf-exporter"): Grafana answered 409 Conflict: a folder`
			hint := `; a root folder titled "performance" already exists with uid "abc123": set grafana.folder_uid: abc123 (or --grafana.folder-uid abc123) to provision into it, or grafana.folder to another title`
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), hint) {
				t.Errorf("error:\n%v\nwant %s ... %s", err, want, hint)
			}
			// What the hint says works.
			opts := defaultOpts
			opts.Folder = Folder{UID: "abc123"}
			if _, err := testClient(t, s).Provision(context.Background(), allBoards(t, nil), opts); err != nil {
				t.Errorf("with the existing folder's uid: %v", err)
			}
		})
	}
}

// TestFakeServesWhatTheClientCalls: every route of the fake is called by
// some operation of the client, so the fake holds nothing the client does
// not use (and a route the client stops calling fails here).
func TestFakeServesWhatTheClientCalls(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	s.AddDatasource(1, grafanatest.Datasource{UID: "prom", Name: "Prometheus"})
	c := testClient(t, s)
	ctx := context.Background()
	c.Check(ctx, Folder{UID: "perf"}, "prom")
	if _, err := c.Provision(ctx, allBoards(t, nil), defaultOpts); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx, ListOptions{Tags: []string{Tag}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Import(ctx, "perf-exporter-overview"); err != nil {
		t.Fatal(err)
	}
	an, _ := startAnnotator(t, s, testToken, &config.GrafanaAnnotations{Enabled: true}, AnnotatorOptions{})
	runAnnotator(t, an)
	doc := runDoc("p", "success", time.Now())
	an.RunFinished(doc)
	an.RunFinished(doc)
	waitCount(t, an, AnnotationSent, 2)
	mux := http.NewServeMux()
	for _, p := range s.Routes() {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	called := map[string]bool{}
	for _, r := range s.Requests() {
		req, _ := http.NewRequest(r.Method, s.URL+r.Path, nil)
		_, pattern := mux.Handler(req)
		if pattern == "" {
			t.Errorf("the client called %s %s, which the fake does not serve", r.Method, r.Path)
		}
		called[pattern] = true
	}
	for _, p := range s.Routes() {
		if !called[p] {
			t.Errorf("the fake serves %s, which the client never calls", p)
		}
	}
}

// TestCheckReportsBodyCutShort: an answer whose body ends before the
// length its headers announced (a dropped connection, a proxy that gave
// up) is Grafana answering badly, with its status, not "cannot reach".
func TestCheckReportsBodyCutShort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "64")
		fmt.Fprint(w, `{"database": "o`) // then the handler returns: the connection is cut
	}))
	defer srv.Close()
	c, err := NewClient(Options{URL: srv.URL, Token: testToken, Attempts: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	findings := c.Check(context.Background(), Folder{UID: "perf"}, "")
	want := "problem: Grafana at " + srv.URL + `: checking health: Grafana answered 200 OK: the answer was cut short after 15 bytes (unexpected EOF)`
	if len(findings) != 1 || !strings.HasPrefix(findings[0].String(), want) {
		t.Errorf("findings %v\nwant %s", findings, want)
	}
}
