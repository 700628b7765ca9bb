package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"fortio.org/fortio/fhttp"

	"github.com/perf-exporter/perf-exporter/result"
)

// apiRuns are the runs the API tests store: two profiles, one failed run.
var apiRuns = []testRun{
	{id: "checkout-1", profile: "checkout", start: t0},
	{id: "checkout-2", profile: "checkout", start: t0.Add(2 * time.Hour), scale: 1.5, environment: []result.EnvironmentValue{
		{Set: "nodes", Name: "cpu_busy", Prometheus: "cluster", Query: "avg(rate(x[1m]))", Avg: 0.5, Max: 0.7},
	}},
	{id: "search-1", profile: "search", start: t0.Add(3 * time.Hour)},
	{id: "checkout-3", profile: "checkout", start: t0.Add(8 * time.Hour), outcome: result.OutcomeFailure},
	{id: "checkout-4", profile: "checkout", start: t0.Add(9 * time.Hour), scale: 2, environment: []result.EnvironmentValue{
		{Set: "nodes", Name: "cpu_busy", Prometheus: "cluster", Query: "avg(rate(x[1m]))", Avg: 0.6, Max: 0.9},
		{Set: "nodes", Name: "load1", Prometheus: "cluster", Query: "avg(node_load1)", Avg: 2},
	}},
}

func TestListResults(t *testing.T) {
	srv := newServer(t, openHistory(t, apiRuns...))
	for _, tc := range []struct {
		name, query string
		want        []string // run ids, in order
		next        bool     // a next_cursor is expected
	}{
		{name: "every run, newest first", query: "", want: []string{"checkout-4", "checkout-3", "search-1", "checkout-2", "checkout-1"}},
		{name: "one profile", query: "profile=checkout", want: []string{"checkout-4", "checkout-3", "checkout-2", "checkout-1"}},
		{name: "a profile without runs lists nothing", query: "profile=nope", want: []string{}},
		{name: "limit pages", query: "limit=2", want: []string{"checkout-4", "checkout-3"}, next: true},
		{name: "limit equal to the runs has no next page", query: "profile=checkout&limit=4", want: []string{"checkout-4", "checkout-3", "checkout-2", "checkout-1"}},
		{name: "since a time", query: "since=2026-11-27T04:00:00Z", want: []string{"checkout-4", "checkout-3", "search-1", "checkout-2"}},
		{name: "since a time with an offset", query: "since=" + url.QueryEscape("2026-11-27T07:30:00+02:00"), want: []string{"checkout-4", "checkout-3", "search-1"}},
		{name: "since how long ago", query: "since=150m", want: []string{"checkout-4", "checkout-3"}},
		{name: "since days ago, as Prometheus writes it", query: "since=1d", want: []string{"checkout-4", "checkout-3", "search-1", "checkout-2", "checkout-1"}},
		{name: "empty parameters are unset", query: "profile=&since=&limit=", want: []string{"checkout-4", "checkout-3", "search-1", "checkout-2", "checkout-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, srv.URL+"/api/v1/results?"+tc.query)
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", status, body)
			}
			var page ResultList
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatal(err)
			}
			if page.Results == nil {
				t.Errorf("results is null, want a list: %s", body)
			}
			got := []string{}
			for _, r := range page.Results {
				got = append(got, r.RunID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("runs %v, want %v", got, tc.want)
			}
			if (page.NextCursor != "") != tc.next {
				t.Errorf("next_cursor %q, want one: %v", page.NextCursor, tc.next)
			}
		})
	}
}

