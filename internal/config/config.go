package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"
)

// Config is the file + environment configuration of `sigil serve`. Every key
// can be overridden by the environment variable named in its env tag,
// prefixed with SIGIL_ (e.g. redis.url → SIGIL_REDIS_URL).
type Config struct {
	// Mode is "dev" (generate a key into an empty keys dir, print a generated
	// admin secret) or "prod" (refuse to start without keys, pepper and admin secret source).
	Mode     string `yaml:"mode" env:"MODE"`
	Addr     string `yaml:"addr" env:"ADDR"`
	Issuer   string `yaml:"issuer" env:"ISSUER"`
	Audience string `yaml:"audience" env:"AUDIENCE"`
	// AdminSecret, when set, makes a client "admin" with role admin and this secret exist after start.
	AdminSecret     string `yaml:"admin_secret" env:"ADMIN_SECRET"`
	AdminSecretFile string `yaml:"admin_secret_file" env:"ADMIN_SECRET_FILE"`
	// Pepper keys the HMAC that stores client secrets. Required with Redis (it
	// must survive restarts); generated per process with the memory store.
	Pepper     string `yaml:"pepper" env:"PEPPER"`
	PepperFile string `yaml:"pepper_file" env:"PEPPER_FILE"`

	Redis      Redis      `yaml:"redis" envPrefix:"REDIS_"`
	Keys       Keys       `yaml:"keys" envPrefix:"KEYS_"`
	Tokens     Tokens     `yaml:"tokens" envPrefix:"TOKENS_"`
	Revocation Revocation `yaml:"revocation" envPrefix:"REVOCATION_"`
	HTTP       HTTP       `yaml:"http" envPrefix:"HTTP_"`
	Log        Log        `yaml:"log" envPrefix:"LOG_"`
	Registry   Registry   `yaml:"registry" envPrefix:"REGISTRY_"`
	Auth       Auth       `yaml:"auth" envPrefix:"AUTH_"`
	View       View       `yaml:"view" envPrefix:"VIEW_"`
	Gateway    Gateway    `yaml:"gateway" envPrefix:"GATEWAY_"`
	Cloud      Cloud      `yaml:"cloud" envPrefix:"CLOUD_"`
	Notify     Notify     `yaml:"notify" envPrefix:"NOTIFY_"`
	Console    Console    `yaml:"console" envPrefix:"CONSOLE_"`
	Debug      Debug      `yaml:"debug" envPrefix:"DEBUG_"`
	Runtime    Runtime    `yaml:"runtime" envPrefix:"RUNTIME_"`
}

// Runtime tunes the Go runtime under `sigil serve`.
type Runtime struct {
	// GCHeapFloorMiB is the heap size below which the collector does not
	// start a cycle (internal/gcfloor): the heap goal is the larger of it
	// (less the denylist's tables held outside the heap) and twice the live
	// heap. 0 leaves the collector at GOGC=100. Ignored when
	// the environment sets GOGC (the operator's choice wins); a GOMEMLIMIT
	// below it caps it.
	GCHeapFloorMiB int `yaml:"gc_heap_floor_mib" env:"GC_HEAP_FLOOR_MIB"`
}

// MaxGCHeapFloorMiB bounds runtime.gc_heap_floor_mib (64 GiB).
const MaxGCHeapFloorMiB = 64 << 10

// Console configures the admin console's sign-in sessions (/console/),
// console tokens, the owner-bound credential of the <sigil-api-tokens>
// component (POST /api/console-tokens), and the host pages that embed it.
type Console struct {
	// SessionIdle ends a session not used for this long (kept to within a
	// minute: a session's last use is written at most once a minute).
	SessionIdle time.Duration `yaml:"session_idle" env:"SESSION_IDLE"`
	// SessionMax ends every session this long after sign-in.
	SessionMax time.Duration `yaml:"session_max" env:"SESSION_MAX"`
	// TokenMaxTTL is the longest lifetime a console token may be asked
	// for (1m to 24h; default 1h). A request without ttl gets 10m.
	TokenMaxTTL time.Duration `yaml:"token_max_ttl" env:"TOKEN_MAX_TTL"`
	// AllowedOrigins are the host pages (scheme://host[:port]) that may
	// embed <sigil-api-tokens>: their browsers may call /api/tokens* and
	// /api/scopes cross-origin with a console token. Never a wildcard and
	// never with cookies. In the environment: comma-separated.
	AllowedOrigins []string `yaml:"allowed_origins" env:"ALLOWED_ORIGINS" envSeparator:","`
}

