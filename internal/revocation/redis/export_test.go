package redis

// SetIndexSizes sets how many members one read of an index set returns,
// how many sets one pipeline reads and how many pipelines run at once, so
// that a small denylist takes the paths a large one does; the returned
// function restores the defaults.
func SetIndexSizes(chunk, pipeline, readers int) (restore func()) {
	c, p, r := indexChunk, indexPipeline, indexReaders
	indexChunk, indexPipeline, indexReaders = chunk, pipeline, readers
	return func() { indexChunk, indexPipeline, indexReaders = c, p, r }
}

// EachMember is eachMember, for the parser's tests.
var EachMember = eachMember
