package config

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// BuiltinEnvironmentSets are the query sets shipped by the environment
// package; profiles may name them without defining them.
var BuiltinEnvironmentSets = []string{"nodes", "kubernetes", "istio", "linkerd"}

// MaxNameLength bounds every name that becomes a label value or part of a
// stored key (profiles, prometheus sources, environment sets and queries):
// generous for people, short enough for bbolt keys (32 KiB) and for labels
// that boards and alerts can show.
const MaxNameLength = 128

// MinDuration is the shortest run: a shorter one ends before the
// connections have sent anything (1ns sends no request at all).
const MinDuration = 10 * time.Millisecond

var (
	profileName = regexp.MustCompile(`^[a-z0-9_-]+$`)
	headerName  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	methodName  = regexp.MustCompile(`^[A-Z]+$`)
)

// ValidProfileName tells whether name can be a profile's name (and so its
// profile label): [a-z0-9_-]+.
func ValidProfileName(name string) bool { return profileName.MatchString(name) }

// validator collects every problem with the line it comes from.
type validator struct {
	file string
	root *yaml.Node
	errs Errors
	// origins are the sets read from environment set files.
	origins map[string]setOrigin
}

// errorf records a problem at the YAML node the path leads to (or the
// deepest node of it that exists).
func (v *validator) errorf(path []any, format string, args ...any) {
	file, line := v.where(path)
	v.errs = append(v.errs, Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// lineOf walks mapping keys (string) and sequence indexes (int).
func lineOf(n *yaml.Node, path []any) int {
	line := 0
	if n != nil {
		line = n.Line
	}
	for _, step := range path {
		if n == nil {
			break
		}
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						line = n.Content[i].Line
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
				line = next.Line
			}
		}
		n = next
	}
	return line
}

func path(p ...any) []any { return p }

func (v *validator) config(c *Config) {
	v.global(&c.Global)
	v.environment(c)
	v.environmentQueries(c)
	v.environmentAggregates(c)
	sources := map[string]bool{}
	for i, s := range c.Prometheus {
		at := path("prometheus", i)
		switch {
		case s.Name == "":
			v.errorf(at, "prometheus source has no name")
		case len(s.Name) > MaxNameLength:
			v.errorf(append(at, "name"), "prometheus source name %s is %d characters long, more than %d (it becomes the prometheus label)", shorten(s.Name), len(s.Name), MaxNameLength)
		case sources[s.Name]:
			v.errorf(append(at, "name"), "prometheus source %q is defined twice", s.Name)
		}
		sources[s.Name] = true
		v.httpURL(append(at, "url"), fmt.Sprintf("prometheus source %q: url", s.Name), s.URL)
	}
	if c.Grafana != nil {
		v.grafana(c.Grafana)
	}
	for name, queries := range c.EnvironmentSets {
		if len(name) > MaxNameLength {
			v.errorf(path("environment_sets", name), "environment set name %s is %d characters long, more than %d (it becomes the set label)", shorten(name), len(name), MaxNameLength)
		}
		for i, q := range queries {
			at := path("environment_sets", name, i)
			if q.Name == "" || q.Query == "" {
				v.errorf(at, "environment set %q: query %d needs both name and query", name, i+1)
			}
			if len(q.Name) > MaxNameLength {
				v.errorf(append(at, "name"), "environment set %s: query name %s is %d characters long, more than %d (it becomes the name label)", shorten(name), shorten(q.Name), len(q.Name), MaxNameLength)
			}
			if q.Prometheus != "" && !sources[q.Prometheus] {
				v.errorf(append(at, "prometheus"), "environment set %q: query %q: unknown prometheus source %q", name, q.Name, q.Prometheus)
			}
		}
	}
	names := map[string]bool{}
	for i := range c.Profiles {
		p := &c.Profiles[i]
		at := path("profiles", i)
		if names[p.Name] {
			v.errorf(append(at, "name"), "profile %q is defined twice (names must be unique: they are the profile label)", p.Name)
		}
		names[p.Name] = true
		v.profile(at, p, c)
	}
}

