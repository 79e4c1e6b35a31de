//go:build !race

package httpapi_test

// allocNoise is how far two AllocsPerRun averages of the same work may
// differ: without the race detector, not at all.
const allocNoise = 0
