package main

import "testing"

func TestBalancedOrders(t *testing.T) {
	const n = 4
	orders := balancedOrders(n)
	follows := map[[2]int]int{}
	for pos := range n {
		seen := map[int]bool{}
		for _, o := range orders {
			seen[o[pos]] = true
		}
		if len(seen) != n {
			t.Errorf("position %d holds %v, not every contender", pos, seen)
		}
	}
	for _, o := range orders {
		for i := 1; i < n; i++ {
			follows[[2]int{o[i-1], o[i]}]++
		}
	}
	if len(follows) != n*(n-1) {
		t.Errorf("orders %v: %d distinct ordered neighbours, want every one of %d once", orders, len(follows), n*(n-1))
	}
}
