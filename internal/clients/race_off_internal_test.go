//go:build !race

package clients

// allocRefillsExpected says whether a sync.Pool in use may need refills:
// without the race detector it keeps what is put back.
const allocRefillsExpected = false
