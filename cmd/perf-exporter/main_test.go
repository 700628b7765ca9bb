package main

import (
	"slices"
	"testing"
)

func TestJoinDashValues(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"run", "--json", "-", "--qps", "5"}, []string{"run", "--json=-", "--qps", "5"}},
		{[]string{"transform", "--from", "wrk", "-"}, []string{"transform", "--from", "wrk", "-"}},
		{[]string{"run", "--json=-"}, []string{"run", "--json=-"}},
		{[]string{"-"}, []string{"-"}},
	} {
		if got := joinDashValues(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("joinDashValues(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
