// Package testclock is the one controllable clock that tests inject wherever sigil takes a now func() time.Time.
package testclock
