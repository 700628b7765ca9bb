package dashboards

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-openapi-client-go/client/annotations"
	"github.com/grafana/grafana-openapi-client-go/models"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// Annotation tags. Every annotation carries TagRuns; a board shows them
// with a Grafana annotation query filtered by that tag.
const (
	TagRuns        = "perf-exporter"
	TagChangePoint = "change-point"
)

// Results of perf_grafana_annotations_total.
const (
	AnnotationSent    = "sent"
	AnnotationFailed  = "failed"
	AnnotationDropped = "dropped"
)

// AnnotatorOptions tune an Annotator; the zero value is the defaults.
type AnnotatorOptions struct {
	// QueueSize bounds the annotations waiting to be sent (default 256):
	// beyond it new ones are dropped and counted, so a Grafana that is
	// down costs a bounded amount of memory.
	QueueSize int
	// Attempts is how often an annotation is tried when Grafana answers
	// 5xx or not in time (default 5); a 4xx is final.
	Attempts int
	// Backoff is the wait before the second attempt, doubled after each
	// up to a minute (default 1s).
	Backoff time.Duration
	// Timeout bounds each request (default 10s).
	Timeout time.Duration
	// Transport is passed to the Grafana client (tests).
	Transport http.RoundTripper
}

// ChangePoint is a change point to mark on the boards (see
// Annotator.AnnotateChangePoint).
type ChangePoint struct {
	Profile   string
	Metric    string // latency_p99 ...
	Direction string // regression or improvement
	RunID     string // the first run of the new level
	Time      time.Time
	Before    float64
	After     float64
}

// annotation is one annotation to send to one board (or the org).
type annotation struct {
	dashboardUID string
	start, end   time.Time
	text         string
	tags         []string
}

// key identifies an annotation across sends: the board, its first tags
// (perf-exporter, the profile, change-point) and its start. Sending the
// same run again patches what is there.
func (a annotation) key() string {
	kind := "run"
	if len(a.tags) > 2 && a.tags[2] == TagChangePoint {
		kind = TagChangePoint + "\x00" + strings.Join(a.tags[3:], "\x00")
	}
	return a.dashboardUID + "\x00" + a.tags[1] + "\x00" + kind + "\x00" + strconv.FormatInt(a.start.UnixMilli(), 10)
}

// rememberedIDs bounds the ids kept for patching; older annotations are
// found again by a query.
const rememberedIDs = 1024

// Annotator marks every run, and change points, on Grafana boards as
// annotations: region annotations from a run's start to its end, tagged
// perf-exporter, profile:<name> and outcome:<outcome>, with a short
// summary and a link to the run's page. It never delays or fails a run:
// RunFinished only queues (a full queue drops and counts), and one
// goroutine (Run) sends with retries and back-off. It is configured by
// ApplyConfig and survives reloads.
type Annotator struct {
	opts   AnnotatorOptions
	logger *slog.Logger
	total  *prometheus.CounterVec
	queue  chan annotation

	mu         sync.Mutex
	client     *Client // nil while disabled
	dashboards []string
	external   string
	ids        map[string]int64
	order      []string // keys of ids, oldest first
}

// NewAnnotator makes an Annotator, disabled until ApplyConfig enables it.
// It registers perf_grafana_annotations_total on reg (when not nil).
func NewAnnotator(reg prometheus.Registerer, logger *slog.Logger, opts AnnotatorOptions) *Annotator {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 256
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Annotator{
		opts: opts, logger: logger, queue: make(chan annotation, opts.QueueSize), ids: map[string]int64{},
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "perf_grafana_annotations_total",
			Help: "Annotations of runs and change points for Grafana: sent (created or patched), failed (Grafana refused them or did not answer after the retries), dropped (the queue was full).",
		}, []string{"result"}),
	}
	for _, r := range []string{AnnotationSent, AnnotationFailed, AnnotationDropped} {
		a.total.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(a.total)
	}
	return a
}

// ApplyConfig enables, reconfigures or disables the annotations from the
// grafana section (disabled without grafana.annotations.enabled).
// Credentials are read now; an error leaves annotations disabled.
func (a *Annotator) ApplyConfig(g *config.Grafana, getenv func(string) string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.client = nil
	if g == nil || g.Annotations == nil || !g.Annotations.Enabled {
		return nil
	}
	opts, err := OptionsFromConfig(g, getenv)
	if err != nil {
		return fmt.Errorf("grafana.annotations: %w", err)
	}
	// Our own retries: the client's would hold the queue for each attempt
	// without counting.
	opts.Attempts, opts.Timeout, opts.Transport = 1, a.opts.Timeout, a.opts.Transport
	client, err := NewClient(opts, a.logger)
	if err != nil {
		return fmt.Errorf("grafana.annotations: %w", err)
	}
	a.client = client
	a.dashboards = append([]string(nil), g.Annotations.Dashboards...)
	a.external = strings.TrimSuffix(g.Annotations.ExternalURL, "/")
	return nil
}

