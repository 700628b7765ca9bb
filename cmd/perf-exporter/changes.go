package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/perf-exporter/perf-exporter/regression"
)

// changesCommands list and accept a running daemon's change points through
// its API: the daemon holds the store's lock, so the CLI asks it.
func changesCommands(app *kingpin.Application) []command {
	changes := app.Command("changes", "List or accept the change points of a running perf-exporter.")
	list := changes.Command("list", "List a profile's change points.")
	listURL := list.Flag("url", "The perf-exporter's address.").Default("http://127.0.0.1:9479").String()
	listProfile := list.Arg("profile", "Profile name.").Required().String()
	accept := changes.Command("accept", "Accept the new level a regression started: it becomes the baseline and the regression is closed.")
	acceptURL := accept.Flag("url", "The perf-exporter's address.").Default("http://127.0.0.1:9479").String()
	acceptProfile := accept.Arg("profile", "Profile name.").Required().String()
	acceptID := accept.Arg("id", "The change point's id (metric@run id), as listed.").Required().String()
	return []command{
		{clause: list, run: func(ctx context.Context, _ *slog.Logger) int {
			return changesCall(ctx, os.Stdout, http.MethodGet, *listURL, *listProfile, "")
		}},
		{clause: accept, run: func(ctx context.Context, _ *slog.Logger) int {
			return changesCall(ctx, os.Stdout, http.MethodPost, *acceptURL, *acceptProfile, *acceptID)
		}},
	}
}

// changesCall lists (id "") or accepts a change point and prints the
// result as text; 0 on success, 1 otherwise.
func changesCall(ctx context.Context, out io.Writer, method, base, profile, id string) int {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		fmt.Fprintf(os.Stderr, "perf-exporter changes: --url %q must be an absolute http:// or https:// URL\n", base)
		return 1
	}
	path := "/api/v1/profiles/" + url.PathEscape(profile) + "/changes"
	if id != "" {
		path += "/" + url.PathEscape(id) + "/accept"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String()+path, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter changes: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter changes: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		fmt.Fprintf(os.Stderr, "perf-exporter changes: reading the answer: %v\n", err)
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		fmt.Fprintf(os.Stderr, "perf-exporter changes: %s %s: %s: %s\n", method, path, resp.Status, e.Error)
		return 1
	}
	var changes []regression.Change
	if id != "" {
		var c regression.Change
		if err := json.Unmarshal(body, &c); err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter changes: %v\n", err)
			return 1
		}
		changes = []regression.Change{c}
	} else {
		var v struct{ Changes []regression.Change }
		if err := json.Unmarshal(body, &v); err != nil {
			fmt.Fprintf(os.Stderr, "perf-exporter changes: %v\n", err)
			return 1
		}
		changes = v.Changes
	}
	for _, c := range changes {
		fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s -> %s (%s)\tp=%.2g\n", c.ID, c.Time.UTC().Format(time.RFC3339), c.Direction, c.Status,
			formatLevel(c.Metric, c.Before), formatLevel(c.Metric, c.After), formatRatio(c.Ratio), c.PValue)
	}
	return 0
}
