package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"fortio.org/fortio/stats"

	"github.com/perf-exporter/perf-exporter/config"
	"github.com/perf-exporter/perf-exporter/result"
)

// wrkReport is the report wrk and wrk2 print when a run ends (also when it
// is interrupted with SIGINT). wrk2 is a fork of wrk and keeps its format,
// adding thread calibration lines and HdrHistogram blocks, so one reader
// serves both.
type wrkReport struct {
	requestedDuration    time.Duration // from "Running 30s test @ URL"
	url                  string
	threads, connections int
	calibrations         int // wrk2's "Thread calibration" lines, one per thread

	latency         wrkThreadStats     // the Latency row of "Thread Stats"
	distribution    []stats.Percentile // wrk's "Latency Distribution" (--latency)
	hasDistribution bool
	recorded        *hdrBlock // wrk2 --latency: latency from the intended send time
	uncorrected     *hdrBlock // wrk2 -U: latency from the actual send time

	hasSummary bool // the "N requests in T, B read" line
	requests   int64
	duration   time.Duration
	socket     struct{ connect, read, write, timeout int64 }
	non2xx3xx  int64 // "Non-2xx or 3xx responses": statuses above 399
	rps        float64
	hasRPS     bool
}

// wrkThreadStats is one row of "Thread Stats", in seconds.
type wrkThreadStats struct {
	avg, stdev, max float64
	known           bool // false when absent or printed as nan
}

// hdrBlock is one of wrk2's "Latency Distribution (HdrHistogram - ...)"
// blocks: the printed percentiles, the detailed spectrum and its footer.
type hdrBlock struct {
	printed    []stats.Percentile
	rows       []spectrumRow
	mean       float64 // seconds
	stdev      float64
	max        float64
	total      int64
	haveFooter bool
}

// wrkSection says what the bare rows that follow a header belong to.
type wrkSection int

const (
	wrkSectionNone wrkSection = iota
	wrkSectionDistribution
	wrkSectionHdrPercentiles
	wrkSectionSpectrum
)

