package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang/snappy"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/prompb"
)

// Doer sends an HTTP request; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// RemoteWriter sends series with the Prometheus remote-write protocol 1.0
// (snappy-compressed protobuf WriteRequest).
type RemoteWriter struct {
	URL    string
	Client Doer
}

// Write sends every series of s with one sample each, stamped at.
func (w RemoteWriter) Write(ctx context.Context, s *Series, at time.Time) error {
	families, err := s.Gather()
	if err != nil {
		return fmt.Errorf("remote write: gathering the series: %w", err)
	}
	req := WriteRequest(families, s.Labels(), at)
	data, err := req.Marshal()
	if err != nil {
		return fmt.Errorf("remote write: encoding: %w", err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(snappy.Encode(nil, data)))
	if err != nil {
		return fmt.Errorf("remote write to %s: %w", w.URL, err)
	}
	httpReq.Header.Set("Content-Encoding", "snappy")
	httpReq.Header.Set("Content-Type", "application/x-protobuf")
	httpReq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	httpReq.Header.Set("User-Agent", "perf-exporter")
	resp, err := w.Client.Do(httpReq)
	if err != nil {
		if urlErr, ok := errors.AsType[*url.Error](err); ok {
			err = urlErr.Err // the URL is said once, first
		}
		return fmt.Errorf("remote write to %s: %w", w.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("remote write to %s: %s: %s", w.URL, resp.Status, firstLine(string(body)))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
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

// WriteRequest turns gathered families into a remote-write request: one
// sample per series at the time given, the extra labels on every series,
// histograms as their classic _bucket (with le), _sum and _count series,
// as a scrape of the same registry would store them.
func WriteRequest(families []*dto.MetricFamily, extra map[string]string, at time.Time) *prompb.WriteRequest {
	ts := at.UnixMilli()
	req := &prompb.WriteRequest{}
	add := func(name string, m *dto.Metric, v float64, more ...prompb.Label) {
		labels := []prompb.Label{{Name: "__name__", Value: name}}
		for k, val := range extra {
			labels = append(labels, prompb.Label{Name: k, Value: val})
		}
		for _, l := range m.GetLabel() {
			// An empty value is no label, as a scrape stores it.
			if l.GetValue() != "" {
				labels = append(labels, prompb.Label{Name: l.GetName(), Value: l.GetValue()})
			}
		}
		labels = append(labels, more...)
		sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: labels, Samples: []prompb.Sample{{Value: v, Timestamp: ts}}})
	}
	for _, f := range families {
		name := f.GetName()
		req.Metadata = append(req.Metadata, prompb.MetricMetadata{Type: metadataType(f.GetType()), MetricFamilyName: name, Help: f.GetHelp()})
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, m, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, m, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					if math.IsInf(b.GetUpperBound(), +1) {
						continue // the +Inf bucket is the count, added below
					}
					add(name+"_bucket", m, float64(b.GetCumulativeCount()),
						prompb.Label{Name: "le", Value: formatFloat(b.GetUpperBound())})
				}
				add(name+"_bucket", m, float64(h.GetSampleCount()), prompb.Label{Name: "le", Value: "+Inf"})
				add(name+"_sum", m, h.GetSampleSum())
				add(name+"_count", m, float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					add(name, m, q.GetValue(), prompb.Label{Name: "quantile", Value: formatFloat(q.GetQuantile())})
				}
				add(name+"_sum", m, s.GetSampleSum())
				add(name+"_count", m, float64(s.GetSampleCount()))
			}
		}
	}
	return req
}

// formatFloat writes le and quantile values as Prometheus's text format
// does, so the series are the ones a scrape would create.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func metadataType(t dto.MetricType) prompb.MetricMetadata_MetricType {
	switch t {
	case dto.MetricType_COUNTER:
		return prompb.MetricMetadata_COUNTER
	case dto.MetricType_GAUGE:
		return prompb.MetricMetadata_GAUGE
	case dto.MetricType_HISTOGRAM:
		return prompb.MetricMetadata_HISTOGRAM
	case dto.MetricType_GAUGE_HISTOGRAM:
		return prompb.MetricMetadata_GAUGEHISTOGRAM
	case dto.MetricType_SUMMARY:
		return prompb.MetricMetadata_SUMMARY
	default:
		return prompb.MetricMetadata_UNKNOWN
	}
}
