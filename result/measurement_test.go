package result

import (
	"fmt"
	"testing"
)

// A target failing in many ways keeps a bounded result: the most frequent
// reasons, the rest under "other", no count lost.
func TestBoundReasons(t *testing.T) {
	reasons := map[string]int64{}
	var total int64
	for i := range 40 {
		reasons[fmt.Sprintf("reason %02d", i)] = int64(100 - i)
		total += int64(100 - i)
	}
	got := BoundReasons(reasons)
	if len(got) != MaxErrorReasons {
		t.Fatalf("%d reasons kept, want %d", len(got), MaxErrorReasons)
	}
	var sum int64
	for _, n := range got {
		sum += n
	}
	if sum != total {
		t.Errorf("counts add to %d, want %d", sum, total)
	}
	if got["reason 00"] != 100 || got["reason 14"] != 86 || got["reason 15"] != 0 {
		t.Errorf("kept %v: want the 15 most frequent and %q", got, ReasonOther)
	}
	if BoundReasons(nil) != nil || len(BoundReasons(map[string]int64{"a": 1})) != 1 {
		t.Error("few reasons are kept as they are")
	}
}