var (
	wrkThreadsLine  = regexp.MustCompile(`^(\d+) threads and (\d+) connections$`)
	wrkSummaryLine  = regexp.MustCompile(`^(\d+) requests in (\S+), (\S+) read$`)
	wrkSocketLine   = regexp.MustCompile(`^Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)$`)
	wrkTimeNumber   = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	wrkPercentField = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?%$`)
)

// maxWrkLine bounds one line of output; wrk's longest lines are the URL
// line and Lua script output.
const maxWrkLine = 1 << 20

// maxCount bounds any count read from a tool's output, so sums of counts
// cannot overflow.
const maxCount = 1 << 53

// maxSeconds bounds any duration read from a tool's output (about 115
// days), so conversions to time.Duration cannot overflow.
const maxSeconds = 1e7

func parseWrkReport(data []byte) (*wrkReport, error) {
	rep := &wrkReport{}
	var block *hdrBlock
	section := wrkSectionNone
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxWrkLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var err error
		block, section, err = rep.readLine(line, block, section)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", n+1, maxWrkLine)
		}
		return nil, err
	}
	return rep, nil
}

// readLine reads one trimmed, non-empty line. Lines it does not know (Lua
// script output, wrk2's debug dumps) are skipped; a line it knows but
// cannot read is an error.
func (rep *wrkReport) readLine(line string, block *hdrBlock, section wrkSection) (*hdrBlock, wrkSection, error) {
	fields := strings.Fields(line)
	switch {
	case strings.HasPrefix(line, "Running ") && strings.Contains(line, " test @ "):
		head, url, _ := strings.Cut(line, " test @ ")
		d, ok, err := parseWrkTime(strings.TrimPrefix(head, "Running "))
		if err != nil || !ok {
			return block, section, fmt.Errorf("cannot read the test duration in %q", line)
		}
		rep.requestedDuration, rep.url = secondsDuration(d), strings.TrimSpace(url)
		return block, wrkSectionNone, nil

	case wrkThreadsLine.MatchString(line):
		m := wrkThreadsLine.FindStringSubmatch(line)
		t, err1 := parseCount(m[1])
		c, err2 := parseCount(m[2])
		if err := errors.Join(err1, err2); err != nil || t > math.MaxInt32 || c > math.MaxInt32 {
			return block, section, fmt.Errorf("cannot read %q", line)
		}
		rep.threads, rep.connections = int(t), int(c)
		return block, section, nil

	case strings.HasPrefix(line, "Thread calibration:"):
		rep.calibrations++
		return block, section, nil

	case strings.HasPrefix(line, "Thread Stats"), fields[0] == "Req/Sec", strings.HasPrefix(line, "Transfer/sec:"):
		return block, wrkSectionNone, nil

	case line == "Latency Distribution":
		rep.hasDistribution = true
		return nil, wrkSectionDistribution, nil

	case strings.HasPrefix(line, "Latency Distribution (HdrHistogram"):
		b := &hdrBlock{}
		target := &rep.recorded
		if strings.Contains(line, "Uncorrected") {
			target = &rep.uncorrected
		}
		if *target != nil {
			return block, section, fmt.Errorf("a second %q block", line)
		}
		*target = b
		return b, wrkSectionHdrPercentiles, nil

	case fields[0] == "Latency" && len(fields) == 5 && fields[1] != "Distribution":
		s, err := parseWrkThreadStats(fields[1:4])
		if err != nil {
			return block, section, fmt.Errorf("thread stats %q: %w", line, err)
		}
		rep.latency = s
		return block, wrkSectionNone, nil

	case line == "Detailed Percentile spectrum:":
		if block == nil {
			return block, section, errors.New("a percentile spectrum outside an HdrHistogram block")
		}
		return block, wrkSectionSpectrum, nil

	case strings.HasPrefix(line, "#["):
		if block == nil {
			return block, section, fmt.Errorf("histogram footer %q outside an HdrHistogram block", line)
		}
		if err := block.readFooter(line); err != nil {
			return block, section, err
		}
		return block, section, nil

	case strings.HasPrefix(line, "----"):
		return nil, wrkSectionNone, nil

	case len(fields) == 2 && wrkPercentField.MatchString(fields[0]):
		return block, section, rep.readPercentile(fields, block, section)

	case section == wrkSectionSpectrum && fields[0] == "Value":
		return block, section, nil // the spectrum's column titles

	case section == wrkSectionSpectrum && len(fields) == 4:
		row, err := parseSpectrumRow(fields)
		if err != nil {
			return block, section, fmt.Errorf("spectrum row %q: %w", line, err)
		}
		if k := len(block.rows); k > 0 && (row.count < block.rows[k-1].count || row.value < block.rows[k-1].value) {
			return block, section, fmt.Errorf("spectrum row %q goes below the row before it", line)
		}
		block.rows = append(block.rows, row)
		return block, section, nil

	case wrkSummaryLine.MatchString(line):
		m := wrkSummaryLine.FindStringSubmatch(line)
		req, err := parseCount(m[1])
		if err != nil {
			return block, section, fmt.Errorf("%q: %w", line, err)
		}
		d, ok, err := parseWrkTime(m[2])
		if err != nil || !ok {
			return block, section, fmt.Errorf("cannot read the run time in %q", line)
		}
		rep.hasSummary, rep.requests, rep.duration = true, req, secondsDuration(d)
		return block, wrkSectionNone, nil

	case strings.HasPrefix(line, "Socket errors:"):
		m := wrkSocketLine.FindStringSubmatch(line)
		if m == nil {
			return block, section, fmt.Errorf("cannot read %q", line)
		}
		var errs [4]int64
		for i := range errs {
			v, err := parseCount(m[i+1])
			if err != nil {
				return block, section, fmt.Errorf("%q: %w", line, err)
			}
			errs[i] = v
		}
		rep.socket.connect, rep.socket.read, rep.socket.write, rep.socket.timeout = errs[0], errs[1], errs[2], errs[3]
		return block, wrkSectionNone, nil

	case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
		v, err := parseCount(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")))
		if err != nil {
			return block, section, fmt.Errorf("%q: %w", line, err)
		}
		rep.non2xx3xx = v
		return block, wrkSectionNone, nil

	case strings.HasPrefix(line, "Requests/sec:"):
		v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Requests/sec:")), 64)
		if err != nil || !finite(v) || v < 0 {
			return block, section, fmt.Errorf("cannot read %q", line)
		}
		rep.rps, rep.hasRPS = v, true
		return block, wrkSectionNone, nil
	}
	return block, section, nil
}

func (rep *wrkReport) readPercentile(fields []string, block *hdrBlock, section wrkSection) error {
	p, err := strconv.ParseFloat(strings.TrimSuffix(fields[0], "%"), 64)
	if err != nil || p > 100 {
		return fmt.Errorf("cannot read the percentile %q", fields[0])
	}
	v, ok, err := parseWrkTime(fields[1])
	if err != nil {
		return fmt.Errorf("percentile %s: %w", fields[0], err)
	}
	if !ok {
		return nil // nan: wrk measured nothing
	}
	var list *[]stats.Percentile
	switch section {
	case wrkSectionDistribution:
		list = &rep.distribution
	case wrkSectionHdrPercentiles:
		list = &block.printed
	default:
		return fmt.Errorf("percentile %s outside a latency distribution", fields[0])
	}
	if k := len(*list); k > 0 && (p <= (*list)[k-1].Percentile || v < (*list)[k-1].Value) {
		return fmt.Errorf("percentile %s %s goes below the one before it", fields[0], fields[1])
	}
	*list = append(*list, stats.Percentile{Percentile: p, Value: v})
	return nil
}

// readFooter reads "#[Mean = 6.602, StdDeviation = 1.919]" and
// "#[Max = 12.496, Total count = 39500]" (values in milliseconds).
func (b *hdrBlock) readFooter(line string) error {
	body := strings.TrimSuffix(strings.TrimPrefix(line, "#["), "]")
	for _, part := range strings.Split(body, ",") {
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("cannot read the histogram footer %q", line)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "Mean", "StdDeviation", "Max":
			ms, err := strconv.ParseFloat(val, 64)
			if err != nil || !finite(ms) || ms < 0 || ms/1e3 > maxSeconds {
				if isNaNWord(val) {
					continue
				}
				return fmt.Errorf("cannot read %s in %q", key, line)
			}
			switch key {
			case "Mean":
				b.mean = ms / 1e3
			case "StdDeviation":
				b.stdev = ms / 1e3
			default:
				b.max = ms / 1e3
			}
			b.haveFooter = true
		case "Total count":
			n, err := parseCount(val)
			if err != nil {
				return fmt.Errorf("total count in %q: %w", line, err)
			}
			b.total = n
			b.haveFooter = true
		}
	}
	return nil
}

// parseSpectrumRow reads "6.671  0.500000  19783  2.00": the value in
// milliseconds, the percentile as a fraction, the cumulative count and
// 1/(1-percentile), which is not needed.
func parseSpectrumRow(fields []string) (spectrumRow, error) {
	ms, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || !finite(ms) || ms < 0 || ms/1e3 > maxSeconds {
		return spectrumRow{}, fmt.Errorf("cannot read the value %q", fields[0])
	}
	frac, err := strconv.ParseFloat(fields[1], 64)
	if err != nil || !(frac >= 0 && frac <= 1) {
		return spectrumRow{}, fmt.Errorf("cannot read the percentile %q", fields[1])
	}
	count, err := parseCount(fields[2])
	if err != nil {
		return spectrumRow{}, err
	}
	return spectrumRow{value: ms / 1e3, count: count}, nil
}

func parseWrkThreadStats(fields []string) (wrkThreadStats, error) {
	var v [3]float64
	for i, f := range fields {
		x, ok, err := parseWrkTime(f)
		if err != nil {
			return wrkThreadStats{}, err
		}
		if !ok {
			return wrkThreadStats{}, nil
		}
		v[i] = x
	}
	return wrkThreadStats{avg: v[0], stdev: v[1], max: v[2], known: true}, nil
}

// parseWrkTime reads a time as wrk formats it ("180.08us", "1.29ms",
// "3.37s", "1.00m", "30s") into seconds. ok is false for "nan" and "inf",
// which wrk prints when it measured nothing.
func parseWrkTime(s string) (seconds float64, ok bool, err error) {
	if isNaNWord(s) {
		return 0, false, nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 || !wrkTimeNumber.MatchString(s[:i]) {
		return 0, false, fmt.Errorf("%q is not a time", s)
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, false, fmt.Errorf("%q is not a time", s)
	}
	// Divide rather than multiply by 1e-3: 6.06/1000 is the double nearest
	// to 0.00606, 6.06*1e-3 is not.
	switch s[i:] {
	case "us":
		v /= 1e6
	case "ms":
		v /= 1e3
	case "s":
	case "m":
		v *= 60
	case "h":
		v *= 3600
	default:
		return 0, false, fmt.Errorf("%q has an unknown time unit", s)
	}
	if !finite(v) || v > maxSeconds {
		return 0, false, fmt.Errorf("%q is out of range", s)
	}
	return v, true, nil
}

func isNaNWord(s string) bool {
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "nan", "inf", "infinity":
		return true
	}
	return false
}

// parseCount reads a non-negative count.
func parseCount(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxCount {
		return 0, fmt.Errorf("%q is not a count", s)
	}
	return n, nil
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func (rep *wrkReport) codes() map[string]int64 {
	completed := rep.requests
	above := min(rep.non2xx3xx, completed)
	below := completed - above
	fromBelow := min(rep.socket.timeout, below)
	fromAbove := min(rep.socket.timeout-fromBelow, above)
	below -= fromBelow
	above -= fromAbove
	failed := rep.socket.connect + rep.socket.read + rep.socket.write + rep.socket.timeout
	codes := map[string]int64{}
	for label, n := range map[string]int64{result.CodeWrkBelow400: below, result.CodeWrkAbove399: above, result.CodeError: failed} {
		if n > 0 {
			codes[label] = n
		}
	}
	return codes
}

// parseWrk reads the output of wrk (flavour "wrk") or wrk2 ("wrk2") into a
// Result with the given latency percentiles. What the output cannot tell
// (start time, the rate wrk2 was asked for) is left for the caller.
func parseWrk(data []byte, flavour string, percentiles []float64) (*result.Measurement, error) {
	rep, err := parseWrkReport(data)
	if err != nil {
		return nil, err
	}
	return rep.result(flavour, percentiles)
}

func (rep *wrkReport) result(flavour string, percentiles []float64) (*result.Measurement, error) {
	if !rep.hasSummary {
		return nil, fmt.Errorf(`no "N requests in T" line: %s did not finish a run (is this %s output?)`, flavour, flavour)
	}
	wrk2Output := rep.calibrations > 0 || rep.recorded != nil || rep.uncorrected != nil
	switch flavour {
	case config.EngineWrk:
		if wrk2Output {
			return nil, errors.New("this is wrk2 output (it has thread calibration lines or HdrHistogram blocks): read it as wrk2")
		}
	case config.EngineWrk2:
		if rep.hasDistribution {
			return nil, errors.New("this is wrk output (its latency distribution is not an HdrHistogram): read it as wrk")
		}
	default:
		return nil, fmt.Errorf("unknown wrk flavour %q (wrk or wrk2)", flavour)
	}
	r := &result.Measurement{
		Engine:            flavour,
		Protocol:          config.ProtocolHTTP1,
		ActualDuration:    rep.duration,
		RequestedDuration: rep.requestedDuration,
		Connections:       rep.connections,
		Codes:             rep.codes(),
	}
	if rep.url != "" {
		r.URL = config.PublicURL(rep.url)
	}
	switch {
	case rep.hasRPS:
		r.ActualQPS = rep.rps
	case rep.duration > 0:
		r.ActualQPS = float64(rep.requests) / rep.duration.Seconds()
	}
	if flavour == config.EngineWrk {
		rep.wrkLatency(r, percentiles)
	} else {
		rep.wrk2Latency(r, percentiles)
	}
	if rep.requestedDuration > 0 && rep.duration < rep.requestedDuration*9/10 {
		r.Aborted = true
		r.Notes = append(r.Notes, fmt.Sprintf("the run stopped after %s of the %s it was started for: it was interrupted",
			rep.duration.Round(10*time.Millisecond), rep.requestedDuration))
	}
	return r, nil
}

// wrkLatency fills the latency of a wrk result. wrk prints four percentiles
// and its thread stats, not a histogram; the buckets are rebuilt from the
// percentiles so that runs still feed the cumulative latency histogram.
func (rep *wrkReport) wrkLatency(r *result.Measurement, percentiles []float64) {
	timeouts := min(rep.socket.timeout, rep.requests)
	if timeouts > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d responses were slower than --timeout: wrk leaves them out of its latency statistics; they are counted under code %q", timeouts, result.CodeError))
	}
	// wrk's latency statistics hold every response within --timeout.
	count := rep.requests - timeouts
	h := &stats.HistogramData{}
	if rep.latency.known && count > 0 {
		h.Count, h.Avg, h.StdDev, h.Max = count, rep.latency.avg, rep.latency.stdev, rep.latency.max
		h.Sum = h.Avg * float64(count)
	}
	r.Latency = h
	if !rep.hasDistribution {
		r.Notes = append(r.Notes, "the output has no latency distribution (wrk ran without --latency): only the average, standard deviation and maximum are known")
		return
	}
	if h.Count == 0 || len(rep.distribution) == 0 {
		return
	}
	var missing []float64
	h.Percentiles, missing = pickPercentiles(percentiles, rep.distribution, nil)
	h.Data = approximateBuckets(rep.distribution, h.Max, h.Count)
	r.Notes = append(r.Notes,
		"wrk prints only p50, p75, p90 and p99 (and no minimum): the latency histogram is rebuilt from them, the requests below p50 at p50 and the others spread evenly between the printed percentiles and the maximum, so its shape is approximate",
		// wrk 4's stats_correct: for each response slower than twice a
		// connection's average time per request, it adds the responses the
		// connection would have completed meanwhile.
		"wrk corrects its latency percentiles for coordinated omission itself, assuming each connection's average pace: when the target stalls they run higher than the fortio engine's service time, and wrk does not print uncorrected ones")
	if len(missing) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("wrk does not report %s", percentileList(missing)))
	}
}

// approximateSteps is how many buckets approximateBuckets makes between two
// printed percentiles.
const approximateSteps = 10

// approximateBuckets rebuilds a histogram from a few percentiles, for
// consumers that place each bucket's requests at its midpoint (the
// cumulative Prometheus histogram). The requests up to the first printed
// percentile sit at that percentile, an upper bound since wrk prints no
// minimum; between two printed percentiles, and from the last one to the
// maximum, the requests spread evenly over approximateSteps buckets of
// linearly interpolated bounds. Every printed percentile stays exact.
func approximateBuckets(printed []stats.Percentile, maxValue float64, count int64) []stats.Bucket {
	type point struct {
		value float64
		cum   int64
	}
	var points []point
	for _, pc := range printed {
		cum := min(count, int64(math.Round(float64(count)*pc.Percentile/100)))
		if maxValue > pc.Value {
			cum = min(cum, count-1) // the maximum is a request too
		}
		points = append(points, point{pc.Value, cum})
	}
	points = append(points, point{math.Max(maxValue, 0), count})

	var out []stats.Bucket
	var prevCum int64
	prev := points[0].value
	add := func(end float64, cum int64) {
		end = math.Max(end, prev)
		if cum > prevCum {
			out = append(out, stats.Bucket{
				Interval: stats.Interval{Start: prev, End: end},
				Percent:  100 * float64(cum) / float64(count),
				Count:    cum - prevCum,
			})
			prevCum = cum
		}
		prev = end
	}
	add(points[0].value, points[0].cum)
	for i := 1; i < len(points); i++ {
		a, b := points[i-1], points[i]
		for j := int64(1); j <= approximateSteps; j++ {
			value := a.value + (b.value-a.value)*float64(j)/approximateSteps
			cum := a.cum + (b.cum-a.cum)*j/approximateSteps
			add(value, max(cum, prevCum))
		}
	}
	return out
}

// wrk2Latency fills the latencies of a wrk2 result. wrk2's main latency
// ("Recorded Latency") counts from the time each request should have been
// sent at the asked rate: that is what Result.Corrected holds for every
// engine. Result.Latency holds service time, as for the fortio engine:
// wrk2's "Uncorrected Latency" block, printed with -U (which the engine
// always passes).
func (rep *wrkReport) wrk2Latency(r *result.Measurement, percentiles []float64) {
	var missing []float64
	switch {
	case rep.recorded != nil:
		var notes []string
		r.Corrected, missing, notes = rep.recorded.histogram(percentiles)
		r.Notes = append(r.Notes, notes...)
	default:
		h := &stats.HistogramData{}
		if rep.latency.known {
			h.Avg, h.StdDev, h.Max = rep.latency.avg, rep.latency.stdev, rep.latency.max
			if rep.calibrations == 0 {
				// Without calibration nothing was reset: wrk2 recorded
				// every completed response.
				h.Count = rep.requests
				h.Sum = h.Avg * float64(h.Count)
			}
		}
		r.Corrected = h
		r.Notes = append(r.Notes, "the output has no latency distribution (wrk2 ran without --latency): only the average, standard deviation and maximum are known")
	}
	if rep.uncorrected != nil {
		var missingU []float64
		var notes []string
		r.Latency, missingU, notes = rep.uncorrected.histogram(percentiles)
		missing = append(missing, missingU...)
		r.Notes = append(r.Notes, notes...)
	} else {
		copied := *r.Corrected
		r.Latency = &copied
		r.Notes = append(r.Notes, "the output has no uncorrected latency (wrk2 ran without -U): Latency holds wrk2's coordinated-omission-corrected latency, the same as Corrected")
	}
	if rep.calibrations > 0 {
		if n := r.Corrected.Count; n > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("wrk2 resets its latency histograms when its calibration ends, about 10 s into the run: the latency distributions cover the last %d of the %d requests, while request counts, codes and rps cover the whole run", n, rep.requests))
		} else {
			r.Notes = append(r.Notes, "wrk2 resets its latency histograms when its calibration ends, about 10 s into the run: latency statistics leave out the first ~10 s, while request counts, codes and rps cover the whole run")
		}
	}
	if rep.socket.timeout > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("wrk2 reported %d timeouts: every 2 s it counts the requests outstanding for longer than --timeout, so one slow request can count more than once, and requests that completed late stay in the latency histograms; they are counted under code %q", rep.socket.timeout, result.CodeError))
	}
	if len(missing) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("wrk2's output has no %s", percentileList(uniqueFloats(missing))))
	}
}

// histogram turns an HdrHistogram block into fortio's histogram form.
func (b *hdrBlock) histogram(percentiles []float64) (h *stats.HistogramData, missing []float64, notes []string) {
	h = spectrumHistogram(b.rows)
	if b.haveFooter {
		h.Avg, h.StdDev = b.mean, b.stdev
		if b.max > 0 {
			h.Max = b.max
		}
		switch {
		case len(b.rows) == 0:
			h.Count = b.total
		case b.total > 0 && b.total != h.Count:
			notes = append(notes, fmt.Sprintf("wrk2's histogram footer counts %d values but its spectrum %d: the spectrum's count is used", b.total, h.Count))
		}
		h.Sum = h.Avg * float64(h.Count)
	}
	h.Percentiles, missing = pickPercentiles(percentiles, b.printed, b.rows)
	return h, missing, notes
}

func uniqueFloats(fs []float64) []float64 {
	var out []float64
	for _, f := range fs {
		if !containsFloat(out, f) {
			out = append(out, f)
		}
	}
	return out
}
