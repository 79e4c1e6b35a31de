package redis

import "github.com/sigil-dev/sigil/internal/clients"

// DecodeClient reads a stored client record as the store does, for tests
// that inspect the raw keys.
func DecodeClient(b []byte) (clients.Client, error) { return decodeClient("decode client", b) }