func (v *validator) global(g *Global) {
	at := path("global")
	if g.MaxConcurrentRuns < 1 {
		v.errorf(append(at, "max_concurrent_runs"), "global.max_concurrent_runs must be at least 1, got %d", g.MaxConcurrentRuns)
	}
	switch {
	case !finite(g.Limits.MaxQPS):
		v.errorf(append(at, "limits", "max_qps"), "global.limits.max_qps must be a finite number, got %g", g.Limits.MaxQPS)
	case g.Limits.MaxQPS < 0:
		v.errorf(append(at, "limits", "max_qps"), "global.limits.max_qps must not be negative")
	}
	if g.Limits.MaxConnections < 0 {
		v.errorf(append(at, "limits", "max_connections"), "global.limits.max_connections must not be negative")
	}
	v.nonNegative(append(at, "limits", "max_duration"), "global.limits.max_duration", g.Limits.MaxDuration)
	v.nonNegative(append(at, "start_jitter"), "global.start_jitter", g.StartJitter)
	v.nonNegative(append(at, "retention", "max_age"), "global.retention.max_age", g.Retention.MaxAge)
	if g.Retention.MaxRuns < 0 {
		v.errorf(append(at, "retention", "max_runs"), "global.retention.max_runs must not be negative")
	}
	if g.BaselineRuns < 1 {
		v.errorf(append(at, "baseline_runs"), "global.baseline_runs must be at least 1")
	}
	v.regressions(append(at, "regressions"), "global.regressions", &g.Regressions)
}

func (v *validator) profile(at []any, p *Profile, c *Config) {
	ctx := fmt.Sprintf("profile %q", p.Name)
	switch {
	case len(p.Name) > MaxNameLength:
		v.errorf(append(at, "name"), "profile name %s is %d characters long, more than %d (it becomes the profile label and the key of its run history)", shorten(p.Name), len(p.Name), MaxNameLength)
		ctx = "profile " + shorten(p.Name)
	case !profileName.MatchString(p.Name):
		v.errorf(append(at, "name"), "profile name %q must match [a-z0-9_-]+ (it becomes the profile label)", p.Name)
	}
	if p.Schedule == "" {
		v.errorf(at, "%s: schedule is required (cron or @every 10m)", ctx)
	} else if err := checkSchedule(p.Schedule); err != nil {
		v.errorf(append(at, "schedule"), "%s: schedule %q: %v", ctx, p.Schedule, err)
	} else if age, jitter := p.MaxSuccessAge.D(), c.Global.StartJitter.D(); age > 0 || jitter > 0 {
		gap, err := ScheduleInterval(p.Schedule)
		// A success can only be as recent as the last run: an age within
		// the schedule's longest gap alerts between healthy runs.
		if err == nil && age > 0 && age <= gap {
			v.errorf(append(at, "max_success_age"), "%s: max_success_age %s is not longer than the longest time between two runs of its schedule, %s: PerfNoRecentSuccess would fire between healthy runs; leave it out (three intervals) or set more than %s",
				ctx, age, gap, gap)
		}
		// The longest gap is the period of @every; for a cron schedule
		// with uneven gaps this catches only the hopeless cases.
		if err == nil && jitter >= gap {
			v.errorf(append(at, "schedule"), "%s: global.start_jitter %s is not shorter than its schedule's period, %s: runs would start after their next tick, which is then skipped; lower global.start_jitter",
				ctx, jitter, gap)
		}
	}
	switch p.Engine {
	case EngineFortio, EngineWrk, EngineWrk2, EngineNighthawk:
	default:
		v.errorf(append(at, "engine"), "%s: unknown engine %q (fortio, wrk, wrk2 or nighthawk)", ctx, p.Engine)
	}
	v.nonNegative(append(at, "max_success_age"), ctx+": max_success_age", p.MaxSuccessAge)
	v.target(append(at, "target"), ctx, p)
	v.load(append(at, "load"), ctx, p, &c.Global.Limits)
	v.slo(append(at, "slo"), ctx, p)
	v.regressions(append(at, "regressions"), ctx+": regressions", &p.Regressions)
	for i, set := range p.Environment {
		_, user := c.EnvironmentSets[set]
		switch {
		case !user && !slices.Contains(BuiltinEnvironmentSets, set):
			v.errorf(append(at, "environment", i), "%s: unknown environment set %q (built in: %s; or define it under environment_sets)",
				ctx, set, strings.Join(BuiltinEnvironmentSets, ", "))
		case len(c.Prometheus) == 0:
			// Its queries would only fail at run time, as warnings.
			v.errorf(append(at, "environment", i), "%s: environment set %q needs a prometheus source to query: define one under prometheus", ctx, set)
		}
	}
}