// Debug configures what operators use to look inside a running process.
type Debug struct {
	// PprofAddr, when set, serves Go's profiler (net/http/pprof, under
	// /debug/pprof/) on a listener of its own at this loopback host:port,
	// never on addr; empty (the default) serves it nowhere.
	PprofAddr string `yaml:"pprof_addr" env:"PPROF_ADDR"`
}

// View configures GET /view/{token}, the iframe entry of report tokens.
type View struct {
	// URLTemplate is where a live report token is redirected, with
	// {reportId} and {token} filled in, e.g.
	// https://viewer.example.com/reports/{reportId}?token={token}; empty
	// turns the route off.
	URLTemplate string `yaml:"url_template" env:"URL_TEMPLATE"`
}

// redisSchemes are the redis.url schemes: one node, Cluster (seed list) and
// Sentinel, each plain or TLS (internal/store/redis.NewClient).
var redisSchemes = []string{"redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel"}

// Redis configures the production store. An empty URL selects the memory store.
type Redis struct {
	URL    string `yaml:"url" env:"URL"`
	Prefix string `yaml:"prefix" env:"PREFIX"`
}

// Keys configures signing keys.
type Keys struct {
	Dir string `yaml:"dir" env:"DIR"`
	// Active is the kid that signs; empty picks the newest key file.
	Active string `yaml:"active" env:"ACTIVE"`
	// HS256SecretFile enables HS256 with the secret in this file (never published in JWKS).
	HS256SecretFile string `yaml:"hs256_secret_file" env:"HS256_SECRET_FILE"`
}

// Tokens configures minting and verification.
type Tokens struct {
	EmbedDefaultExpiry time.Duration `yaml:"embed_default_expiry" env:"EMBED_DEFAULT_EXPIRY"`
	EmbedMaxExpiry     time.Duration `yaml:"embed_max_expiry" env:"EMBED_MAX_EXPIRY"`
	Leeway             time.Duration `yaml:"leeway" env:"LEEWAY"`
	// CacheSize bounds the verified-token cache; 0 disables it.
	CacheSize int `yaml:"cache_size" env:"CACHE_SIZE"`
	// RefreshMaxLifetime is the longest a chain of embed token refreshes
	// lives, from the mint that started it; then the holder mints anew.
	RefreshMaxLifetime time.Duration `yaml:"refresh_max_lifetime" env:"REFRESH_MAX_LIFETIME"`
	// RefreshMinAge is how old an embed token must be (at most half its
	// lifetime) before it can be refreshed: 429 + Retry-After before.
	RefreshMinAge time.Duration `yaml:"refresh_min_age" env:"REFRESH_MIN_AGE"`
}

// Revocation configures how revocations are written and checked.
type Revocation struct {
	// Mode is "replica" (check an in-memory replica of the Redis denylist,
	// kept current by pub/sub) or "direct" (ask Redis on every request).
	// Without Redis the memory store is checked directly either way.
	Mode string `yaml:"mode" env:"MODE"`
	// MaxStaleness is how long verification goes on from the replica
	// without contact with Redis before failing closed (503).
	MaxStaleness time.Duration `yaml:"max_staleness" env:"MAX_STALENESS"`
	// ResyncInterval is the period of the replica's full reloads.
	ResyncInterval time.Duration `yaml:"resync_interval" env:"RESYNC_INTERVAL"`
	// RetryAfter is the Retry-After sent with a 503 when the store can't take a revocation.
	RetryAfter time.Duration `yaml:"retry_after" env:"RETRY_AFTER"`
	// MinReplicas is how many Redis replicas (of the written key's master)
	// must confirm every revocation write (WAIT) before it is acknowledged;
	// 0 acknowledges once the master has it. Fewer within ReplicaTimeout:
	// 503 + Retry-After, never 204.
	MinReplicas int `yaml:"min_replicas" env:"MIN_REPLICAS"`
	// ReplicaTimeout is WAIT's timeout; below http.store_timeout.
	ReplicaTimeout time.Duration `yaml:"replica_timeout" env:"REPLICA_TIMEOUT"`
}

