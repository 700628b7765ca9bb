package grafanatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/go-openapi/strfmt"
	"github.com/grafana/grafana-openapi-client-go/models"
)

const token = "glsa_editor"

func newServer(t *testing.T, version string) *Server {
	return New(t, Options{Version: version, Tokens: map[string]Identity{
		token:         {Role: Editor},
		"glsa_viewer": {Role: Viewer},
	}})
}

// do sends a request with the editor token and decodes the JSON answer.
func do(t *testing.T, s *Server, method, path string, body any) (int, map[string]any) {
	t.Helper()
	status, raw := doRaw(t, s, method, path, token, body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		var list []any
		if json.Unmarshal(raw, &list) != nil {
			t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
		out = map[string]any{"list": list}
	}
	return status, out
}

func doRaw(t *testing.T, s *Server, method, path, tok string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, s.URL+path, r)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func save(dash map[string]any, extra map[string]any) map[string]any {
	body := map[string]any{"dashboard": dash}
	maps.Copy(body, extra)
	return body
}

// TestSaveRules walks the decision table of POST /api/dashboards/db.
func TestSaveRules(t *testing.T) {
	s := newServer(t, Grafana13)
	s.AddFolder(1, "f", "Folder")
	status, body := do(t, s, "POST", "/api/dashboards/db", save(map[string]any{"uid": "b", "title": " Board "}, map[string]any{"folderUid": "f", "message": "first"}))
	if status != 200 || body["uid"] != "b" || body["version"] != 1.0 || body["url"] != "/d/b/board" || body["folderUid"] != "f" || body["slug"] != "board" || body["status"] != "success" {
		t.Fatalf("create: %d %v", status, body)
	}
	tests := []struct {
		name   string
		body   any
		status int
		want   map[string]any
	}{
		{"malformed", `{"dashboard": `, 400, map[string]any{"message": "bad request data"}},
		{"empty title", save(map[string]any{"title": "  "}, nil), 400, map[string]any{"status": "empty-name", "message": "Dashboard title cannot be empty"}},
		{"bad uid", save(map[string]any{"title": "x", "uid": "a b"}, nil), 400, map[string]any{"message": "uid contains illegal characters"}},
		{"long uid", save(map[string]any{"title": "x", "uid": strings.Repeat("u", 41)}, nil), 400, map[string]any{"message": "uid too long, max 40 characters"}},
		{"unknown folder", save(map[string]any{"title": "x"}, map[string]any{"folderUid": "nope"}), 400, map[string]any{"message": "folder not found"}},
		{"uid of a folder", save(map[string]any{"title": "x", "uid": "f"}, nil), 400, map[string]any{"message": "A folder with the same uid already exists"}},
		{"stale version", save(map[string]any{"title": "Board", "uid": "b"}, map[string]any{"folderUid": "f"}), 412, map[string]any{"status": "version-mismatch", "message": "The dashboard has been changed by someone else"}},
		{"viewer", nil, 403, nil},
	}
	for _, tc := range tests {
		var status int
		var got map[string]any
		if tc.name == "viewer" {
			st, raw := doRaw(t, s, "POST", "/api/dashboards/db", "glsa_viewer", save(map[string]any{"title": "x"}, nil))
			status = st
			_ = json.Unmarshal(raw, &got)
			if !strings.HasPrefix(fmt.Sprint(got["message"]), "You'll need additional permissions") || got["title"] != "Access denied" {
				t.Errorf("viewer: RBAC body %v", got)
			}
		} else {
			status, got = do(t, s, "POST", "/api/dashboards/db", tc.body)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s: body %v, want %v", tc.name, got, tc.want)
			}
		}
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, status, tc.status)
		}
	}
	// The right version or overwrite updates; moving without folderUid
	// lands in the root, as in Grafana.
	status, body = do(t, s, "POST", "/api/dashboards/db", save(map[string]any{"uid": "b", "title": "Board", "version": 1}, map[string]any{"message": "second"}))
	if status != 200 || body["version"] != 2.0 {
		t.Fatalf("update: %d %v", status, body)
	}
	d, _ := s.Dashboard(1, "b")
	if d.FolderUID != "" || len(d.Versions) != 2 || d.Versions[1].Message != "second" || d.Title != "Board" {
		t.Errorf("stored %+v", d)
	}
	// GET injects id, uid and version into the stored JSON.
	status, body = do(t, s, "GET", "/api/dashboards/uid/b", nil)
	dash := body["dashboard"].(map[string]any)
	meta := body["meta"].(map[string]any)
	if status != 200 || dash["version"] != 2.0 || dash["uid"] != "b" || dash["id"] == nil || meta["folderTitle"] != "General" || meta["url"] != "/d/b/board" {
		t.Errorf("get: %d %v", status, body)
	}
}

