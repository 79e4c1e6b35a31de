package redis

import (
	"errors"
	"fmt"
	"net/url"

	goredis "github.com/redis/go-redis/v9"
)

// NewClient returns a go-redis client for rawURL:
//
//	redis://[user:password@]host:port/db   plain TCP
//	rediss://[user:password@]host:port/db  TLS
//
// with go-redis's query parameters (dial_timeout, max_retries, ...). Errors
// never repeat the URL, which may hold a password.
func NewClient(rawURL string) (goredis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse redis URL: %w", redactURLError(err))
	}
	switch u.Scheme {
	case "redis", "rediss":
		return newSingle(rawURL)
	// Sentinel ("redis+sentinel") and Cluster ("redis+cluster") go here, each
	// building goredis.UniversalOptions for goredis.NewUniversalClient.
	default:
		return nil, fmt.Errorf("parse redis URL: unsupported scheme %q (want redis or rediss)", u.Scheme)
	}
}

// newSingle returns a client of one Redis node.
func newSingle(rawURL string) (goredis.UniversalClient, error) {
	opts, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse redis URL: %w", redactURLError(err))
	}
	return goredis.NewClient(opts), nil
}

// redactURLError drops the URL that a *url.Error quotes.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
