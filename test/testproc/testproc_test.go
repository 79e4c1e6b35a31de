package testproc_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/test/testproc"
)

func TestFreePort(t *testing.T) {
	t.Parallel()
	p := testproc.FreePort(t)
	require.Positive(t, p)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	require.NoError(t, err)
	require.NoError(t, l.Close())
}

func TestBuffer_ConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b testproc.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	require.Equal(t, strings.Repeat("x", 800), b.String())
}
