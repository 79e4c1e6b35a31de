package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/sigil-dev/sigil/internal/apperr"
)

// maxURLLen bounds a webhook URL.
const maxURLLen = 2048

// ErrPrivateAddress is why a request to a refused address fails: the
// dialer checks the resolved address of every connection (DNS rebinding
// cannot slip a private address past the check made at registration).
var ErrPrivateAddress = errors.New("webhook target is a loopback, private, link-local or unspecified address")

// refused are ranges outside netip's predicates that no public webhook
// receiver lives in.
var refused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64: may embed a private IPv4
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// Private reports whether ip is one webhooks refuse without
// notify.webhooks_allow_private: loopback, private, link-local,
// multicast, unspecified, or one of the special ranges above.
func Private(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || !ip.IsValid() {
		return true
	}
	for _, p := range refused {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// dialControl refuses connections to private addresses; it runs on the
// address actually dialled, after resolution.
func dialControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return ErrPrivateAddress
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || Private(ip) {
		return ErrPrivateAddress
	}
	return nil
}

// Resolver resolves host names (net.DefaultResolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolveTimeout bounds the resolution made at registration.
const resolveTimeout = 3 * time.Second

// checkURL validates a webhook URL: absolute http or https, a host, no
// userinfo, no fragment; without allowPrivate, the host must resolve to
// public addresses only. Errors name the field "url".
func checkURL(ctx context.Context, raw string, allowPrivate bool, res Resolver) (*url.URL, error) {
	if raw == "" {
		return nil, apperr.Invalid("url", "required")
	}
	if len(raw) > maxURLLen {
		return nil, apperr.Invalid("url", "must be at most %d characters", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, apperr.Invalid("url", "not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, apperr.Invalid("url", "must be an http or https URL")
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return nil, apperr.Invalid("url", "must not carry credentials (user:password@): sign requests with the webhook secret instead")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, apperr.Invalid("url", "must not have a fragment")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, apperr.Invalid("url", "must have a host")
	}
	if allowPrivate {
		return u, nil
	}
	host := u.Hostname()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		defer cancel()
		ips, err = res.LookupNetIP(rctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return nil, apperr.Invalid("url", "the host does not resolve")
		}
	}
	for _, ip := range ips {
		if Private(ip) {
			return nil, apperr.Invalid("url", "the host is or resolves to a loopback, private, link-local or unspecified address (notify.webhooks_allow_private is off)")
		}
	}
	return u, nil
}