// RunFinished queues the annotations of a finished run. It never blocks.
func (a *Annotator) RunFinished(doc *result.Document) {
	if doc == nil {
		return
	}
	p := doc.PerfExporter
	a.enqueue(doc.StartTime, doc.StartTime.Add(doc.ActualDuration), a.runText(doc),
		[]string{TagRuns, "profile:" + p.Profile, "outcome:" + p.Outcome})
}

// AnnotateChangePoint queues the annotation of a change point: at the
// first run of the new level, tagged perf-exporter, profile:<name>,
// change-point, metric:<metric> and the direction. It never blocks.
func (a *Annotator) AnnotateChangePoint(cp ChangePoint) {
	text := fmt.Sprintf("%s: %s change point of %s, %s → %s", cp.Profile, cp.Direction, cp.Metric, formatFloat(cp.Before), formatFloat(cp.After))
	if cp.Before != 0 {
		text += fmt.Sprintf(" (×%.2f)", cp.After/cp.Before)
	}
	text = html.EscapeString(text) + a.runLink(cp.RunID)
	a.enqueue(cp.Time, cp.Time, text, []string{TagRuns, "profile:" + cp.Profile, TagChangePoint, "metric:" + cp.Metric, cp.Direction})
}

func (a *Annotator) enqueue(start, end time.Time, text string, tags []string) {
	a.mu.Lock()
	enabled, dashboards := a.client != nil, a.dashboards
	a.mu.Unlock()
	if !enabled {
		return
	}
	targets := dashboards
	if len(targets) == 0 {
		targets = []string{""} // an organization annotation
	}
	for _, uid := range targets {
		select {
		case a.queue <- annotation{dashboardUID: uid, start: start, end: end, text: text, tags: tags}:
		default:
			a.total.WithLabelValues(AnnotationDropped).Inc()
			a.logger.Warn("Grafana annotation dropped: the queue is full (is Grafana answering?)", "tags", strings.Join(tags, ","), "queue", cap(a.queue))
		}
	}
}

// Run sends the queued annotations until ctx ends.
func (a *Annotator) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case an := <-a.queue:
			a.deliver(ctx, an)
		}
	}
}

// deliver sends one annotation with retries and back-off.
func (a *Annotator) deliver(ctx context.Context, an annotation) {
	wait := a.opts.Backoff
	for attempt := 1; ; attempt++ {
		a.mu.Lock()
		client := a.client
		a.mu.Unlock()
		if client == nil {
			return // disabled by a reload meanwhile
		}
		err := a.send(ctx, client, an)
		if err == nil {
			a.total.WithLabelValues(AnnotationSent).Inc()
			return
		}
		if ctx.Err() != nil {
			return
		}
		if attempt >= a.opts.Attempts || !retryable(err) {
			a.total.WithLabelValues(AnnotationFailed).Inc()
			a.logger.Warn("Grafana annotation failed", "tags", strings.Join(an.tags, ","), "dashboard", an.dashboardUID, "attempts", attempt, "err", err)
			return
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		wait = min(2*wait, time.Minute)
	}
}

// retryable: Grafana failed (5xx, 429) or did not answer; a 4xx other
// than 429 would be refused again.
func retryable(err error) bool {
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Status >= 500 || apiErr.Status == http.StatusTooManyRequests
	}
	return true
}

// send creates the annotation, or patches it when it exists already: known
// by its id from an earlier send, or found by a query (a send whose answer
// was lost, or one before a restart).
func (a *Annotator) send(ctx context.Context, c *Client, an annotation) error {
	key := an.key()
	a.mu.Lock()
	id, known := a.ids[key]
	a.mu.Unlock()
	if !known {
		found, err := a.find(ctx, c, an)
		if err != nil {
			return err
		}
		id, known = found, found != 0
	}
	if known {
		err := a.patch(ctx, c, id, an)
		if !IsStatus(err, http.StatusNotFound) {
			if err == nil {
				a.remember(key, id)
			}
			return err
		}
		// Deleted in Grafana since: create it again.
	}
	op := "adding an annotation"
	text := an.text
	body := &models.PostAnnotationsCmd{DashboardUID: an.dashboardUID, Time: an.start.UnixMilli(), TimeEnd: an.end.UnixMilli(), Tags: an.tags, Text: &text}
	params := annotations.NewPostAnnotationParamsWithTimeout(noCallDeadline).WithBody(body)
	ok, err := c.api.Annotations.PostAnnotationWithParams(params, call(ctx, op))
	if err != nil {
		return opError(op, err)
	}
	if ok.Payload != nil && ok.Payload.ID != nil {
		a.remember(key, *ok.Payload.ID)
	}
	return nil
}

