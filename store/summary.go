package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Summaries are stored in a small binary form: a start replays every
// profile's summaries (baselines, objective streaks, change points), and
// with a thousand profiles of a thousand runs, decoding a million JSON
// summaries took seconds. Summaries written as JSON (plain or zstd) by
// earlier versions stay readable.
//
// The form is summaryV1 then the fields of Summary in their order:
// strings as a length and bytes, integers as varints, floats as 8 bytes,
// the start time as Unix nanoseconds and its zone's offset in seconds,
// Latency as a count and (label, seconds) pairs sorted by label.
// TestSummaryCodecRoundTripsEveryField fails when Summary gains a field
// this form does not carry.

const summaryV1 = 0x01

func encodeSummary(s Summary) []byte {
	b := make([]byte, 0, 160)
	b = append(b, summaryV1)
	b = appendString(b, s.RunID)
	b = appendString(b, s.Profile)
	b = appendString(b, s.Engine)
	_, offset := s.StartTime.Zone()
	b = binary.AppendVarint(b, s.StartTime.UnixNano())
	b = binary.AppendVarint(b, int64(offset))
	b = binary.AppendVarint(b, int64(s.Duration))
	b = appendString(b, s.Outcome)
	b = appendString(b, s.Error)
	b = binary.AppendVarint(b, s.Requests)
	b = appendString(b, s.RequestedQPS)
	b = appendFloat(b, s.ActualQPS)
	b = appendFloat(b, s.ErrorRatio)
	labels := make([]string, 0, len(s.Latency))
	for l := range s.Latency {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	b = binary.AppendUvarint(b, uint64(len(labels)))
	for _, l := range labels {
		b = appendString(b, l)
		b = appendFloat(b, s.Latency[l])
	}
	b = appendFloat(b, s.CorrectedP99)
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

var errTruncated = errors.New("truncated summary")

// summaryReader reads the fields of an encoded summary; the first error
// sticks.
type summaryReader struct {
	b   []byte
	err error
}

func (r *summaryReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *summaryReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *summaryReader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if uint64(len(r.b)) < n {
		r.err = errTruncated
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *summaryReader) float() float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = errTruncated
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func decodeBinarySummary(b []byte) (Summary, error) {
	if len(b) == 0 || b[0] != summaryV1 {
		return Summary{}, fmt.Errorf("not a summary of form %d", summaryV1)
	}
	r := &summaryReader{b: b[1:]}
	var s Summary
	s.RunID = r.string()
	s.Profile = r.string()
	s.Engine = r.string()
	nanos, offset := r.varint(), r.varint()
	s.StartTime = time.Unix(0, nanos).UTC()
	if offset != 0 {
		s.StartTime = s.StartTime.In(time.FixedZone("", int(offset)))
	}
	s.Duration = time.Duration(r.varint())
	s.Outcome = r.string()
	s.Error = r.string()
	s.Requests = r.varint()
	s.RequestedQPS = r.string()
	s.ActualQPS = r.float()
	s.ErrorRatio = r.float()
	if n := r.uvarint(); n > 0 && r.err == nil {
		if n > uint64(len(r.b)) {
			return Summary{}, errTruncated
		}
		s.Latency = make(map[string]float64, n)
		for range n {
			l := r.string()
			s.Latency[l] = r.float()
		}
	}
	s.CorrectedP99 = r.float()
	if r.err != nil {
		return Summary{}, r.err
	}
	if len(r.b) != 0 {
		return Summary{}, fmt.Errorf("%d bytes after the summary", len(r.b))
	}
	return s, nil
}