func TestVersionProfiles(t *testing.T) {
	for _, tc := range []struct {
		version         string
		folderStatus    int
		sameNameStatus  int
		refreshStatus   int
		sameFolderTitle string
	}{
		{Grafana10, 404, 412, 400, "a folder or dashboard in the general folder with the same name already exists"},
		{Grafana11, 400, 412, 200, "a folder with the same name already exists in the current location"},
		{Grafana13, 400, 200, 200, "a folder with the same name already exists in the current location"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			s := newServer(t, tc.version)
			s.AddFolder(1, "f", "Folder")
			if st, _ := do(t, s, "POST", "/api/dashboards/db", save(map[string]any{"title": "x"}, map[string]any{"folderUid": "nope"})); st != tc.folderStatus {
				t.Errorf("unknown folder: %d, want %d", st, tc.folderStatus)
			}
			do(t, s, "POST", "/api/dashboards/db", save(map[string]any{"uid": "one", "title": "Same"}, map[string]any{"folderUid": "f"}))
			if st, b := do(t, s, "POST", "/api/dashboards/db", save(map[string]any{"uid": "two", "title": "same"}, map[string]any{"folderUid": "f"})); st != tc.sameNameStatus {
				t.Errorf("same title in folder: %d %v, want %d", st, b, tc.sameNameStatus)
			}
			st, _ := do(t, s, "POST", "/api/dashboards/db", save(map[string]any{"uid": "r", "title": "Refresh", "refresh": "1s"}, nil))
			if st != tc.refreshStatus {
				t.Errorf("refresh 1s: %d, want %d", st, tc.refreshStatus)
			}
			if st == 200 {
				if d, _ := s.Dashboard(1, "r"); d.Model["refresh"] != "5s" {
					t.Errorf("refresh stored as %v, want raised to 5s", d.Model["refresh"])
				}
			}
			// Every version refuses a second root folder with the same title.
			if st, b := do(t, s, "POST", "/api/folders", map[string]any{"uid": "g", "title": "FOLDER"}); st != 409 || b["message"] != tc.sameFolderTitle {
				t.Errorf("same folder title: %d %v, want 409 %q", st, b, tc.sameFolderTitle)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	s := newServer(t, Grafana13)
	s.AddFolder(1, "a", "Alpha")
	s.AddFolder(1, "b", "Beta")
	s.AddDashboard(1, Dashboard{FolderUID: "a", Model: map[string]any{"uid": "a1", "title": "One", "tags": []any{"x", "y"}}})
	s.AddDashboard(1, Dashboard{FolderUID: "b", Model: map[string]any{"uid": "b1", "title": "Two", "tags": []any{"x"}}})
	s.AddDashboard(1, Dashboard{Model: map[string]any{"uid": "r1", "title": "Three"}})
	uids := func(q string) []string {
		_, body := do(t, s, "GET", "/api/search?"+q, nil)
		var out []string
		for _, h := range body["list"].([]any) {
			out = append(out, h.(map[string]any)["uid"].(string))
		}
		return out
	}
	for q, want := range map[string]string{
		"type=dash-db":                "[a1 r1 b1]", // by title: One, Three, Two
		"type=dash-folder":            "[a b]",
		"tag=x&tag=y":                 "[a1]", // AND
		"folderUIDs=a&folderUIDs=b":   "[a1 b1]",
		"folderUIDs=a,b":              "[]", // not split, as in Grafana
		"folderUIDs=&type=dash-db":    "[r1]",
		"query=T&type=dash-db":        "[r1 b1]",
		"type=dash-db&limit=1&page=2": "[r1]",
	} {
		if got := fmt.Sprint(uids(q)); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	if st, body := do(t, s, "GET", "/api/search?limit=5001", nil); st != 422 || body["message"] == nil {
		t.Errorf("limit 5001: %d %v", st, body)
	}
	_, body := do(t, s, "GET", "/api/search?folderUIDs=a", nil)
	hit := body["list"].([]any)[0].(map[string]any)
	if hit["folderTitle"] != "Alpha" || hit["folderUid"] != "a" || hit["type"] != "dash-db" || hit["url"] != "/d/a1/one" {
		t.Errorf("hit %v", hit)
	}
}

func TestAuth(t *testing.T) {
	s := New(t, Options{
		Tokens: map[string]Identity{token: {Role: Editor, OrgID: 2}},
		Users:  map[string]User{"admin": {Password: "pw", Orgs: map[int64]Role{1: Admin}}},
	})
	get := func(mod func(*http.Request)) (int, map[string]any) {
		req, _ := http.NewRequest("GET", s.URL+"/api/search", nil)
		mod(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	tests := []struct {
		name    string
		mod     func(*http.Request)
		status  int
		message string
	}{
		{"none", func(*http.Request) {}, 401, "Unauthorized"},
		{"bad token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, 401, "Invalid API key"},
		{"org mismatch", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+token)
			r.Header.Set("X-Grafana-Org-Id", "1")
		}, 401, "API key does not belong to the requested organization"},
		{"bad org header", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+token)
			r.Header.Set("X-Grafana-Org-Id", "one")
		}, 400, "Invalid X-Grafana-Org-Id header"},
		{"bad password", func(r *http.Request) { r.SetBasicAuth("admin", "nope") }, 401, "Invalid username or password"},
		{"basic", func(r *http.Request) { r.SetBasicAuth("admin", "pw") }, 200, ""},
		{"api_key alias", func(r *http.Request) { r.SetBasicAuth("api_key", token) }, 200, ""},
	}
	for _, tc := range tests {
		status, body := get(tc.mod)
		if status != tc.status || (tc.message != "" && body["message"] != tc.message) {
			t.Errorf("%s: %d %v, want %d %q", tc.name, status, body, tc.status, tc.message)
		}
	}
	if st, _ := doRaw(t, s, "GET", "/api/health", "", nil); st != 200 {
		t.Errorf("health needs no auth: %d", st)
	}
}

// TestResponsesMatchTheSpec decodes the fake's answers into the generated
// client's models and validates them (required fields such as message).
func TestResponsesMatchTheSpec(t *testing.T) {
	s := newServer(t, Grafana13)
	check := func(what string, raw []byte, m interface {
		Validate(strfmt.Registry) error
	}) {
		t.Helper()
		if err := json.Unmarshal(raw, m); err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		if err := m.Validate(strfmt.Default); err != nil {
			t.Errorf("%s: %v\n%s", what, err, raw)
		}
	}
	_, raw := doRaw(t, s, "POST", "/api/folders", token, map[string]any{"uid": "f", "title": "F"})
	check("folder", raw, &models.Folder{})
	_, raw = doRaw(t, s, "POST", "/api/dashboards/db", token, save(map[string]any{"uid": "b", "title": "B"}, map[string]any{"folderUid": "f"}))
	var saved map[string]any
	_ = json.Unmarshal(raw, &saved)
	for _, k := range []string{"id", "uid", "url", "version", "status", "slug", "folderUid"} {
		if _, ok := saved[k]; !ok {
			t.Errorf("save answer lacks %s: %s", k, raw)
		}
	}
	_, raw = doRaw(t, s, "GET", "/api/dashboards/uid/b", token, nil)
	check("dashboard", raw, &models.DashboardFullWithMeta{})
	_, raw = doRaw(t, s, "GET", "/api/search", token, nil)
	var hits models.HitList
	check("search", raw, &hits)
	_, raw = doRaw(t, s, "GET", "/api/health", "", nil)
	check("health", raw, &models.HealthResponse{})
	for _, path := range []string{"/api/dashboards/uid/nope", "/api/folders/nope", "/api/datasources/uid/nope", "/api/nothing"} {
		st, raw := doRaw(t, s, "GET", path, token, nil)
		if st != 404 {
			t.Errorf("%s: %d", path, st)
		}
		check(path, raw, &models.ErrorResponseBody{})
	}
	st, raw := doRaw(t, s, "PUT", "/api/search", token, nil)
	if st != 405 {
		t.Errorf("PUT /api/search: %d", st)
	}
	check("405", raw, &models.ErrorResponseBody{})
}

func TestFoldersAndDatasources(t *testing.T) {
	s := New(t, Options{Version: Grafana11, Tokens: map[string]Identity{token: {Role: Admin}, "glsa_viewer": {Role: Viewer}}})
	if st, _ := do(t, s, "POST", "/api/folders", map[string]any{"uid": "f", "title": "F"}); st != 200 {
		t.Fatalf("create folder: %d", st)
	}
	for _, tc := range []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{"uid": "f", "title": "Other"}, 409},
		{map[string]any{"uid": "g", "title": "f"}, 409}, // same name
		{map[string]any{"uid": "g"}, 400},
		{map[string]any{"uid": "g h", "title": "G"}, 400},
	} {
		if st, b := do(t, s, "POST", "/api/folders", tc.body); st != tc.status || b["message"] == nil {
			t.Errorf("create folder %v: %d %v, want %d", tc.body, st, b, tc.status)
		}
	}
	if st, _ := doRaw(t, s, "POST", "/api/folders", "glsa_viewer", map[string]any{"uid": "v", "title": "V"}); st != 403 {
		t.Errorf("viewer creates a folder: %d", st)
	}
	if st, b := do(t, s, "GET", "/api/folders/f", nil); st != 200 || b["title"] != "F" || b["canSave"] != true || b["url"] != "/dashboards/f/f/f" {
		t.Errorf("get folder: %d %v", st, b)
	}

	s.AddDatasource(1, Datasource{UID: "prom", Name: "Prom"})
	if st, b := do(t, s, "GET", "/api/datasources/uid/prom", nil); st != 200 || b["type"] != "prometheus" || b["name"] != "Prom" {
		t.Errorf("get datasource: %d %v", st, b)
	}
	if st, b := do(t, s, "GET", "/api/datasources/uid/nope", nil); st != 404 || b["message"] != "Data source not found" {
		t.Errorf("unknown datasource: %d %v", st, b)
	}
	if st, _ := doRaw(t, s, "GET", "/api/datasources/uid/prom", "glsa_viewer", nil); st != 403 {
		t.Errorf("viewer reads a datasource: %d", st)
	}
}

func TestFaultsAndRecording(t *testing.T) {
	s := newServer(t, Grafana13)
	s.FailNext("GET", "/api/search", 1, 503, "busy")
	if st, b := do(t, s, "GET", "/api/search", nil); st != 503 || b["message"] != "busy" {
		t.Errorf("fault: %d %v", st, b)
	}
	if st, _ := do(t, s, "GET", "/api/search?tag=a&tag=b", nil); st != 200 {
		t.Errorf("after the fault: %d", st)
	}
	reqs := s.RequestsTo("GET", "/api/search")
	if len(reqs) != 2 || reqs[0].Status != 503 || reqs[1].Status != 200 || fmt.Sprint(reqs[1].Query["tag"]) != "[a b]" || reqs[1].Header.Get("Authorization") == "" {
		t.Errorf("recorded %+v", reqs)
	}
}
