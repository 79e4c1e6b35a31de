// Package metrics defines sigil's Prometheus metrics and serves them.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds sigil's collectors in a registry of its own.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	verify   *prometheus.CounterVec
	minted   *prometheus.CounterVec

	// The hot path's children, resolved once instead of hashing label
	// values on every request: verifyBy holds every VerifyReasons entry
	// (read-only after New); reqBy up to maxReqChildren
	// (route, method, status) triples, then Request resolves as before.
	verifyBy map[string]prometheus.Counter
	mintedBy map[string]prometheus.Counter // every TokenKinds entry
	// reqBy is copied on write: a request reads the current map without a
	// lock or interface hashing; a new triple copies it under reqMu.
	reqBy atomic.Pointer[map[reqKey]*reqChildren]
	reqMu sync.Mutex
	// lastReq is the entry of reqBy that the last request used whose
	// triple was not the one before: a run of requests on one route (a
	// gateway's forward-auth calls) compares its triple with it and skips
	// the map's hash of two strings and a status.
	lastReq atomic.Pointer[reqChildren]
	// verifyOK is verifyBy["ok"].
	verifyOK prometheus.Counter
}

type reqKey struct {
	route, method string
	status        int
}

type reqChildren struct {
	key     reqKey
	count   prometheus.Counter
	latency prometheus.Observer
}

// maxReqChildren bounds reqBy: routes, methods and statuses are bounded
// sets, this only guards against a caller that passes other routes.
const maxReqChildren = 4096

// New registers the collectors, plus the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_http_requests_total", Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sigil_http_request_duration_seconds", Help: "HTTP request latency by route template.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		verify: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_verify_total", Help: "Token verifications by outcome (ok, expired, revoked, signature, …, unavailable; policy: a valid token refused by the forward-auth policy).",
		}, []string{"reason"}),
		minted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigil_tokens_minted_total", Help: "Tokens minted by kind.",
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.verify, m.minted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every known outcome and kind is exported from the start, at 0, so that
	// rate() and alerts work before the first occurrence.
	m.verifyBy = make(map[string]prometheus.Counter, len(VerifyReasons))
	for _, r := range VerifyReasons {
		m.verifyBy[r] = m.verify.WithLabelValues(r)
	}
	m.verifyOK = m.verifyBy["ok"]
	m.mintedBy = make(map[string]prometheus.Counter, len(TokenKinds))
	for _, k := range TokenKinds {
		m.mintedBy[k] = m.minted.WithLabelValues(k)
	}
	return m
}

// VerifyReasons are the outcomes sigil_verify_total starts with: token.Reason
// labels, "policy" (a valid token refused by the forward-auth policy) and
// "unavailable" (the revocation state could not be read).
var VerifyReasons = []string{
	"ok", "malformed", "header", "unknown_key", "signature", "expired", "not_yet_valid",
	"issuer", "audience", "claims", "revoked", "invalid", "policy", "unavailable",
}

// TokenKinds are the kinds sigil_tokens_minted_total starts with.
var TokenKinds = []string{"embed", "report", "app-view", "api", "console"}

// Label values outside a fixed set are recorded as OtherLabel (methods:
// OtherMethod), so no caller can grow the number of series: a label value
// the client chooses (a method, a path) would otherwise make one series each.
const (
	OtherMethod = "OTHER"
	OtherLabel  = "other"
)

// Methods are the request methods sigil_http_requests_total labels as
// themselves; any other method is OtherMethod.
var Methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
}

// Method returns method if it is one of Methods, else OtherMethod.
func Method(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return OtherMethod
}

// statusLabel is a status code as a label: three digits, or OtherLabel.
func statusLabel(status int) string {
	if status < 100 || status > 599 {
		return OtherLabel
	}
	return strconv.Itoa(status)
}

// Request records one served request. route must come from a fixed set
// (the route templates; the caller maps unmatched requests to one value);
// method and status are bounded here.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	k := reqKey{route, Method(method), status}
	c := m.lastReq.Load()
	if c == nil || c.key != k {
		var ok bool
		if by := m.reqBy.Load(); by != nil {
			c, ok = (*by)[k]
		}
		if ok {
			m.lastReq.Store(c)
		} else {
			c = m.addReqChildren(k)
		}
	}
	c.count.Inc()
	c.latency.Observe(d.Seconds())
}

