package redis

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// Schemes NewClient accepts, by topology.
const (
	SchemeSingle      = "redis"
	SchemeSingleTLS   = "rediss"
	SchemeCluster     = "redis+cluster"
	SchemeClusterTLS  = "rediss+cluster"
	SchemeSentinel    = "redis+sentinel"
	SchemeSentinelTLS = "rediss+sentinel"
)

// ValidScheme reports whether NewClient accepts URLs of scheme.
func ValidScheme(scheme string) bool {
	switch scheme {
	case SchemeSingle, SchemeSingleTLS, SchemeCluster, SchemeClusterTLS, SchemeSentinel, SchemeSentinelTLS:
		return true
	}
	return false
}

// NewClient returns a go-redis client for rawURL:
//
//	redis://[user:password@]host:port/db        one node (rediss:// TLS)
//	redis+cluster://[user:password@]h1:p1,h2:p2,...
//	                                            Redis Cluster from a seed list
//	                                            (rediss+cluster:// TLS); no db
//	redis+sentinel://[user:password@]s1:p1,s2:p2,.../db?master_name=NAME
//	                                            the master that Sentinel names
//	                                            (rediss+sentinel:// TLS); "master"
//	                                            is accepted for "master_name";
//	                                            user:password authenticate to the
//	                                            sentinels, query parameters
//	                                            username and password to the master
//
// with go-redis's query parameters (dial_timeout, max_retries, ...; "addr"
// adds seed addresses too). Every client honours its callers' context
// deadlines (go-redis ContextTimeoutEnabled), so a slow Redis costs a request
// its store timeout, not go-redis's read timeout and retries. Errors never
// repeat the URL, which may hold a password.
func NewClient(rawURL string) (goredis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse redis URL: %w", redactURLError(err))
	}
	switch u.Scheme {
	case SchemeSingle, SchemeSingleTLS:
		return newSingle(rawURL)
	case SchemeCluster, SchemeClusterTLS:
		opts, err := ParseClusterURL(rawURL)
		if err != nil {
			return nil, err
		}
		opts.ContextTimeoutEnabled = true
		if opts.ClientName == "" {
			opts.ClientName = instanceClientName() // see the Sentinel case
		}
		return goredis.NewClusterClient(opts), nil
	case SchemeSentinel, SchemeSentinelTLS:
		opts, err := ParseSentinelURL(rawURL)
		if err != nil {
			return nil, err
		}
		opts.ContextTimeoutEnabled = true
		if opts.ClientName == "" {
			// A name of this process's own, so that the revocation
			// subscription can find itself on the master (CLIENT LIST)
			// and move after a failover that left it behind.
			opts.ClientName = instanceClientName()
		}
		return goredis.NewFailoverClient(opts), nil
	default:
		return nil, fmt.Errorf("parse redis URL: unsupported scheme %q (want redis, rediss, redis+cluster, rediss+cluster, redis+sentinel or rediss+sentinel)", u.Scheme)
	}
}

// instanceClientName is "sigil-" and 8 random bytes in hex.
func instanceClientName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "sigil-" + hex.EncodeToString(b)
}

// newSingle returns a client of one Redis node.
func newSingle(rawURL string) (goredis.UniversalClient, error) {
	opts, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse redis URL: %w", redactURLError(err))
	}
	opts.ContextTimeoutEnabled = true
	return goredis.NewClient(opts), nil
}

// ParseClusterURL reads a redis+cluster:// or rediss+cluster:// URL (see
// NewClient) into go-redis cluster options.
func ParseClusterURL(rawURL string) (*goredis.ClusterOptions, error) {
	u, err := seedURL(rawURL, SchemeCluster, SchemeClusterTLS)
	if err != nil {
		return nil, fmt.Errorf("parse redis cluster URL: %w", err)
	}
	if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
		return nil, fmt.Errorf("parse redis cluster URL: database %q: a cluster has only database 0", p)
	}
	u.Path = ""
	opts, err := goredis.ParseClusterURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("parse redis cluster URL: %w", redactURLError(err))
	}
	return opts, nil
}

// ParseSentinelURL reads a redis+sentinel:// or rediss+sentinel:// URL (see
// NewClient) into go-redis failover options; the master's name is required.
func ParseSentinelURL(rawURL string) (*goredis.FailoverOptions, error) {
	u, err := seedURL(rawURL, SchemeSentinel, SchemeSentinelTLS)
	if err != nil {
		return nil, fmt.Errorf("parse redis sentinel URL: %w", err)
	}
	q := u.Query()
	if q.Has("master") {
		if q.Has("master_name") {
			return nil, errors.New("parse redis sentinel URL: give master or master_name, not both")
		}
		q["master_name"] = q["master"]
		q.Del("master")
		u.RawQuery = q.Encode()
	}
	opts, err := goredis.ParseFailoverURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("parse redis sentinel URL: %w", redactURLError(err))
	}
	if opts.MasterName == "" {
		return nil, errors.New("parse redis sentinel URL: master_name is required (the name the sentinels monitor)")
	}
	return opts, nil
}

// seedURL turns scheme://[userinfo@]h1:p1,h2:p2/... into the form go-redis
// parses, redis[s]://[userinfo@]h1:p1/...?addr=h2:p2, after checking that
// every seed is a host:port.
func seedURL(rawURL, plain, tls string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, redactURLError(err)
	}
	switch u.Scheme {
	case plain:
		u.Scheme = SchemeSingle
	case tls:
		u.Scheme = SchemeSingleTLS
	default:
		return nil, fmt.Errorf("scheme %q, want %s or %s", u.Scheme, plain, tls)
	}
	if u.Opaque != "" {
		return nil, errors.New("want scheme://host:port,host:port")
	}
	seeds := strings.Split(u.Host, ",")
	for _, s := range seeds {
		h, p, err := net.SplitHostPort(s)
		if err != nil || h == "" || p == "" {
			return nil, fmt.Errorf("seed %q: want host:port", s)
		}
	}
	u.Host = seeds[0]
	if len(seeds) > 1 {
		q := u.Query()
		for _, s := range seeds[1:] {
			q.Add("addr", s)
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// redactURLError drops the URL that a *url.Error quotes.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