func (a *Annotator) patch(ctx context.Context, c *Client, id int64, an annotation) error {
	op := fmt.Sprintf("patching annotation %d", id)
	body := &models.PatchAnnotationsCmd{Time: an.start.UnixMilli(), TimeEnd: an.end.UnixMilli(), Tags: an.tags, Text: an.text}
	params := annotations.NewPatchAnnotationParamsWithTimeout(noCallDeadline).WithAnnotationID(strconv.FormatInt(id, 10)).WithBody(body)
	if _, err := c.api.Annotations.PatchAnnotationWithParams(params, call(ctx, op)); err != nil {
		return opError(op, err)
	}
	return nil
}

// find looks for the annotation among those of its board (or the org),
// profile and start; 0 when there is none.
func (a *Annotator) find(ctx context.Context, c *Client, an annotation) (int64, error) {
	op := "finding annotations"
	from, to := an.start.UnixMilli(), an.end.UnixMilli()
	limit := int64(100)
	params := annotations.NewGetAnnotationsParamsWithTimeout(noCallDeadline).WithFrom(&from).WithTo(&to).WithTags(an.tags[:2]).WithLimit(&limit)
	if an.dashboardUID != "" {
		params = params.WithDashboardUID(&an.dashboardUID)
	}
	ok, err := c.api.Annotations.GetAnnotations(params, call(ctx, op))
	if err != nil {
		return 0, opError(op, err)
	}
	for _, found := range ok.Payload {
		if found == nil || found.Time != from || found.DashboardUID != an.dashboardUID {
			continue
		}
		candidate := annotation{dashboardUID: found.DashboardUID, start: an.start, tags: found.Tags}
		if len(found.Tags) >= 2 && candidate.key() == an.key() {
			return found.ID, nil
		}
	}
	return 0, nil
}

func (a *Annotator) remember(key string, id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.ids[key]; !ok {
		a.order = append(a.order, key)
	}
	a.ids[key] = id
	for len(a.order) > rememberedIDs {
		delete(a.ids, a.order[0])
		a.order = a.order[1:]
	}
}

// runText is a run's annotation text: profile, outcome, p50 / p99,
// achieved rate, error ratio, and the link to its page.
func (a *Annotator) runText(doc *result.Document) string {
	p := doc.PerfExporter
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", p.Profile, p.Outcome)
	if p.Error != "" {
		fmt.Fprintf(&b, " (%s)", p.Error)
	}
	if p50, ok := result.PercentileOf(doc.DurationHistogram, 50); ok {
		fmt.Fprintf(&b, ", p50 %s", formatSeconds(p50))
	}
	if p99, ok := result.PercentileOf(doc.DurationHistogram, 99); ok {
		fmt.Fprintf(&b, ", p99 %s", formatSeconds(p99))
	}
	fmt.Fprintf(&b, ", %.1f req/s, %.2f%% errors", doc.ActualQPS, 100*p.ErrorRatio)
	return html.EscapeString(b.String()) + a.runLink(p.RunID)
}

// runLink is an HTML link to a run's page (Grafana renders annotation
// text as sanitised HTML), or "" without an external URL.
func (a *Annotator) runLink(runID string) string {
	a.mu.Lock()
	external := a.external
	a.mu.Unlock()
	if external == "" || runID == "" {
		return ""
	}
	u := external + "/runs/" + runID
	return fmt.Sprintf(` <a href="%s">run %s</a>`, html.EscapeString(u), html.EscapeString(runID))
}

func formatSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// RunAnnotationQuery is the annotation query that shows the annotations of
// runs and change points on a board: Grafana's own datasource, filtered
// by the tag every one carries. The bundled boards have it.
func RunAnnotationQuery() map[string]any {
	return map[string]any{
		"datasource": map[string]any{"type": "grafana", "uid": "-- Grafana --"},
		"enable":     true,
		"hide":       false,
		"iconColor":  "rgba(138, 184, 255, 0.5)",
		"name":       "perf-exporter annotations",
		"target":     map[string]any{"type": "tags", "tags": []any{TagRuns}, "matchAny": false, "limit": float64(100)},
	}
}

// AddRunAnnotations adds RunAnnotationQuery to a board's annotation list,
// unless a query of the tag is there already; it says whether it added it.
func (b *Board) AddRunAnnotations() bool {
	annotations, _ := b.Model["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
		b.Model["annotations"] = annotations
	}
	list, _ := annotations["list"].([]any)
	for _, a := range list {
		m, _ := a.(map[string]any)
		target, _ := m["target"].(map[string]any)
		tags, _ := target["tags"].([]any)
		if target["type"] == "tags" && len(tags) == 1 && tags[0] == TagRuns {
			return false
		}
	}
	annotations["list"] = append(list, RunAnnotationQuery())
	return true
}
