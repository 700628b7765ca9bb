package store

import (
	"reflect"
	"testing"
	"time"
)

// Every field of Summary survives the binary form: a field added to
// Summary without a place in encodeSummary fails here.
func TestSummaryCodecRoundTripsEveryField(t *testing.T) {
	var s Summary
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case string:
			f.SetString(v.Type().Field(i).Name + "-value")
		case time.Time:
			f.Set(reflect.ValueOf(time.Date(2026, 11, 27, 4, 5, 6, 789, time.FixedZone("", 3600))))
		case time.Duration, int64, int:
			f.SetInt(int64(1000 + i))
		case float64:
			f.SetFloat(0.5 + float64(i))
		case map[string]float64:
			f.Set(reflect.ValueOf(map[string]float64{"50": 0.01, "99.9": 0.2}))
		default:
			t.Fatalf("Summary.%s has type %s, which the test (and encodeSummary?) does not know", v.Type().Field(i).Name, f.Type())
		}
	}
	got, err := decodeBinarySummary(encodeSummary(s))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) || !got.StartTime.Equal(s.StartTime) {
		t.Errorf("round trip changed the summary:\n got %+v\nwant %+v", got, s)
	}
	utc := Summary{StartTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if got, _ := decodeBinarySummary(encodeSummary(utc)); got.StartTime.Location() != time.UTC {
		t.Errorf("a UTC start comes back in %v", got.StartTime.Location())
	}
	// A damaged summary is an error, never a panic or a half summary.
	b := encodeSummary(s)
	for n := range len(b) {
		if _, err := decodeBinarySummary(b[:n]); err == nil {
			t.Fatalf("the first %d of %d bytes decode without error", n, len(b))
		}
	}
}