func TestListResultsSummary(t *testing.T) {
	srv := newServer(t, openHistory(t, apiRuns...))
	_, body, _ := get(t, srv.URL+"/api/v1/results?profile=checkout&limit=2")
	var page struct{ Results []map[string]any }
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	newest, failed := page.Results[0], page.Results[1]
	want := apiRuns[4].doc()
	for field, v := range map[string]any{
		"run_id": "checkout-4", "profile": "checkout", "engine": "fortio", "outcome": "success",
		"requested_rps": 100.0, "achieved_rps": want.ActualQPS, "requests": 3000.0, "duration_seconds": 30.0,
		"start": t0.Add(9 * time.Hour).Format(time.RFC3339), "error_ratio": want.PerfExporter.ErrorRatio,
	} {
		if newest[field] != v {
			t.Errorf("%s = %v (%T), want %v", field, newest[field], newest[field], v)
		}
	}
	p99, _ := documentPercentile(want, 99)
	if got := newest["latency_seconds"].(map[string]any)["99"]; got != p99 {
		t.Errorf("latency_seconds.99 = %v, want %v", got, p99)
	}
	if failed["outcome"] != "failure" || !strings.Contains(failed["error"].(string), "connection refused") {
		t.Errorf("failed run listed as %v", failed)
	}
	if l, ok := failed["latency_seconds"].(map[string]any); !ok || len(l) != 0 {
		t.Errorf("failed run's latency_seconds = %v, want {}", failed["latency_seconds"])
	}
}

func TestListResultsPaging(t *testing.T) {
	srv := newServer(t, openHistory(t, apiRuns...))
	var got []string
	query := "limit=2&since=1d"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		status, body, _ := get(t, srv.URL+"/api/v1/results?"+query)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		var page ResultList
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Results {
			got = append(got, r.RunID)
		}
		if page.NextCursor == "" {
			break
		}
		query = "limit=2&since=1d&cursor=" + url.QueryEscape(page.NextCursor)
	}
	want := []string{"checkout-4", "checkout-3", "search-1", "checkout-2", "checkout-1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}
}

// apiErrors are requests the API must refuse, with the status and a part
// of the reason it must give.
var apiErrors = []struct {
	name, path string
	status     int
	reason     string
}{
	{"limit zero", "/api/v1/results?limit=0", 400, `limit "0": want a whole number from 1 to 1000`},
	{"limit above the maximum", "/api/v1/results?limit=1001", 400, `limit "1001"`},
	{"limit not a number", "/api/v1/results?limit=ten", 400, `limit "ten"`},
	{"since neither time nor duration", "/api/v1/results?since=yesterday", 400, `since "yesterday": want an RFC 3339 time`},
	{"since a negative duration", "/api/v1/results?since=-1h", 400, `since "-1h": how long ago must be positive`},
	{"since a time without zone", "/api/v1/results?since=2026-11-27T04:00:00", 400, `since "2026-11-27T04:00:00"`},
	{"a cursor the API did not hand out", "/api/v1/results?cursor=garbage", 400, "invalid cursor"},
	{"a misspelt parameter", "/api/v1/results?limt=5", 400, `unknown parameter "limt" (known: profile, since, limit, cursor)`},
	{"a parameter twice", "/api/v1/results?limit=5&limit=6", 400, `parameter "limit" given 2 times`},
	{"a broken query string", "/api/v1/results?limit=%zz", 400, "query string"},
	{"unknown run", "/api/v1/results/checkout-99", 404, `run "checkout-99": no such run`},
	{"unknown format", "/api/v1/results/checkout-1?format=xml", 400, `format "xml": want json`},
	{"unknown parameter of a run", "/api/v1/results/checkout-1?fmt=fortio", 400, `unknown parameter "fmt"`},
	{"compare without ids", "/api/v1/results/compare", 400, "ids: got 0 run ids, want 2 to 20"},
	{"compare one run", "/api/v1/results/compare?ids=checkout-1", 400, "ids: got 1 run ids"},
	{"compare too many runs", "/api/v1/results/compare?ids=" + manyIDs(21), 400, "ids: got 21 run ids, want 2 to 20"},
	{"compare an empty id", "/api/v1/results/compare?ids=checkout-1,,checkout-2", 400, "an empty run id"},
	{"compare a run twice", "/api/v1/results/compare?ids=checkout-1,checkout-2,checkout-1", 400, `run "checkout-1" is listed twice`},
	{"compare an unknown run", "/api/v1/results/compare?ids=checkout-1,nope", 404, `run "nope": no such run`},
	{"compare with another parameter", "/api/v1/results/compare?ids=checkout-1,checkout-2&base=checkout-2", 400, `unknown parameter "base"`},
}

func manyIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%d", i)
	}
	return strings.Join(ids, ",")
}

func TestResultsAPIErrors(t *testing.T) {
	srv := newServer(t, openHistory(t, apiRuns...))
	for _, tc := range apiErrors {
		t.Run(tc.name, func(t *testing.T) {
			status, body, header := get(t, srv.URL+tc.path)
			if status != tc.status {
				t.Errorf("status %d, want %d: %s", status, tc.status, body)
			}
			if ct := header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body is not {\"error\": ...}: %s", body)
			}
			if !strings.Contains(e.Error, tc.reason) {
				t.Errorf("error %q does not say %q", e.Error, tc.reason)
			}
		})
	}
}

func TestGetResult(t *testing.T) {
	srv := newServer(t, openHistory(t, apiRuns...))
	for _, query := range []string{"", "?format=json"} {
		status, body, _ := get(t, srv.URL+"/api/v1/results/checkout-2"+query)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", query, status, body)
		}
		got := new(result.Document)
		if err := json.Unmarshal(body, got); err != nil {
			t.Fatal(err)
		}
		want := apiRuns[1].doc()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s: the API changed the document:\n got %s\nwant %s", query, g, w)
		}
	}
}

// TestGetResultFortio checks ?format=fortio is what fortio reads: its own
// result type decodes it (RetCodes keyed by integer status), and our
// additions are left out.
func TestGetResultFortio(t *testing.T) {
	srv := newServer(t, openHistory(t, apiRuns...))
	status, body, _ := get(t, srv.URL+"/api/v1/results/checkout-2?format=fortio")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["PerfExporter"]; ok {
		t.Error("the fortio shape holds PerfExporter")
	}
	var fortio fhttp.HTTPRunnerResults
	if err := json.Unmarshal(body, &fortio); err != nil {
		t.Fatalf("fortio cannot read it: %v", err)
	}
	want := map[int]int64{200: 2990, 503: 9, -1: 1}
	if !reflect.DeepEqual(fortio.RetCodes, want) {
		t.Errorf("RetCodes %v, want %v", fortio.RetCodes, want)
	}
	doc := apiRuns[1].doc()
	if fortio.DurationHistogram == nil || fortio.DurationHistogram.Count != 3000 || len(fortio.DurationHistogram.Percentiles) != 5 {
		t.Errorf("DurationHistogram %+v, want 3000 requests and 5 percentiles", fortio.DurationHistogram)
	}
	if fortio.ActualQPS != doc.ActualQPS || !fortio.StartTime.Equal(doc.StartTime) || fortio.Labels != "checkout" {
		t.Errorf("ActualQPS %v, StartTime %v, Labels %q: not the run's", fortio.ActualQPS, fortio.StartTime, fortio.Labels)
	}
}

