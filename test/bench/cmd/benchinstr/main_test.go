package main

import "testing"

func TestMoreOrFewer(t *testing.T) {
	for d, want := range map[int64]string{17235: "17,235 more", -33264: "33,264 fewer", 0: "0 more"} {
		if got := moreOrFewer(d); got != want {
			t.Errorf("moreOrFewer(%d) = %q, want %q", d, got, want)
		}
	}
}
