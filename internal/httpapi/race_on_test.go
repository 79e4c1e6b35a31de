//go:build race

package httpapi_test

// allocNoise is how far two AllocsPerRun averages of the same work may
// differ: under the race detector sync.Pool drops items at random (echo
// pools its contexts), so the averages wander by one.
const allocNoise = 1