// HTTP configures the listener.
type HTTP struct {
	ReadTimeout     time.Duration `yaml:"read_timeout" env:"READ_TIMEOUT"`
	WriteTimeout    time.Duration `yaml:"write_timeout" env:"WRITE_TIMEOUT"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"SHUTDOWN_TIMEOUT"`
	// StoreTimeout bounds every store call a request makes.
	StoreTimeout time.Duration `yaml:"store_timeout" env:"STORE_TIMEOUT"`
	// CORSAllowedOrigins are the browser origins (scheme://host[:port])
	// allowed to call the token, refresh, invalidate and verify endpoints
	// cross-origin; empty allows none. Env: comma-separated.
	CORSAllowedOrigins []string `yaml:"cors_allowed_origins" env:"CORS_ALLOWED_ORIGINS" envSeparator:","`
	// TrustedProxies are the CIDRs of the reverse proxies in front of
	// sigil: only when the peer is one of them is the client address read
	// from X-Forwarded-For (the nearest address not in these ranges); empty
	// uses the peer's address and ignores the header. Env: comma-separated.
	TrustedProxies []string `yaml:"trusted_proxies" env:"TRUSTED_PROXIES" envSeparator:","`
}

// Registry configures registered tokens (report, app-view and API tokens).
type Registry struct {
	// RevealTokens keeps each JWT sealed at rest (AES-GCM) so that reads
	// and listings can show it again; off, a JWT is shown once.
	RevealTokens bool `yaml:"reveal_tokens" env:"REVEAL_TOKENS"`
	// RevealKeyFile holds the 32-byte AES key that seals JWTs, raw or as
	// 64 hex characters; required with RevealTokens.
	RevealKeyFile string `yaml:"reveal_key_file" env:"REVEAL_KEY_FILE"`
	// JanitorInterval is how often expired records are deleted.
	JanitorInterval time.Duration `yaml:"janitor_interval" env:"JANITOR_INTERVAL"`
	// Retention is how long a revoked or expired record (and its log)
	// stays readable before the janitor removes it (default 30 days).
	Retention time.Duration `yaml:"retention" env:"RETENTION"`
	// Scopes maps each scope API tokens may carry to its label; empty keeps
	// the built-in set (meta:read, report:read). In the environment:
	// SIGIL_REGISTRY_SCOPES="meta:read=Meta Record,report:read=Report Record".
	Scopes map[string]string `yaml:"scopes" env:"SCOPES" envKeyValSeparator:"="`

	// RevealKey is the key read from RevealKeyFile.
	RevealKey []byte `yaml:"-"`
}

// Auth configures the rate limit of failed client authentication: at most
// MaxFailures per Window, per client id and per remote address, counted in
// the store so that the limit holds across instances.
type Auth struct {
	MaxFailures int           `yaml:"max_failures" env:"MAX_FAILURES"`
	Window      time.Duration `yaml:"window" env:"WINDOW"`
}

