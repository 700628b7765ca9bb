package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemon is a running `perf-exporter serve`.
type daemon struct {
	*process
	base    string // http://host:port
	config  string
	storage string
	accept  string // the format scrapes ask for
}

// The exposition formats Prometheus asks for: text by default, protobuf
// when native histograms are enabled.
const (
	textFormat     = "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
	protobufFormat = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3"
)

func startDaemon(ctx context.Context, o options, b binaries, name string, config []byte) (*daemon, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	d := &daemon{base: "http://" + addr, config: filepath.Join(o.work, name+".yaml"), storage: filepath.Join(o.work, name+"-data"), accept: textFormat}
	if err := os.WriteFile(d.config, config, 0o644); err != nil {
		return nil, err
	}
	p, err := startProcess(ctx, filepath.Join(o.work, name+".log"), b.perfExporter,
		"--config.file", d.config, "--storage.path", d.storage, "--web.listen-address", addr, "--log.format", "json",
		"--web.enable-lifecycle", "--web.enable-admin-api")
	if err != nil {
		return nil, err
	}
	d.process = p
	if err := waitHTTP(ctx, d.base+"/-/ready", 30*time.Second, p); err != nil {
		p.stop()
		return nil, err
	}
	return d, nil
}

func (d *daemon) post(ctx context.Context, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// scrape fetches /metrics as Prometheus does (d.accept, gzip) and
// returns how long it took and the bytes on the wire.
func (d *daemon) scrape(ctx context.Context, client *http.Client) (time.Duration, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Accept", d.accept)
	req.Header.Set("Accept-Encoding", "gzip")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	took := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return took, int(n), nil
}

// exposition is /metrics in the text format, uncompressed.
func (d *daemon) exposition(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return string(data), err
}

// sumSeries adds the values of every sample of a metric in an exposition.
func sumSeries(exposition, metric string) float64 {
	var sum float64
	for line := range strings.SplitSeq(exposition, "\n") {
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // a longer metric name
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// countSeries counts the samples of a metric in an exposition.
func countSeries(exposition, metric string) int {
	return strings.Count(exposition, "\n"+metric+"{")
}

// sampleRun is the length of the daemon-cost measurement's flat-out run.
const sampleRun = 5 * time.Second

// costConfig is the daemon-cost configuration: one sample profile that
// runs on demand and n-1 idle ones (a daily schedule), all with objectives
// so every per-profile series exists.
func costConfig(t *target, n int, sample time.Duration, variant string) []byte {
	var b bytes.Buffer
	b.WriteString("global: {max_concurrent_runs: 1}\nprofiles:\n")
	fmt.Fprintf(&b, `  - name: sample
    schedule: "@every 24h"
    target: {url: "%s/echo?size=512"}
    load: {qps: 0, connections: %d, duration: %s}
    slo: {latency: {"99": 50ms}, error_ratio: 0.01}
`, t.url, throughputConnections, sample)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, `  - name: p%03d
    schedule: "@every 24h"
    target: {url: "%s/echo?size=128", headers: {X-Variant: "%s"}}
    load: {qps: 100, connections: 1, duration: 20ms}
    slo: {latency: {"99": 50ms}, error_ratio: 0.01}
`, i, t.url, variant)
	}
	return b.Bytes()
}

func benchDaemon(ctx context.Context, o options, b binaries, t *target, rep *report) error {
	return benchDaemonCost(ctx, o, b, t, rep, "cost", "Daemon cost", 20*time.Millisecond)
}

// benchScale is the daemon cost at 1 000 profiles (-scale.profiles),
// where a scrape may take up to 40 ms during a run.
func benchScale(ctx context.Context, o options, b binaries, t *target, rep *report) error {
	o.profiles = o.scaleProfiles
	if err := benchDaemonCost(ctx, o, b, t, rep, "scale", "Scale", 40*time.Millisecond); err != nil {
		return err
	}
	return benchScaleSchedule(ctx, o, b, t, rep)
}

// scaleWindow is how long the scale section watches cron ticks.
const scaleWindow = 30 * time.Second

// scaleScheduleConfig is n profiles on daily cron schedules (with
// seconds), each at its own time, with max_concurrent_runs 4: from start
// on, four profiles tick each second for the window, the others at times
// outside it. No tick has more runs than slots, so the lateness measured
// is the scheduler's own with n entries, not a queue of runs.
func scaleScheduleConfig(t *target, n int, start time.Time) []byte {
	var b bytes.Buffer
	b.WriteString("global: {max_concurrent_runs: 4}\nprofiles:\n")
	ticking := int(scaleWindow/time.Second) * 4
	for i := range n {
		at := start.Add(time.Duration(i/4) * time.Second)
		if i >= ticking {
			at = at.Add(12 * time.Hour)
		}
		fmt.Fprintf(&b, `  - name: c%04d
    schedule: "%d %d %d * * *"
    target: {url: "%s/echo?size=128"}
    load: {qps: 100, connections: 1, duration: 20ms}
`, i, at.Second(), at.Minute(), at.Hour(), t.url)
	}
	return b.Bytes()
}

// benchScaleSchedule measures schedule lateness with o.profiles cron
// entries and four run slots (issue 15, item 4).
func benchScaleSchedule(ctx context.Context, o options, b binaries, t *target, rep *report) error {
	start := time.Now().Truncate(time.Second).Add(10 * time.Second) // after start-up
	d, err := startDaemon(ctx, o, b, "scale-cron", scaleScheduleConfig(t, o.profiles, start))
	if err != nil {
		return err
	}
	logf("watching %d profiles on cron schedules for %s", o.profiles, scaleWindow)
	select {
	case <-ctx.Done():
		d.stop()
		return ctx.Err()
	case <-time.After(time.Until(start.Add(scaleWindow + 2*time.Second))):
	}
	d.stop()
	lateness, err := scheduleLateness(d.log)
	if err != nil {
		return err
	}
	ls := seconds(lateness)
	want := min(o.profiles, int(scaleWindow/time.Second)*4)
	rep.check(fmt.Sprintf("schedule lateness p99, %d profiles on cron schedules, max_concurrent_runs 4", o.profiles),
		fmt.Sprintf("%s (p50 %s, max %s; %d of the %d runs due in %s started)", ms(quantile(ls, 0.99)), ms(median(ls)), ms(quantile(ls, 1)), len(ls), want, scaleWindow),
		"< 20 ms", quantile(ls, 0.99) < 0.020 && len(ls) >= want)
	rep.section("Scale: schedule lateness", fmt.Sprintf(`perf-exporter serve with %d profiles on daily cron schedules with seconds
("S M H * * *"), each at its own time, and max_concurrent_runs: 4. From ten seconds after start,
four profiles tick each second for %s (the others' times are twelve hours away, so every entry is
in the scheduler but only these run); each run is 20 ms at 100 qps on one connection. No tick has
more runs than slots, so the lateness is the scheduler's own (cron's wake-up, launching the runs,
taking a slot), not a queue; read from every "run starting" log line (schedule_lateness). The
runs due in the window that started say no profile was left behind.`, o.profiles, scaleWindow))
	return nil
}

// benchDaemonCost measures o.profiles profiles: scrapes idle and during a
// run (the busy scrape's target is busyTarget), memory, reloads and the
// history's bytes per stored run.
func benchDaemonCost(ctx context.Context, o options, b binaries, t *target, rep *report, name, title string, busyTarget time.Duration) error {
	d, err := startDaemon(ctx, o, b, name, costConfig(t, o.profiles, sampleRun, "a"))
	if err != nil {
		return err
	}
	defer d.stop()

	// Give every profile a last run, so the exposition has all its series.
	logf("running each of the %d idle profiles once", o.profiles-1)
	for i := 1; i < o.profiles; i++ {
		if code, err := d.post(ctx, fmt.Sprintf("/api/v1/profiles/p%03d/run", i)); err != nil || code != http.StatusAccepted {
			return fmt.Errorf("POST run of p%03d: %d %v", i, code, err)
		}
	}
	if err := waitFor(ctx, 3*time.Minute, d.process, func() (bool, error) {
		e, err := d.exposition(ctx)
		return countSeries(e, "perf_run_last_timestamp_seconds") >= o.profiles-1, err
	}); err != nil {
		return fmt.Errorf("waiting for the first runs: %w", err)
	}
	time.Sleep(2 * time.Second) // let the runs' garbage be collected
	idleMem, err := readMemory(d.pid())
	if err != nil {
		return err
	}
	exposition, err := d.exposition(ctx)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	idle, wire, err := scrapeTimes(ctx, d, client, 200, 0, nil)
	if err != nil {
		return err
	}
	d.accept = protobufFormat
	idleProto, wireProto, err := scrapeTimes(ctx, d, client, 200, 0, nil)
	d.accept = textFormat
	if err != nil {
		return err
	}

	// A scrape every 20 ms while the sample profile runs flat out,
	// alternately in text and protobuf.
	if code, err := d.post(ctx, "/api/v1/profiles/sample/run"); err != nil || code != http.StatusAccepted {
		return fmt.Errorf("POST run of sample: %d %v", code, err)
	}
	runStart := time.Now()
	var runMem memory
	var busy, busyProto []time.Duration
	for i := 0; time.Since(runStart) < sampleRun && i < 400; i++ {
		if m, err := readMemory(d.pid()); err == nil && m.rss > runMem.rss {
			runMem = m
		}
		d.accept = []string{textFormat, protobufFormat}[i%2]
		took, _, err := d.scrape(ctx, client)
		if err != nil {
			return err
		}
		if i%2 == 0 {
			busy = append(busy, took)
		} else {
			busyProto = append(busyProto, took)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.accept = textFormat
	if err := waitFor(ctx, time.Minute, d.process, func() (bool, error) {
		e, err := d.exposition(ctx)
		return countSeries(e, "perf_run_last_timestamp_seconds") >= o.profiles, err
	}); err != nil {
		return fmt.Errorf("waiting for the sample run: %w", err)
	}
	afterMem, err := readMemory(d.pid())
	if err != nil {
		return err
	}

	reloads, err := reloadTimes(ctx, d, t, o, 10)
	if err != nil {
		return err
	}
	history, err := diskUsage(d.storage)
	if err != nil {
		return err
	}

	rep.heading(fmt.Sprintf("%s: %d profiles configured, each with a last run", title, o.profiles))
	idleS, busyS, busyProtoS := seconds(idle), seconds(busy), seconds(busyProto)
	busyMax := fmt.Sprintf("< %d ms", busyTarget.Milliseconds())
	rep.check("/metrics scrape p99, idle", fmt.Sprintf("%s (p50 %s, %d scrapes)", ms(quantile(idleS, 0.99)), ms(median(idleS)), len(idle)),
		"< 20 ms", quantile(idleS, 0.99) < 0.020)
	protoS := seconds(idleProto)
	rep.check("/metrics scrape p99, idle, protobuf (Prometheus with native histograms)", fmt.Sprintf("%s (p50 %s, %d scrapes, %d bytes gzipped)",
		ms(quantile(protoS, 0.99)), ms(median(protoS)), len(idleProto), wireProto), "< 20 ms", quantile(protoS, 0.99) < 0.020)
	rep.check("/metrics scrape p99, during a 16-connection run", fmt.Sprintf("%s (p50 %s, %d scrapes)", ms(quantile(busyS, 0.99)), ms(median(busyS)), len(busy)),
		busyMax, quantile(busyS, 0.99) < busyTarget.Seconds())
	rep.check("/metrics scrape p99, during a 16-connection run, protobuf", fmt.Sprintf("%s (p50 %s, %d scrapes)", ms(quantile(busyProtoS, 0.99)), ms(median(busyProtoS)), len(busyProto)),
		busyMax, quantile(busyProtoS, 0.99) < busyTarget.Seconds())
	rep.figure("exposition size", fmt.Sprintf("%d bytes, %d lines (%d bytes gzipped); %d bytes per profile", len(exposition), strings.Count(exposition, "\n"), wire, len(exposition)/o.profiles))
	rep.check("run history on disk per stored run", fmt.Sprintf("%d bytes (%s for %d runs)", history/int64(o.profiles), mb(history), o.profiles),
		"≤ 2 KB", history/int64(o.profiles) <= 2048)
	rep.check("exporter RSS, idle", fmt.Sprintf("%s (anonymous %s, file-backed %s)", mb(idleMem.rss), mb(idleMem.anon), mb(idleMem.rss-idleMem.anon)), "anonymous < 60 MB", idleMem.anon < 60e6)
	rep.check("exporter RSS, during a 16-connection run (highest sample)", fmt.Sprintf("%s (anonymous %s, file-backed %s; VmHWM %s)", mb(runMem.rss), mb(runMem.anon), mb(runMem.rss-runMem.anon), mb(afterMem.peak)),
		"anonymous < 60 MB", runMem.anon < 60e6)
	reloadS := seconds(reloads)
	rep.figure(fmt.Sprintf("config reload, %d profiles all changed (POST /-/reload)", o.profiles),
		fmt.Sprintf("%s median, %s max (%d reloads)", ms(median(reloadS)), ms(quantile(reloadS, 1)), len(reloads)))
	how := fmt.Sprintf(`perf-exporter serve with %d profiles: one "sample" (qps 0, %d connections, %s)
and %d idle ones (schedule @every 24h, 20 ms at 100 qps on one connection), all with latency and
error objectives. Each idle profile is run once through POST /api/v1/profiles/NAME/run first, so
the exposition carries every per-profile series (last-run gauges, objectives, the cumulative
classic + native histogram, code counters). Scrapes ask for the text format with gzip, as
Prometheus does by default, and are timed from request to last byte on the client: %d back to
back while idle (and as many asking for protobuf, as Prometheus does when native histograms are
enabled), then one every 20 ms while the sample profile runs flat out, alternately text and
protobuf (the scrape competes with the load for the two cores). The run history's size is the
space its files take on disk (bbolt grows its file sparsely) over the runs stored, one per
profile. The Go micro-benchmarks below split a scrape's CPU with pprof.

RSS is VmRSS from /proc/PID/status (anonymous = RssAnon; the rest is mostly the run history's
memory-mapped file): idle after the first runs, and the highest sample during the sample run;
VmHWM is the peak since start. Reload: the config file is rewritten with a different header on
every profile (so all %d are rescheduled) and POST /-/reload is timed, %d
times.`, o.profiles, throughputConnections, sampleRun, o.profiles-1, len(idle), o.profiles, len(reloads))
	rep.section(title, how)
	return nil
}

// diskUsage is the space the files under dir take on disk (bbolt grows
// its file sparsely: the apparent size overstates it).
func diskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// scrapeTimes scrapes n times, every gap, while more (if set) returns
// true; it returns each scrape's time and the last one's size.
func scrapeTimes(ctx context.Context, d *daemon, client *http.Client, n int, gap time.Duration, more func() bool) ([]time.Duration, int, error) {
	var times []time.Duration
	size := 0
	for len(times) < n && (more == nil || more()) {
		took, bytes, err := d.scrape(ctx, client)
		if err != nil {
			return nil, 0, err
		}
		times = append(times, took)
		size = bytes
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	return times, size, nil
}

// reloadTimes rewrites the config with every profile changed and times
// POST /-/reload, n times.
func reloadTimes(ctx context.Context, d *daemon, t *target, o options, n int) ([]time.Duration, error) {
	var times []time.Duration
	for i := range n {
		variant := []string{"b", "a"}[i%2]
		if err := os.WriteFile(d.config, costConfig(t, o.profiles, sampleRun, variant), 0o644); err != nil {
			return nil, err
		}
		start := time.Now()
		code, err := d.post(ctx, "/-/reload")
		took := time.Since(start)
		if err != nil || code != http.StatusOK {
			return nil, fmt.Errorf("POST /-/reload: %d %v\n%s", code, err, tail(d.log, 10))
		}
		times = append(times, took)
	}
	return times, nil
}

// waitFor polls cond every 200 ms until it holds, p exits or the timeout.
func waitFor(ctx context.Context, timeout time.Duration, p *process, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// soakConfig is n profiles on @every 1s ticks, a quarter gRPC health
// checks, a quarter HTTP/2, the rest HTTP/1.1, each a 20 ms run of two
// requests on one connection, with enough run slots that no run waits for
// another: scheduling lateness is then the scheduler's own.
func soakConfig(t *target, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "global: {max_concurrent_runs: %d}\nprofiles:\n", n)
	for i := range n {
		url, protocol := t.url+"/echo", "http1"
		switch i % 4 {
		case 0:
			url, protocol = t.url, "grpc"
		case 1:
			protocol = "http2"
		}
		fmt.Fprintf(&b, `  - name: s%03d
    schedule: "@every 1s"
    target: {url: "%s", protocol: %s}
    load: {qps: 100, connections: 1, duration: 20ms}
`, i, url, protocol)
	}
	return b.Bytes()
}

// soakSample is the daemon's state between two ticks.
type soakSample struct {
	at         time.Duration
	runs       float64
	goroutines float64
	heap       float64
	heapGoal   float64
	fds        float64
	mem        memory
}

func benchSoak(ctx context.Context, o options, b binaries, t *target, rep *report) error {
	d, err := startDaemon(ctx, o, b, "soak", soakConfig(t, o.profiles))
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			d.stop()
		}
	}()
	began := time.Now()
	var samples []soakSample
	var first *soakSample
	for {
		// Half-way between two ticks, when the runs of the last one are over.
		next := time.Now().Truncate(time.Second).Add(1500 * time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(next)):
		}
		e, err := d.exposition(ctx)
		if err != nil {
			return err
		}
		mem, err := readMemory(d.pid())
		if err != nil {
			return err
		}
		s := soakSample{at: time.Since(began), runs: sumSeries(e, "perf_runs_total"), goroutines: sumSeries(e, "go_goroutines"),
			heap: sumSeries(e, "go_memstats_heap_inuse_bytes"), heapGoal: sumSeries(e, "go_memstats_next_gc_bytes"),
			fds: sumSeries(e, "process_open_fds"), mem: mem}
		samples = append(samples, s)
		logf("soak: %.0f runs, %.0f goroutines, %.0f open files, heap %s, RSS %s", s.runs, s.goroutines, s.fds, mb(int64(s.heap)), mb(mem.rss))
		// The first two ticks are the warm-up: connections, buffers and
		// the history's file grow to their working size.
		if first == nil && s.runs >= float64(2*o.profiles) {
			first = &samples[len(samples)-1]
		}
		if first != nil && s.runs-first.runs >= float64(o.soakRuns) {
			break
		}
		if time.Since(began) > 3*time.Minute {
			return fmt.Errorf("only %.0f runs after %s", s.runs, time.Since(began).Round(time.Second))
		}
	}
	last := samples[len(samples)-1]
	e, err := d.exposition(ctx)
	if err != nil {
		return err
	}
	d.stop()
	stopped = true
	lateness, err := scheduleLateness(d.log)
	if err != nil {
		return err
	}

	rep.heading(fmt.Sprintf("Scheduler and soak: %d profiles on @every 1s ticks (¼ gRPC, ¼ HTTP/2, ½ HTTP/1.1)", o.profiles))
	ls := seconds(lateness)
	rep.check("schedule lateness p99", fmt.Sprintf("%s (p50 %s, max %s, %d scheduled runs)", ms(quantile(ls, 0.99)), ms(median(ls)), ms(quantile(ls, 1)), len(ls)),
		"< 20 ms", quantile(ls, 0.99) < 0.020)
	soakRuns := last.runs - first.runs
	// The heap in use is sampled wherever the garbage collector's cycle
	// happens to be; its goal, twice the heap that was live after the last
	// collection (GOGC=100), follows what the daemon keeps. The medians of
	// the soak's two halves give its trend.
	soak := samples[slices.IndexFunc(samples, func(s soakSample) bool { return s.runs >= first.runs }):]
	half := len(soak) / 2
	goalOf := func(ss []soakSample) (goal, runs float64) {
		var gs, rs []float64
		for _, s := range ss {
			gs = append(gs, s.heapGoal)
			rs = append(rs, s.runs)
		}
		return median(gs), median(rs)
	}
	goalBefore, runsBefore := goalOf(soak[:max(half, 1)])
	goalAfter, runsAfter := goalOf(soak[half:])
	rep.check(fmt.Sprintf("goroutines over %.0f runs", soakRuns), fmt.Sprintf("%.0f → %.0f", first.goroutines, last.goroutines),
		"flat (± 10)", math.Abs(last.goroutines-first.goroutines) <= 10)
	rep.check(fmt.Sprintf("open files over %.0f runs", soakRuns), fmt.Sprintf("%.0f → %.0f", first.fds, last.fds),
		"flat (± 10)", math.Abs(last.fds-first.fds) <= 10)
	rep.figure(fmt.Sprintf("Go heap goal over %.0f runs (median of each half)", soakRuns), fmt.Sprintf("%s → %s (%+.0f bytes/run)",
		mb(int64(goalBefore)), mb(int64(goalAfter)), (goalAfter-goalBefore)/max(runsAfter-runsBefore, 1)))
	rep.figure(fmt.Sprintf("RSS over %.0f runs", soakRuns), fmt.Sprintf("%s → %s (anonymous %s → %s)", mb(first.mem.rss), mb(last.mem.rss), mb(first.mem.anon), mb(last.mem.anon)))
	outcomes := []string{}
	for _, result := range []string{"success", "slo_missed", "failure", "skipped", "aborted"} {
		outcomes = append(outcomes, fmt.Sprintf("%s %.0f", result, sumResult(e, result)))
	}
	rep.figure("soak runs by outcome", strings.Join(outcomes, ", "))
	lines := []string{"| time | runs | goroutines | open files | Go heap in use | Go heap goal | RSS | RSS anonymous |", "|---|---|---|---|---|---|---|---|"}
	for _, s := range samples {
		lines = append(lines, fmt.Sprintf("| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s |", s.at.Round(time.Second), s.runs, s.goroutines, s.fds,
			mb(int64(s.heap)), mb(int64(s.heapGoal)), mb(s.mem.rss), mb(s.mem.anon)))
	}
	how := fmt.Sprintf(`perf-exporter serve with %d profiles on "@every 1s" (aligned to whole seconds, so all fire
together), each run 20 ms at 100 qps on one connection (two requests); a quarter are gRPC health
checks against the target's gRPC service, a quarter HTTP/2 (h2c), the rest HTTP/1.1. The run
history is on the local disk, as in production.

Schedule lateness is the scheduler's own delay: the time from a tick to its run starting (taking
its run slot, before the engine starts), read from every "run starting" log line
(schedule_lateness). max_concurrent_runs is %d here so that no run waits for another's slot: with
the default of 1, lateness is mostly the queue of runs by design, not the scheduler's cost. It
includes cron's wake-up, launching %d goroutines at once and whatever the previous tick's runs
still take from the two cores (saving their results).

The soak samples goroutines, open files and heap from the exporter's own go_goroutines,
process_open_fds, go_memstats_heap_inuse_bytes and go_memstats_next_gc_bytes, and RSS from
/proc, half-way between two ticks when the last tick's runs are over. The first two ticks are
the warm-up; goroutines and open files compare the first sample after it with the last, over
at least %d runs: a run that left a goroutine or a connection behind would add thousands. The
heap in use depends on where the garbage collector's cycle happens to be; the heap goal (twice
the heap live after the last collection, at GOGC=100) follows what the daemon keeps, and the
medians of the soak's two halves give its trend. It grows early on, and boundedly: each
profile's native histogram adds buckets as it sees new latencies, up to 160 per profile, so a
short soak shows growth that a longer one (`+"`-soak.runs 12000`"+`) sees level off. RSS includes
the run history's memory-mapped file, which grows with the history (up to global.retention)
and is page cache the kernel can reclaim; the anonymous part is the process's own.`, o.profiles, o.profiles, o.profiles, o.soakRuns)
	rep.section("Scheduler lateness and soak", how, lines...)
	return nil
}

// sumResult adds perf_runs_total over profiles for one result.
func sumResult(exposition, result string) float64 {
	var sum float64
	for line := range strings.SplitSeq(exposition, "\n") {
		if strings.HasPrefix(line, "perf_runs_total{") && strings.Contains(line, `result="`+result+`"`) {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// scheduleLateness reads schedule_lateness from the daemon's JSON log
// lines of scheduled runs.
func scheduleLateness(logPath string) ([]time.Duration, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []time.Duration
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		var line struct {
			Msg      string `json:"msg"`
			Trigger  string `json:"trigger"`
			Lateness string `json:"schedule_lateness"`
		}
		if json.Unmarshal(s.Bytes(), &line) != nil || line.Msg != "run starting" || line.Trigger != "schedule" {
			continue
		}
		d, err := time.ParseDuration(line.Lateness)
		if err != nil {
			return nil, fmt.Errorf("%s: schedule_lateness %q: %w", logPath, line.Lateness, err)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no scheduled run logged", logPath)
	}
	return out, s.Err()
}