func (v *validator) target(at []any, ctx string, p *Profile) {
	t := &p.Target
	v.httpURL(append(at, "url"), ctx+": target.url", t.URL)
	switch t.Protocol {
	case ProtocolHTTP1:
	case ProtocolHTTP2:
		if p.Engine == EngineWrk || p.Engine == EngineWrk2 {
			v.errorf(append(at, "protocol"), "%s: protocol http2 needs engine fortio or nighthawk (%s speaks HTTP/1.1 only)", ctx, p.Engine)
		}
	case ProtocolGRPC:
		if p.Engine != EngineFortio {
			v.errorf(append(at, "protocol"), "%s: protocol grpc needs engine fortio (%s cannot send gRPC)", ctx, p.Engine)
		}
	default:
		v.errorf(append(at, "protocol"), "%s: unknown protocol %q (http1, http2 or grpc)", ctx, t.Protocol)
	}
	if !methodName.MatchString(t.Method) {
		v.errorf(append(at, "method"), "%s: method %q must be an upper-case HTTP method such as GET or POST", ctx, t.Method)
	}
	for name := range t.Headers {
		if !headerName.MatchString(name) {
			v.errorf(append(at, "headers", name), "%s: %q is not a valid header name", ctx, name)
		}
	}
	for name, file := range t.HeaderFiles {
		switch {
		case !headerName.MatchString(name):
			v.errorf(append(at, "header_files", name), "%s: %q is not a valid header name", ctx, name)
		case t.Headers[name] != "":
			v.errorf(append(at, "header_files", name), "%s: header %s is set in both headers and header_files", ctx, name)
		}
		if _, err := os.Stat(file); err != nil {
			v.errorf(append(at, "header_files", name), "%s: target.header_files: %v", ctx, err)
		}
	}
	if t.Timeout <= 0 {
		v.errorf(append(at, "timeout"), "%s: target.timeout must be positive, got %s", ctx, t.Timeout)
	}
	for key, file := range map[string]string{"ca_file": t.TLS.CAFile, "cert_file": t.TLS.CertFile, "key_file": t.TLS.KeyFile} {
		if file == "" {
			continue
		}
		if _, err := os.Stat(file); err != nil {
			v.errorf(append(at, "tls", key), "%s: target.tls.%s: %v", ctx, key, err)
		}
	}
	if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
		v.errorf(append(at, "tls"), "%s: target.tls needs both cert_file and key_file for a client certificate", ctx)
	}
}