// Log configures logging.
type Log struct {
	Level string `yaml:"level" env:"LEVEL"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Mode:     "dev",
		Addr:     "127.0.0.1:8080",
		Audience: "sigil",
		Redis:    Redis{Prefix: "sigil:"},
		Keys:     Keys{Dir: "keys"},
		Tokens: Tokens{
			EmbedDefaultExpiry: time.Hour,
			EmbedMaxExpiry:     24 * time.Hour,
			Leeway:             30 * time.Second,
			CacheSize:          100_000,
			RefreshMaxLifetime: 24 * time.Hour,
			RefreshMinAge:      time.Minute,
		},
		Revocation: Revocation{Mode: "replica", MaxStaleness: 5 * time.Minute, ResyncInterval: time.Minute, RetryAfter: 2 * time.Second, ReplicaTimeout: time.Second},
		HTTP: HTTP{
			ReadTimeout:     10 * time.Second,
			WriteTimeout:    10 * time.Second,
			ShutdownTimeout: 15 * time.Second,
			StoreTimeout:    2 * time.Second,
		},
		Log:      Log{Level: "info"},
		Registry: Registry{JanitorInterval: time.Hour, Retention: 30 * 24 * time.Hour},
		Console:  Console{TokenMaxTTL: time.Hour, SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour},
		Auth:     Auth{MaxFailures: 10, Window: time.Minute},
		Cloud:    Cloud{Timeout: time.Second},
		Notify:   defaultNotify(),
		Runtime:  Runtime{GCHeapFloorMiB: 128},
	}
}

// Load reads the YAML file at path (if path is non-empty) over the defaults,
// applies the environment (environ as from os.Environ), fills derived
// defaults and validates. Errors name the offending key.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		// An empty file decodes to io.EOF: no overrides.
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, env.ToMap(environ)); err != nil {
		return cfg, err
	}
	if err := cfg.resolveSecrets(); err != nil {
		return cfg, err
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "http://" + cfg.Addr
	}
	return cfg, cfg.Validate()
}

// applyEnv overrides cfg from SIGIL_* variables. The library names the Go
// field on a parse error; users set variables, so the error names the variable.
func applyEnv(cfg *Config, vars map[string]string) error {
	opts := env.Options{Prefix: "SIGIL_", Environment: vars}
	err := env.ParseWithOptions(cfg, opts)
	if err == nil {
		return nil
	}
	params, _ := env.GetFieldParamsWithOptions(cfg, opts)
	for _, p := range params {
		v, ok := vars[p.Key]
		if !ok {
			continue
		}
		probe := Default()
		if env.ParseWithOptions(&probe, env.Options{Prefix: "SIGIL_", Environment: map[string]string{p.Key: v}}) != nil {
			return fmt.Errorf("environment variable %s: invalid value: %w", p.Key, err)
		}
	}
	return fmt.Errorf("environment: %w", err)
}

func (c *Config) resolveSecrets() error {
	read := func(key, file string, dst *string) error {
		if file == "" {
			return nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		*dst = strings.TrimSpace(string(b))
		return nil
	}
	return errors.Join(
		read("admin_secret_file", c.AdminSecretFile, &c.AdminSecret),
		read("pepper_file", c.PepperFile, &c.Pepper),
		c.readRevealKey(),
		c.readCloudSecret(),
		c.readNotifySecret(),
	)
}

// RevealKeySize is the length of the AES key that seals revealable JWTs.
const RevealKeySize = 32

// readRevealKey reads registry.reveal_key_file: exactly 32 raw bytes, or 64
// hex characters (surrounding whitespace ignored).
func (c *Config) readRevealKey() error {
	const key = "registry.reveal_key_file"
	if c.Registry.RevealKeyFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.Registry.RevealKeyFile)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if len(b) == RevealKeySize {
		c.Registry.RevealKey = b
		return nil
	}
	if t := bytes.TrimSpace(b); len(t) == 2*RevealKeySize {
		k, err := hex.DecodeString(string(t))
		if err == nil {
			c.Registry.RevealKey = k
			return nil
		}
	}
	return fmt.Errorf("config key %s (env %s): must hold a %d-byte AES key, raw or as %d hex characters",
		key, envName(key), RevealKeySize, 2*RevealKeySize)
}

// Validate reports every invalid key at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config key %s (env %s): %s", key, envName(key), fmt.Sprintf(format, args...)))
	}
	if c.Mode != "dev" && c.Mode != "prod" {
		bad("mode", "must be dev or prod, got %q", c.Mode)
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		bad("addr", "must be host:port, got %q", c.Addr)
	}
	if c.Runtime.GCHeapFloorMiB < 0 || c.Runtime.GCHeapFloorMiB > MaxGCHeapFloorMiB {
		bad("runtime.gc_heap_floor_mib", "must be 0 (off) to %d, got %d", MaxGCHeapFloorMiB, c.Runtime.GCHeapFloorMiB)
	}
	if c.Debug.PprofAddr != "" {
		host, port, err := net.SplitHostPort(c.Debug.PprofAddr)
		ip, ipErr := netip.ParseAddr(host)
		switch {
		case err != nil || port == "":
			bad("debug.pprof_addr", "must be host:port, got %q", c.Debug.PprofAddr)
		case host != "localhost" && (ipErr != nil || !ip.IsLoopback()):
			// Profiles show the process's memory and code paths: never
			// reachable from outside the host.
			bad("debug.pprof_addr", "must be a loopback address (127.0.0.1, ::1, localhost), got %q", c.Debug.PprofAddr)
		case c.Debug.PprofAddr == c.Addr && port != "0":
			bad("debug.pprof_addr", "must not be addr, the API's listener")
		}
	}
	if u, err := url.Parse(c.Issuer); err != nil || u.Scheme == "" || u.Host == "" {
		bad("issuer", "must be an absolute URL, got %q", c.Issuer)
	}
	if strings.TrimSpace(c.Audience) == "" {
		bad("audience", "must not be empty")
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || !slices.Contains(redisSchemes, u.Scheme) {
			bad("redis.url", "must be a redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel:// URL")
		}
		if c.Pepper == "" {
			bad("pepper", "required with redis.url: client secrets must verify after a restart")
		}
	}
	if c.Pepper != "" && len(c.Pepper) < 32 {
		bad("pepper", "must be at least 32 characters")
	}
	if c.AdminSecret != "" && len(c.AdminSecret) < 16 {
		bad("admin_secret", "must be at least 16 characters")
	}
	if c.Keys.Dir == "" {
		bad("keys.dir", "must not be empty")
	}
	t := c.Tokens
	if t.EmbedMaxExpiry < time.Second {
		bad("tokens.embed_max_expiry", "must be at least 1s")
	}
	if t.EmbedDefaultExpiry < time.Second || t.EmbedDefaultExpiry > t.EmbedMaxExpiry {
		bad("tokens.embed_default_expiry", "must be between 1s and tokens.embed_max_expiry (%s)", t.EmbedMaxExpiry)
	}
	if t.EmbedDefaultExpiry%time.Second != 0 || t.EmbedMaxExpiry%time.Second != 0 {
		bad("tokens.embed_default_expiry", "expiries are whole seconds")
	}
	if t.Leeway < 0 || t.Leeway > 5*time.Minute {
		bad("tokens.leeway", "must be between 0 and 5m, got %s", t.Leeway)
	}
	if t.RefreshMaxLifetime < time.Second {
		bad("tokens.refresh_max_lifetime", "must be at least 1s")
	}
	if t.RefreshMinAge < time.Second || t.RefreshMinAge > t.RefreshMaxLifetime {
		bad("tokens.refresh_min_age", "must be between 1s and tokens.refresh_max_lifetime (%s)", t.RefreshMaxLifetime)
	}
	if t.CacheSize < 0 || t.CacheSize > 10_000_000 {
		bad("tokens.cache_size", "must be between 0 (disabled) and 10000000, got %d", t.CacheSize)
	}
	if c.Revocation.Mode != "replica" && c.Revocation.Mode != "direct" {
		bad("revocation.mode", "must be replica or direct, got %q", c.Revocation.Mode)
	}
	if c.Revocation.MaxStaleness < time.Second {
		bad("revocation.max_staleness", "must be at least 1s")
	}
	if c.Revocation.ResyncInterval < time.Second {
		bad("revocation.resync_interval", "must be at least 1s")
	}
	if c.Revocation.RetryAfter < time.Second {
		bad("revocation.retry_after", "must be at least 1s")
	}
	if r := c.Revocation; r.MinReplicas < 0 || r.MinReplicas > 100 {
		bad("revocation.min_replicas", "must be between 0 and 100, got %d", r.MinReplicas)
	} else if r.MinReplicas > 0 {
		if c.Redis.URL == "" {
			bad("revocation.min_replicas", "needs redis.url: the memory store has no replicas")
		}
		// WAIT 0 blocks for ever; a WAIT longer than the request's store
		// bound would always end in the store timeout.
		if r.ReplicaTimeout < time.Millisecond || r.ReplicaTimeout >= c.HTTP.StoreTimeout {
			bad("revocation.replica_timeout", "must be at least 1ms and below http.store_timeout (%s) with min_replicas, got %s", c.HTTP.StoreTimeout, r.ReplicaTimeout)
		}
	}
	for _, d := range []struct {
		key string
		val time.Duration
	}{
		{"http.read_timeout", c.HTTP.ReadTimeout}, {"http.write_timeout", c.HTTP.WriteTimeout},
		{"http.shutdown_timeout", c.HTTP.ShutdownTimeout}, {"http.store_timeout", c.HTTP.StoreTimeout},
	} {
		if d.val <= 0 {
			bad(d.key, "must be positive")
		}
	}
	for _, o := range c.HTTP.CORSAllowedOrigins {
		if !validOrigin(o) {
			bad("http.cors_allowed_origins", "%q is not an origin such as https://app.example.com", o)
		}
	}
	for _, o := range c.Console.AllowedOrigins {
		if !validOrigin(o) {
			bad("console.allowed_origins", "%q is not an origin such as https://app.example.com", o)
		}
	}
	for _, p := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad("http.trusted_proxies", "%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", p)
		}
	}
	if c.Registry.RevealTokens && c.Registry.RevealKeyFile == "" {
		bad("registry.reveal_key_file", "required when registry.reveal_tokens is true")
	}
	if c.Registry.JanitorInterval < time.Second {
		bad("registry.janitor_interval", "must be at least 1s")
	}
	if c.Registry.Retention < time.Second || c.Registry.Retention > 10*365*24*time.Hour {
		bad("registry.retention", "must be between 1s and 87600h (10 years)")
	}
	if c.Console.TokenMaxTTL < time.Minute || c.Console.TokenMaxTTL > 24*time.Hour {
		bad("console.token_max_ttl", "must be between 1m and 24h")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Registry.Scopes)) {
		label := c.Registry.Scopes[name]
		if !scopePattern.MatchString(name) {
			bad("registry.scopes", "scope %q must be 1-64 characters of A-Z a-z 0-9 : . _ - starting with a letter or digit", name)
		}
		if strings.TrimSpace(label) == "" || len(label) > 200 {
			bad("registry.scopes", "the label of scope %q must be 1-200 characters", name)
		}
	}
	if c.Auth.MaxFailures < 1 || c.Auth.MaxFailures > 1_000_000 {
		bad("auth.max_failures", "must be between 1 and 1000000, got %d", c.Auth.MaxFailures)
	}
	if c.Auth.Window < time.Second {
		bad("auth.window", "must be at least 1s")
	}
	if c.Console.SessionIdle < time.Minute || c.Console.SessionIdle > 24*time.Hour {
		bad("console.session_idle", "must be between 1m and 24h, got %s", c.Console.SessionIdle)
	}
	if c.Console.SessionMax < c.Console.SessionIdle || c.Console.SessionMax > 30*24*time.Hour {
		bad("console.session_max", "must be at least console.session_idle and at most 720h, got %s", c.Console.SessionMax)
	}
	if t := c.View.URLTemplate; t != "" {
		probe := strings.NewReplacer("{reportId}", "r", "{token}", "t").Replace(t)
		if u, err := url.Parse(probe); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("view.url_template", "must be an absolute http(s) URL with {reportId} and/or {token}, got %q", t)
		} else if !strings.Contains(t, "{token}") && !strings.Contains(t, "{reportId}") {
			bad("view.url_template", "must contain {reportId} or {token}")
		}
	}
	if c.Mode == "prod" {
		for _, f := range c.ExposedSecretFiles() {
			bad(f.Key, "%s has mode %04o: other users can read this secret; chmod 600 it", f.Path, f.Mode)
		}
	}
	c.Gateway.validate(bad)
	c.validateCloud(bad)
	c.validateNotify(bad)
	c.validateNotifyDelivery(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	return errors.Join(errs...)
}

// ExposedFile is a configured secret file that users other than its owner
// can access.
type ExposedFile struct {
	Key  string // the config key naming it, e.g. pepper_file
	Path string
	Mode os.FileMode
}

// ExposedSecretFiles lists the configured secret files (admin_secret_file,
// pepper_file, registry.reveal_key_file, cloud.client_secret_file) whose
// permissions grant anything to the group or other users (mode 0644 and
// the like). Validate refuses them in prod; serve warns about them in dev.
// Signing keys are checked where they are loaded (keys.Key.Exposed).
func (c Config) ExposedSecretFiles() []ExposedFile {
	var out []ExposedFile
	for _, f := range []struct{ key, path string }{
		{"admin_secret_file", c.AdminSecretFile}, {"pepper_file", c.PepperFile},
		{"registry.reveal_key_file", c.Registry.RevealKeyFile}, {"cloud.client_secret_file", c.Cloud.ClientSecretFile},
		{"notify.smtp_url_file", c.Notify.SMTPURLFile},
	} {
		if f.path == "" {
			continue
		}
		fi, err := os.Stat(f.path)
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			out = append(out, ExposedFile{Key: f.key, Path: f.path, Mode: fi.Mode().Perm()})
		}
	}
	return out
}

// scopePattern is what a configured API token scope looks like.
var scopePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$`)

// envName is the environment variable that overrides key.
// validOrigin accepts a browser origin: http or https, a host, an optional
// port, and nothing else (no path, query, fragment or user info).
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery &&
		o == u.Scheme+"://"+u.Host
}

func envName(key string) string {
	return "SIGIL_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(key))
}