func TestCompareResults(t *testing.T) {
	srv := newServer(t, openHistory(t, apiRuns...))
	// The failed run measured no latency; the form's way of listing ids
	// (ids=a&ids=b) works too.
	for _, query := range []string{"ids=checkout-2,checkout-4,checkout-3", "ids=checkout-2&ids=checkout-4&ids=checkout-3", "ids=checkout-2,%20checkout-4&ids=checkout-3"} {
		status, body, _ := get(t, srv.URL+"/api/v1/results/compare?"+query)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", query, status, body)
		}
		var c Comparison
		if err := json.Unmarshal(body, &c); err != nil {
			t.Fatal(err)
		}
		if c.Base != "checkout-2" || len(c.Runs) != 3 || c.Runs[1].RunID != "checkout-4" || c.Runs[2].RunID != "checkout-3" {
			t.Fatalf("%s: base %q, runs %v: not in the order asked", query, c.Base, c.Runs)
		}
		base, other := apiRuns[1].doc(), apiRuns[4].doc()
		rows := map[string]ComparedValue{}
		var order []string
		for _, v := range c.Values {
			key := v.Metric + "/" + v.Percentile + v.Set + "/" + v.Name
			rows[key] = v
			order = append(order, key)
		}
		wantOrder := []string{
			"latency_seconds/50/", "latency_seconds/75/", "latency_seconds/90/", "latency_seconds/99/", "latency_seconds/99.9/",
			"achieved_rps//", "error_ratio//", "environment_value/nodes/cpu_busy", "environment_value/nodes/load1",
		}
		if !reflect.DeepEqual(order, wantOrder) {
			t.Fatalf("rows %v, want %v", order, wantOrder)
		}
		p99a, _ := documentPercentile(base, 99)
		p99b, _ := documentPercentile(other, 99)
		checkRow(t, rows["latency_seconds/99/"], []*float64{&p99a, &p99b, nil}, []*float64{new(0.0), new((p99b - p99a) / p99a), nil})
		checkRow(t, rows["achieved_rps//"], []*float64{&base.ActualQPS, &other.ActualQPS, new(0.0)}, []*float64{new(0.0), new(1.5/2 - 1), new(-1.0)})
		checkRow(t, rows["environment_value/nodes/cpu_busy"], []*float64{new(0.5), new(0.6), nil}, []*float64{new(0.0), new(0.2), nil})
		// A value the base run lacks has no change to show.
		checkRow(t, rows["environment_value/nodes/load1"], []*float64{nil, new(2.0), nil}, []*float64{nil, nil, nil})
	}
}

func checkRow(t *testing.T, row ComparedValue, values, change []*float64) {
	t.Helper()
	same := func(got, want []*float64) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if (got[i] == nil) != (want[i] == nil) || got[i] != nil && math.Abs(*got[i]-*want[i]) > 1e-9 {
				return false
			}
		}
		return true
	}
	show := func(vs []*float64) string {
		var s []string
		for _, v := range vs {
			if v == nil {
				s = append(s, "null")
			} else {
				s = append(s, fmt.Sprint(*v))
			}
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	if !same(row.Values, values) {
		t.Errorf("%s %s%s%s: values %s, want %s", row.Metric, row.Percentile, row.Set, row.Name, show(row.Values), show(values))
	}
	if !same(row.Change, change) {
		t.Errorf("%s %s%s%s: change %s, want %s", row.Metric, row.Percentile, row.Set, row.Name, show(row.Change), show(change))
	}
}

func TestRelativeChange(t *testing.T) {
	for _, tc := range []struct {
		base, x *float64
		want    *float64
	}{
		{new(2.0), new(3.0), new(0.5)},
		{new(2.0), new(1.0), new(-0.5)},
		{new(0.0), new(0.0), new(0.0)},
		{new(0.0), new(1.0), nil}, // infinitely more: no number
		{nil, new(1.0), nil},
		{new(1.0), nil, nil},
	} {
		got := relativeChange(tc.base, tc.x)
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("relativeChange(%v, %v) = %v, want %v", tc.base, tc.x, got, tc.want)
		}
	}
}

// TestCompareFromZero: against a base of 0, an equal value is a change of
// 0 (no change), any other value has no relative change (null), as the
// README says.
func TestCompareFromZero(t *testing.T) {
	srv := newServer(t, openHistory(t,
		testRun{id: "down-1", profile: "checkout", start: t0, outcome: result.OutcomeFailure},
		testRun{id: "down-2", profile: "checkout", start: t0.Add(time.Hour), outcome: result.OutcomeFailure},
		testRun{id: "up-1", profile: "checkout", start: t0.Add(2 * time.Hour)},
	))
	status, body, _ := get(t, srv.URL+"/api/v1/results/compare?ids=down-1,down-2,up-1")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var c Comparison
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	for _, row := range c.Values {
		if row.Metric == "achieved_rps" {
			up := 99.9
			checkRow(t, row, []*float64{new(0.0), new(0.0), &up}, []*float64{new(0.0), new(0.0), nil})
			return
		}
	}
	t.Fatalf("no achieved_rps row: %s", body)
}
