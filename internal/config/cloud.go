package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Cloud points at the cloud deployment: another sigil, the public one,
// where POST /api/reports/{id}/_cloud-publish mints report tokens and whose
// tokens report listings merge in. An empty URL turns publishing off.
type Cloud struct {
	// URL is the cloud's API base URL.
	URL string `yaml:"url" env:"URL"`
	// PublicURL is the base of the public links ({public_url}/view/{token});
	// empty means URL.
	PublicURL string `yaml:"public_url" env:"PUBLIC_URL"`
	// ClientID and ClientSecret are this deployment's client on the cloud
	// (an issuer with report:* resources). The secret comes from the
	// environment or ClientSecretFile, never from a committed file.
	ClientID         string `yaml:"client_id" env:"CLIENT_ID"`
	ClientSecret     string `yaml:"client_secret" env:"CLIENT_SECRET"`
	ClientSecretFile string `yaml:"client_secret_file" env:"CLIENT_SECRET_FILE"`
	// Timeout bounds each operation against the cloud; a report listing
	// answers local tokens with a warning once it has passed. At most
	// http.store_timeout.
	Timeout time.Duration `yaml:"timeout" env:"TIMEOUT"`
}

// LogValue keeps the secret out of logs.
func (c Cloud) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", c.URL), slog.String("public_url", c.PublicURL),
		slog.String("client_id", c.ClientID), slog.Duration("timeout", c.Timeout))
}

// String keeps the secret out of printed configs.
func (c Cloud) String() string {
	return fmt.Sprintf("cloud{url=%s public_url=%s client_id=%s timeout=%s}", c.URL, c.PublicURL, c.ClientID, c.Timeout)
}

// Public is the base of the public links.
func (c Cloud) Public() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return strings.TrimRight(c.URL, "/")
}

// readCloudSecret reads cloud.client_secret_file into ClientSecret.
func (c *Config) readCloudSecret() error {
	if c.Cloud.ClientSecretFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.Cloud.ClientSecretFile)
	if err != nil {
		return fmt.Errorf("cloud.client_secret_file: %w", err)
	}
	c.Cloud.ClientSecret = strings.TrimSpace(string(b))
	return nil
}

// validateCloud reports the invalid cloud.* keys through bad.
func (c Config) validateCloud(bad func(key, format string, args ...any)) {
	cl := c.Cloud
	if cl.URL == "" {
		if cl.ClientID != "" || cl.ClientSecret != "" || cl.PublicURL != "" {
			bad("cloud.url", "required when other cloud keys are set")
		}
		return
	}
	for _, k := range []struct{ key, val string }{{"cloud.url", cl.URL}, {"cloud.public_url", cl.PublicURL}} {
		if k.val == "" {
			continue
		}
		if u, err := url.Parse(k.val); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			bad(k.key, "must be an absolute http(s) URL without credentials or query")
		}
	}
	if cl.ClientID == "" {
		bad("cloud.client_id", "required with cloud.url")
	}
	if cl.ClientSecret == "" {
		bad("cloud.client_secret", "required with cloud.url (env SIGIL_CLOUD_CLIENT_SECRET or cloud.client_secret_file)")
	}
	if cl.Timeout < 10*time.Millisecond || cl.Timeout > c.HTTP.StoreTimeout {
		bad("cloud.timeout", "must be between 10ms and http.store_timeout (%s), got %s", c.HTTP.StoreTimeout, cl.Timeout)
	}
}