// addReqChildren resolves k's children and keeps them in a copy of reqBy
// while it holds fewer than maxReqChildren triples.
func (m *Metrics) addReqChildren(k reqKey) *reqChildren {
	c := &reqChildren{k, m.requests.WithLabelValues(k.route, k.method, statusLabel(k.status)), m.latency.WithLabelValues(k.route)}
	m.reqMu.Lock()
	defer m.reqMu.Unlock()
	var cur map[reqKey]*reqChildren
	if by := m.reqBy.Load(); by != nil {
		cur = *by
	}
	if _, ok := cur[k]; ok || len(cur) >= maxReqChildren {
		return c
	}
	next := make(map[reqKey]*reqChildren, len(cur)+1)
	for key, v := range cur {
		next[key] = v
	}
	next[k] = c
	m.reqBy.Store(&next)
	return c
}

// reqChildrenLen is how many triples Request keeps resolved.
func (m *Metrics) reqChildrenLen() int {
	if by := m.reqBy.Load(); by != nil {
		return len(*by)
	}
	return 0
}

// Verified records one verification outcome (token.Reason of its error);
// a reason outside VerifyReasons is recorded as OtherLabel.
func (m *Metrics) Verified(reason string) {
	if reason == "ok" {
		// The answer of nearly every verification: its child without the
		// map's hash of the reason.
		m.verifyOK.Inc()
		return
	}
	if c, ok := m.verifyBy[reason]; ok {
		c.Inc()
		return
	}
	m.verify.WithLabelValues(OtherLabel).Inc()
}

// Minted records one minted token; a kind outside TokenKinds is recorded
// as OtherLabel.
func (m *Metrics) Minted(kind string) {
	if c, ok := m.mintedBy[kind]; ok {
		c.Inc()
		return
	}
	m.minted.WithLabelValues(OtherLabel).Inc()
}

// Gauge registers a gauge read from fn at scrape time.
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// CounterFunc registers a counter read from fn at scrape time; fn must
// never decrease.
func (m *Metrics) CounterFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// NotifyChannels are the channel label values of the notify metrics; any
// other value is recorded as OtherLabel (never a URL nor an endpoint id).
var NotifyChannels = []string{"email", "webhook"}

// Notify counts notification deliveries by channel (it satisfies
// notify.Observer).
type Notify struct {
	delivered, failed, dead *prometheus.CounterVec
}

// Notify registers the notify metrics: sigil_notify_delivered_total,
// _failed_total (failed attempts), _dead_total (dead letters) and the
// gauges sigil_notify_pending and sigil_notify_dead_letters read from
// pending and dead at scrape time, each by channel.
func (m *Metrics) Notify(pending, dead func(channel string) float64) *Notify {
	vec := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"channel"})
		m.reg.MustRegister(v)
		for _, ch := range NotifyChannels {
			v.WithLabelValues(ch)
		}
		return v
	}
	n := &Notify{
		delivered: vec("sigil_notify_delivered_total", "Notification deliveries that succeeded, by channel."),
		failed:    vec("sigil_notify_failed_total", "Notification delivery attempts that failed (each is retried or becomes a dead letter), by channel."),
		dead:      vec("sigil_notify_dead_total", "Notification deliveries that became dead letters after notify.max_attempts, by channel."),
	}
	for _, ch := range NotifyChannels {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sigil_notify_pending", Help: "Notification deliveries waiting (in the shared outbox with Redis), by channel.",
			ConstLabels: prometheus.Labels{"channel": ch},
		}, func() float64 { return pending(ch) }))
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sigil_notify_dead_letters", Help: "Dead letters kept (GET /api/notifications/dead-letters), by channel.",
			ConstLabels: prometheus.Labels{"channel": ch},
		}, func() float64 { return dead(ch) }))
	}
	return n
}

// Delivered counts one delivery that succeeded.
func (n *Notify) Delivered(channel string) {
	n.delivered.WithLabelValues(oneOf(channel, NotifyChannels)).Inc()
}

// Failed counts one failed attempt.
func (n *Notify) Failed(channel string) {
	n.failed.WithLabelValues(oneOf(channel, NotifyChannels)).Inc()
}

// Dead counts one delivery that became a dead letter.
func (n *Notify) Dead(channel string) { n.dead.WithLabelValues(oneOf(channel, NotifyChannels)).Inc() }

// oneOf returns v if it is in known, else OtherLabel.
func oneOf(v string, known []string) string {
	for _, k := range known {
		if v == k {
			return v
		}
	}
	return OtherLabel
}
