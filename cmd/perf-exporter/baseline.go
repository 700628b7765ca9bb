package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/perf-exporter/perf-exporter/changepoint"
	"github.com/perf-exporter/perf-exporter/regression"
	"github.com/perf-exporter/perf-exporter/result"
)

// baselineTimeout bounds reading a daemon's history.
const baselineTimeout = 60 * time.Second

// baselineRuns are the runs --baseline judges a run against: the accepted
// level of the baseline's history, newest Window runs at most.
type baselineRuns struct {
	ref       string
	runs      []changepoint.Run
	params    changepoint.Params
	tolerance float64
}

// loadBaseline reads --baseline before the run, so a wrong reference is
// found before minutes of load; nil without the flag.
func (c *ciFlags) loadBaseline(ctx context.Context, profile string, client *http.Client) (*baselineRuns, error) {
	if c.baseline == "" {
		return nil, nil
	}
	tolerance, err := parseTolerance(c.tolerance)
	if err != nil {
		return nil, err
	}
	b := &baselineRuns{ref: c.baseline, params: changepoint.DefaultParams(), tolerance: tolerance}
	if strings.HasPrefix(c.baseline, "http://") || strings.HasPrefix(c.baseline, "https://") {
		ctx, cancel := context.WithTimeout(ctx, baselineTimeout)
		defer cancel()
		b.runs, err = daemonBaseline(ctx, client, c.baseline, b.params.Window)
	} else {
		b.runs, err = fileBaseline(ctx, c.baseline, profile, b.params.Window)
	}
	if err != nil {
		return nil, fmt.Errorf("--baseline %s: %w", c.baseline, err)
	}
	counting := 0
	for _, r := range b.runs {
		if r.Counts {
			counting++
		}
	}
	if counting == 0 {
		return nil, fmt.Errorf("--baseline %s: no completed run to compare with", c.baseline)
	}
	return b, nil
}

// judge compares a run with the baseline, metric by metric.
func (b *baselineRuns) judge(doc *result.Document) []result.Comparison {
	if b == nil {
		return nil
	}
	var out []result.Comparison
	for _, j := range changepoint.JudgeRun(b.params, b.tolerance, b.runs, changepoint.RunFromDocument(doc)) {
		c := result.Comparison{Metric: j.Metric, Baseline: j.Baseline, Runs: j.Runs, Measured: j.Value,
			Ratio: j.Ratio(), PValue: j.PValue, Method: "t-test", Regression: j.Regression}
		if j.Tolerance {
			c.Method, c.PValue = "tolerance", 0
		}
		out = append(out, c)
	}
	return out
}

// fileBaseline reads a result document, or a folder of them (a history
// kept as CI artefacts: only the runs of this profile count there).
func fileBaseline(ctx context.Context, path, profile string, window int) ([]changepoint.Run, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	loaded, err := loadResults(ctx, path)
	if err != nil {
		return nil, err
	}
	var runs []changepoint.Run
	found := map[string]bool{}
	for _, l := range loaded {
		found[l.profile] = true
		if !info.IsDir() || l.profile == profile {
			runs = append(runs, l.run)
		}
	}
	if len(runs) == 0 {
		names := make([]string, 0, len(found))
		for n := range found {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil, errors.New("no result documents (*.json) in the folder")
		}
		return nil, fmt.Errorf("no runs of profile %q (the folder has %s; set --profile)", profile, strings.Join(names, ", "))
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Time.Before(runs[j].Time) })
	h := changepoint.NewHistory(changepoint.DefaultParams())
	for _, r := range runs {
		h.Add(r)
	}
	var changes []levelChange
	for _, cp := range h.Changes() {
		changes = append(changes, levelChange{time: cp.Time, open: cp.Status == changepoint.StatusOpen})
	}
	return acceptedLevel(runs, changes, window), nil
}

// levelChange is what acceptedLevel needs of a change point.
type levelChange struct {
	time time.Time
	open bool
}

// acceptedLevel keeps the runs (in time order) of the current accepted
// level, as the daemon's baseline does: from the last change point that is
// not an open regression, up to the first open regression after it (an
// open regression is never a baseline), the newest window runs of them.
func acceptedLevel(runs []changepoint.Run, changes []levelChange, window int) []changepoint.Run {
	var start, end time.Time
	for _, c := range changes {
		if !c.open && c.time.After(start) {
			start = c.time
		}
	}
	for _, c := range changes {
		if c.open && !c.time.Before(start) && (end.IsZero() || c.time.Before(end)) {
			end = c.time
		}
	}
	var out []changepoint.Run
	for _, r := range runs {
		if !r.Time.Before(start) && (end.IsZero() || r.Time.Before(end)) {
			out = append(out, r)
		}
	}
	if len(out) > window {
		out = out[len(out)-window:]
	}
	return out
}

// daemonBaseline reads a profile's recent runs and change points from a
// perf-exporter daemon's API: ref is http://host:port/profiles/NAME (a
// path prefix before /profiles is kept, for a daemon behind a proxy).
func daemonBaseline(ctx context.Context, client *http.Client, ref string, window int) ([]changepoint.Run, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return nil, err
	}
	prefix, name, ok := strings.Cut(u.Path, "/profiles/")
	if !ok || name == "" || strings.Contains(name, "/") || u.RawQuery != "" {
		return nil, errors.New("a daemon baseline is http://host:port/profiles/NAME")
	}
	base := u.Scheme + "://" + u.Host + prefix
	var list struct {
		Results []struct {
			RunID string `json:"run_id"`
		} `json:"results"`
	}
	// Twice the window: failed runs are listed too, and do not count.
	q := url.Values{"profile": {name}, "limit": {fmt.Sprint(2 * window)}}
	if err := getJSON(ctx, client, base+"/api/v1/results?"+q.Encode(), &list); err != nil {
		return nil, err
	}
	if len(list.Results) == 0 {
		return nil, fmt.Errorf("the daemon has no runs of profile %q", name)
	}
	var runs []changepoint.Run
	for _, r := range list.Results {
		var doc result.Document
		if err := getJSON(ctx, client, base+"/api/v1/results/"+url.PathEscape(r.RunID), &doc); err != nil {
			return nil, err
		}
		runs = append(runs, changepoint.RunFromDocument(&doc))
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Time.Before(runs[j].Time) })
	var changes struct {
		Changes []regression.Change `json:"changes"`
	}
	var changeList []levelChange
	err = getJSON(ctx, client, base+"/api/v1/profiles/"+url.PathEscape(name)+"/changes", &changes)
	var status statusError
	switch {
	case errors.As(err, &status) && status.code == http.StatusNotFound:
		// A daemon without change points: its recent runs are the level.
	case err != nil:
		return nil, err
	}
	for _, c := range changes.Changes {
		changeList = append(changeList, levelChange{time: c.Time, open: c.Status == changepoint.StatusOpen})
	}
	return acceptedLevel(runs, changeList, window), nil
}

// statusError is an HTTP answer other than 200.
type statusError struct {
	url    string
	code   int
	status string
	body   string
}

func (e statusError) Error() string {
	return fmt.Sprintf("GET %s: %s: %s", e.url, e.status, e.body)
}

func getJSON(ctx context.Context, client *http.Client, rawURL string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return statusError{url: rawURL, code: resp.StatusCode, status: resp.Status, body: firstLine(string(body))}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResultFile)).Decode(into); err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	return nil
}

// firstLine keeps an error message on one line.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
