package revocation

// SetLoadSizes makes Sync merge batches of batch entries and puts every
// shard array of at least arena bytes outside the heap, so that a small
// denylist goes through the paths a large one takes; the returned function
// restores the defaults.
func SetLoadSizes(batch, arena int) (restore func()) {
	oldBatch, oldArena := syncBatch, arenaMin
	syncBatch, arenaMin = batch, arena
	return func() { syncBatch, arenaMin = oldBatch, oldArena }
}
