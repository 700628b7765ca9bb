package dashboards

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/grafana/grafana-openapi-client-go/client/search"

	"github.com/perf-exporter/perf-exporter/dashboards/grafanatest"
)

func listFake(t *testing.T) (*grafanatest.Server, *Client) {
	s := editorFake(t, grafanatest.Grafana13)
	s.AddFolder(1, "a", "Alpha")
	s.AddFolder(1, "b", "Beta")
	s.AddDashboard(1, grafanatest.Dashboard{FolderUID: "a", Model: map[string]any{"uid": "a1", "title": "A one", "tags": []any{"perf-exporter", "team"}}})
	s.AddDashboard(1, grafanatest.Dashboard{FolderUID: "b", Model: map[string]any{"uid": "b1", "title": "B one", "tags": []any{"perf-exporter"}}})
	s.AddDashboard(1, grafanatest.Dashboard{Model: map[string]any{"uid": "r1", "title": "Root one", "tags": []any{"team"}}})
	return s, testClient(t, s)
}

func uidsOf(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.UID)
	}
	return out
}

func TestList(t *testing.T) {
	s, c := listFake(t)
	tests := []struct {
		name string
		o    ListOptions
		want []string
	}{
		{"everything", ListOptions{}, []string{"r1", "a1", "b1"}}, // root (no folder title) first
		{"by tag", ListOptions{Tags: []string{"perf-exporter"}}, []string{"a1", "b1"}},
		{"tags all match", ListOptions{Tags: []string{"perf-exporter", "team"}}, []string{"a1"}},
		{"two folders", ListOptions{FolderUIDs: []string{"a", "b"}}, []string{"a1", "b1"}},
		{"folder and tag", ListOptions{FolderUIDs: []string{"a", "b"}, Tags: []string{"team"}}, []string{"a1"}},
		{"by title", ListOptions{Query: "one", FolderUIDs: []string{"b"}}, []string{"b1"}},
	}
	for _, tc := range tests {
		hits, err := c.List(context.Background(), tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if got := uidsOf(hits); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	hits, _ := c.List(context.Background(), ListOptions{FolderUIDs: []string{"a"}})
	if h := hits[0]; h.FolderTitle != "Alpha" || h.URL != s.URL+"/d/a1/a-one" {
		t.Errorf("hit %+v", h)
	}
}

// TestSearchFolderUIDsQuirk pins down why List sends one search per folder:
// the generated client joins folderUIDs with commas, Grafana (and the fake)
// take the parameter literally, and nothing is found.
func TestSearchFolderUIDsQuirk(t *testing.T) {
	s, c := listFake(t)
	s.ResetRequests()
	params := search.NewSearchParams().WithFolderUIDs([]string{"a", "b"})
	ok, err := c.api.Search.Search(params, call(context.Background(), "search"))
	if err != nil {
		t.Fatal(err)
	}
	sent := s.RequestsTo(http.MethodGet, "/api/search")[0].Query["folderUIDs"]
	if !reflect.DeepEqual(sent, []string{"a,b"}) || len(ok.Payload) != 0 {
		t.Fatalf("the generated client sent folderUIDs=%v and found %d boards; if it now repeats the parameter, List can send one search", sent, len(ok.Payload))
	}
	s.ResetRequests()
	if _, err := c.List(context.Background(), ListOptions{FolderUIDs: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.RequestsTo(http.MethodGet, "/api/search") {
		if v := r.Query["folderUIDs"]; len(v) != 1 || (v[0] != "a" && v[0] != "b") {
			t.Errorf("List sent folderUIDs=%v", v)
		}
	}
}

func TestListPages(t *testing.T) {
	s := editorFake(t, grafanatest.Grafana13)
	for range searchPage + 5 {
		s.AddDashboard(1, grafanatest.Dashboard{Model: map[string]any{"title": "board"}})
	}
	hits, err := testClient(t, s).List(context.Background(), ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != searchPage+5 {
		t.Errorf("%d hits, want %d", len(hits), searchPage+5)
	}
	if n := len(s.RequestsTo(http.MethodGet, "/api/search")); n != 2 {
		t.Errorf("%d pages fetched, want 2", n)
	}
}
