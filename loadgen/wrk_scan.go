package loadgen

// Reading wrk's and wrk2's text report into a wrkReport, line by line. What
// the figures mean for a run (codes, latency, notes) is wrk_result.go's.

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

func parseWrkReport(data []byte) (*wrkReport, error) {
	s := &wrkScanner{rep: &wrkReport{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxWrkLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := s.line(line); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", n+1, maxWrkLine)
		}
		return nil, err
	}
	return s.rep, nil
}

// wrkScanner reads a report one line at a time. Bare rows (percentiles,
// spectrum rows) mean something only after their header, so the scanner
// remembers the section it is in and the HdrHistogram block being read.
type wrkScanner struct {
	rep     *wrkReport
	block   *hdrBlock // the HdrHistogram block being read, if any
	section wrkSection
}

// line reads one trimmed, non-empty line. Lines it does not know (Lua
// script output, wrk2's debug dumps) are skipped; a line it knows but
// cannot read is an error. The order of the cases matters: "Latency
// Distribution" is not a thread stats row, and a four-field row is a
// spectrum row only inside a spectrum.
func (s *wrkScanner) line(line string) error {
	fields := strings.Fields(line)
	switch {
	case strings.HasPrefix(line, "Running ") && strings.Contains(line, " test @ "):
		return s.running(line)
	case wrkThreadsLine.MatchString(line):
		return s.threads(line)
	case strings.HasPrefix(line, "Thread calibration:"):
		s.rep.calibrations++
	case strings.HasPrefix(line, "Thread Stats"), fields[0] == "Req/Sec", strings.HasPrefix(line, "Transfer/sec:"):
		s.section = wrkSectionNone // headers and rows whose figures are not used
	case line == "Latency Distribution":
		s.rep.hasDistribution = true
		s.block, s.section = nil, wrkSectionDistribution
	case strings.HasPrefix(line, "Latency Distribution (HdrHistogram"):
		return s.hdrHeader(line)
	case fields[0] == "Latency" && len(fields) == 5 && fields[1] != "Distribution":
		return s.threadStats(line, fields)
	case line == "Detailed Percentile spectrum:":
		return s.spectrumHeader()
	case strings.HasPrefix(line, "#["):
		return s.footer(line)
	case strings.HasPrefix(line, "----"):
		s.block, s.section = nil, wrkSectionNone // the end of an HdrHistogram block
	case len(fields) == 2 && wrkPercentField.MatchString(fields[0]):
		return s.percentile(fields)
	case s.section == wrkSectionSpectrum && fields[0] == "Value":
		// the spectrum's column titles
	case s.section == wrkSectionSpectrum && len(fields) == 4:
		return s.spectrumRow(line, fields)
	case wrkSummaryLine.MatchString(line):
		return s.summary(line)
	case strings.HasPrefix(line, "Socket errors:"):
		return s.socketErrors(line)
	case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
		return s.non2xx3xx(line)
	case strings.HasPrefix(line, "Requests/sec:"):
		return s.requestsPerSecond(line)
	}
	return nil
}

// running reads "Running 30s test @ http://host/path".
func (s *wrkScanner) running(line string) error {
	head, url, _ := strings.Cut(line, " test @ ")
	d, ok, err := parseWrkTime(strings.TrimPrefix(head, "Running "))
	if err != nil || !ok {
		return fmt.Errorf("cannot read the test duration in %q", line)
	}
	s.rep.requestedDuration, s.rep.url = secondsDuration(d), strings.TrimSpace(url)
	s.section = wrkSectionNone
	return nil
}

// threads reads "2 threads and 10 connections".
func (s *wrkScanner) threads(line string) error {
	m := wrkThreadsLine.FindStringSubmatch(line)
	t, err1 := parseCount(m[1])
	c, err2 := parseCount(m[2])
	if err := errors.Join(err1, err2); err != nil || t > math.MaxInt32 || c > math.MaxInt32 {
		return fmt.Errorf("cannot read %q", line)
	}
	s.rep.threads, s.rep.connections = int(t), int(c)
	return nil
}

// hdrHeader starts one of wrk2's "Latency Distribution (HdrHistogram -
// Recorded Latency)" or "(... - Uncorrected Latency ...)" blocks.
func (s *wrkScanner) hdrHeader(line string) error {
	target := &s.rep.recorded
	if strings.Contains(line, "Uncorrected") {
		target = &s.rep.uncorrected
	}
	if *target != nil {
		return fmt.Errorf("a second %q block", line)
	}
	*target = &hdrBlock{}
	s.block, s.section = *target, wrkSectionHdrPercentiles
	return nil
}