func (v *validator) load(at []any, ctx string, p *Profile, lim *Limits) {
	l := &p.Load
	switch {
	case !finite(l.QPS):
		v.errorf(append(at, "qps"), "%s: load.qps must be a finite number, got %g", ctx, l.QPS)
	case l.QPS < 0:
		v.errorf(append(at, "qps"), "%s: load.qps must not be negative (0 means as fast as possible)", ctx)
	case l.QPS > lim.MaxQPS:
		v.errorf(append(at, "qps"), "%s: load.qps %g is above global.limits.max_qps %g", ctx, l.QPS, lim.MaxQPS)
	}
	switch p.Engine {
	case EngineWrk:
		if l.QPS > 0 {
			v.errorf(append(at, "qps"), "%s: engine wrk has no rate control, so load.qps must be 0; use engine wrk2 or fortio for a fixed rate", ctx)
		}
	case EngineWrk2:
		if l.QPS <= 0 {
			v.errorf(append(at, "qps"), "%s: engine wrk2 needs a rate: set load.qps above 0 (or use wrk for maximum throughput)", ctx)
		}
	}
	switch {
	case l.Connections < 1:
		v.errorf(append(at, "connections"), "%s: load.connections must be at least 1, got %d", ctx, l.Connections)
	case l.Connections > lim.MaxConnections:
		v.errorf(append(at, "connections"), "%s: load.connections %d is above global.limits.max_connections %d", ctx, l.Connections, lim.MaxConnections)
	}
	if l.Threads < 0 || l.Threads > l.Connections {
		v.errorf(append(at, "threads"), "%s: load.threads must be between 0 (automatic) and load.connections (%d), got %d", ctx, l.Connections, l.Threads)
	}
	switch {
	case l.Duration <= 0:
		v.errorf(append(at, "duration"), "%s: load.duration must be positive, got %s", ctx, l.Duration)
	case l.Duration.D() < MinDuration:
		v.errorf(append(at, "duration"), "%s: load.duration must be at least %s, got %s", ctx, MinDuration, l.Duration)
	case l.Duration > lim.MaxDuration:
		v.errorf(append(at, "duration"), "%s: load.duration %s is above global.limits.max_duration %s", ctx, l.Duration, lim.MaxDuration)
	}
	v.nonNegative(append(at, "warmup"), ctx+": load.warmup", l.Warmup)
	// The warm-up sends load too, and the last requests of each may wait
	// for an answer up to twice target.timeout (Fortio sends a request
	// again once on a new connection when a kept-alive one stays silent):
	// max_duration bounds all of it, so no run ever lasts longer.
	if l.Duration > 0 && l.Duration <= lim.MaxDuration && l.Warmup >= 0 {
		grace := 2 * p.Target.Timeout.D()
		if l.Warmup > 0 {
			grace *= 2
		}
		if longest := l.Warmup.D() + l.Duration.D() + grace; longest > lim.MaxDuration.D() {
			field := "duration"
			if l.Warmup > 0 {
				field = "warmup"
			}
			v.errorf(append(at, field), "%s: a run can last load.warmup %s + load.duration %s + %s for its last requests' answers (twice target.timeout %s per phase) = %s, above global.limits.max_duration %s",
				ctx, l.Warmup, l.Duration, grace, p.Target.Timeout, longest, lim.MaxDuration)
		}
	}
	if p.Engine == EngineFortio || p.Engine == "" {
		if err := CheckRateShape(l.QPS, l.Connections, l.Duration.D(), ProfileRate); err != nil {
			v.errorf(append(at, "qps"), "%s: %v", ctx, err)
		}
		if w := l.Warmup.D(); w > 0 {
			if err := CheckRateShape(l.QPS, l.Connections, w, ProfileWarmupRate); err != nil {
				v.errorf(append(at, "warmup"), "%s: %v", ctx, err)
			}
		}
	}
	seen := map[float64]bool{}
	for i, pc := range l.Percentiles {
		if !finite(pc) {
			v.errorf(append(at, "percentiles", i), "%s: percentile %g must be a finite number", ctx, pc)
			continue
		}
		if p.Engine == EngineWrk && !slices.Contains(WrkPercentiles, pc) {
			v.errorf(append(at, "percentiles", i), "%s: engine wrk reports only percentiles %v, not %g (use wrk2 or fortio)", ctx, WrkPercentiles, pc)
		}
		if pc <= 0 || pc >= 100 {
			v.errorf(append(at, "percentiles", i), "%s: percentile %g must be above 0 and below 100", ctx, pc)
		}
		if seen[pc] {
			v.errorf(append(at, "percentiles", i), "%s: percentile %g is listed twice", ctx, pc)
		}
		seen[pc] = true
	}
}

func (v *validator) slo(at []any, ctx string, p *Profile) {
	for key, objective := range p.SLO.Latency {
		pc, err := strconv.ParseFloat(key, 64)
		switch {
		case err != nil || !finite(pc):
			v.errorf(append(at, "latency", key), "%s: slo.latency key %q must be a percentile such as \"99\"", ctx, key)
		case !slices.Contains(p.Load.Percentiles, pc):
			v.errorf(append(at, "latency", key), "%s: slo.latency percentile %s is not in load.percentiles %v, so it is never measured", ctx, key, p.Load.Percentiles)
		}
		if objective <= 0 {
			v.errorf(append(at, "latency", key), "%s: slo.latency %q must be positive, got %s", ctx, key, objective)
		}
	}
	if r := p.SLO.ErrorRatio; r != nil && !(*r >= 0 && *r <= 1) { // NaN fails both
		v.errorf(append(at, "error_ratio"), "%s: slo.error_ratio must be between 0 and 1, got %g", ctx, *r)
	}
}

func (v *validator) httpURL(at []any, what, raw string) {
	if raw == "" {
		v.errorf(at, "%s is required", what)
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		v.errorf(at, "%s %q is malformed: %v", what, raw, err)
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		v.errorf(at, "%s %q must be an absolute http:// or https:// URL", what, raw)
		return
	}
	// url.Parse takes any digits for a port: one that cannot exist would
	// fail every run instead of the config.
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			v.errorf(at, "%s %q: port %s must be from 1 to 65535", what, raw, port)
		}
	}
}

func (v *validator) nonNegative(at []any, what string, d Duration) {
	if d < 0 {
		v.errorf(at, "%s must not be negative, got %s", what, d)
	}
}

// finite rejects NaN and the infinities, which YAML writes .nan and .inf:
// they compare false with every limit, so range checks alone let them pass.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// shorten quotes a name for a message, cut if it is too long to print.
func shorten(name string) string {
	if len(name) <= 40 {
		return strconv.Quote(name)
	}
	return strconv.Quote(name[:40]) + "..."
}
