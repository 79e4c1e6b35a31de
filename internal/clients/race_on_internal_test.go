//go:build race

package clients

// allocRefillsExpected says whether a sync.Pool in use may need refills:
// under the race detector sync.Pool drops a quarter of what is put back.
const allocRefillsExpected = true