// threadStats reads the Latency row of "Thread Stats":
// "Latency   635.91us    0.89ms  12.92ms   93.69%".
func (s *wrkScanner) threadStats(line string, fields []string) error {
	st, err := parseWrkThreadStats(fields[1:4])
	if err != nil {
		return fmt.Errorf("thread stats %q: %w", line, err)
	}
	s.rep.latency = st
	s.section = wrkSectionNone
	return nil
}

// spectrumHeader starts the detailed spectrum of an HdrHistogram block.
func (s *wrkScanner) spectrumHeader() error {
	if s.block == nil {
		return errors.New("a percentile spectrum outside an HdrHistogram block")
	}
	s.section = wrkSectionSpectrum
	return nil
}

// footer reads a line of an HdrHistogram block's footer.
func (s *wrkScanner) footer(line string) error {
	if s.block == nil {
		return fmt.Errorf("histogram footer %q outside an HdrHistogram block", line)
	}
	return s.block.readFooter(line)
}

// percentile reads a "99.000%  12.50ms" row of wrk's latency distribution
// or of an HdrHistogram block's printed percentiles.
func (s *wrkScanner) percentile(fields []string) error {
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
	switch s.section {
	case wrkSectionDistribution:
		list = &s.rep.distribution
	case wrkSectionHdrPercentiles:
		list = &s.block.printed
	default:
		return fmt.Errorf("percentile %s outside a latency distribution", fields[0])
	}
	if k := len(*list); k > 0 && (p <= (*list)[k-1].Percentile || v < (*list)[k-1].Value) {
		return fmt.Errorf("percentile %s %s goes below the one before it", fields[0], fields[1])
	}
	*list = append(*list, stats.Percentile{Percentile: p, Value: v})
	return nil
}

// spectrumRow reads one row of a detailed percentile spectrum.
func (s *wrkScanner) spectrumRow(line string, fields []string) error {
	row, err := parseSpectrumRow(fields)
	if err != nil {
		return fmt.Errorf("spectrum row %q: %w", line, err)
	}
	rows := s.block.rows
	if k := len(rows); k > 0 && (row.count < rows[k-1].count || row.value < rows[k-1].value) {
		return fmt.Errorf("spectrum row %q goes below the row before it", line)
	}
	s.block.rows = append(rows, row)
	return nil
}

// summary reads "39500 requests in 30.00s, 4.75MB read".
func (s *wrkScanner) summary(line string) error {
	m := wrkSummaryLine.FindStringSubmatch(line)
	req, err := parseCount(m[1])
	if err != nil {
		return fmt.Errorf("%q: %w", line, err)
	}
	d, ok, err := parseWrkTime(m[2])
	if err != nil || !ok {
		return fmt.Errorf("cannot read the run time in %q", line)
	}
	s.rep.hasSummary, s.rep.requests, s.rep.duration = true, req, secondsDuration(d)
	s.section = wrkSectionNone
	return nil
}

// socketErrors reads "Socket errors: connect 0, read 0, write 0, timeout 12".
func (s *wrkScanner) socketErrors(line string) error {
	m := wrkSocketLine.FindStringSubmatch(line)
	if m == nil {
		return fmt.Errorf("cannot read %q", line)
	}
	var errs [4]int64
	for i := range errs {
		v, err := parseCount(m[i+1])
		if err != nil {
			return fmt.Errorf("%q: %w", line, err)
		}
		errs[i] = v
	}
	sock := &s.rep.socket
	sock.connect, sock.read, sock.write, sock.timeout = errs[0], errs[1], errs[2], errs[3]
	s.section = wrkSectionNone
	return nil
}

// non2xx3xx reads "Non-2xx or 3xx responses: 17".
func (s *wrkScanner) non2xx3xx(line string) error {
	v, err := parseCount(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")))
	if err != nil {
		return fmt.Errorf("%q: %w", line, err)
	}
	s.rep.non2xx3xx = v
	s.section = wrkSectionNone
	return nil
}

// requestsPerSecond reads "Requests/sec:   1316.58".
func (s *wrkScanner) requestsPerSecond(line string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Requests/sec:")), 64)
	if err != nil || !finite(v) || v < 0 {
		return fmt.Errorf("cannot read %q", line)
	}
	s.rep.rps, s.rep.hasRPS = v, true
	s.section = wrkSectionNone
	return nil
}

// readFooter reads "#[Mean = 6.602, StdDeviation = 1.919]" and
// "#[Max = 12.496, Total count = 39500]" (values in milliseconds).
func (b *hdrBlock) readFooter(line string) error {
	body := strings.TrimSuffix(strings.TrimPrefix(line, "#["), "]")
	for part := range strings.SplitSeq(body, ",") {
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
