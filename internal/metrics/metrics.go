// Package metrics defines sigil's Prometheus metrics and serves them.
package metrics

import (
	"net/http"
	"strconv"
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
}

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
	for _, r := range VerifyReasons {
		m.verify.WithLabelValues(r)
	}
	for _, k := range TokenKinds {
		m.minted.WithLabelValues(k)
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

// oneOf returns v if it is in known, else OtherLabel.
func oneOf(v string, known []string) string {
	for _, k := range known {
		if v == k {
			return v
		}
	}
	return OtherLabel
}

// Request records one served request. route must come from a fixed set
// (the route templates; the caller maps unmatched requests to one value);
// method and status are bounded here.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, Method(method), statusLabel(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Verified records one verification outcome (token.Reason of its error);
// a reason outside VerifyReasons is recorded as OtherLabel.
func (m *Metrics) Verified(reason string) {
	m.verify.WithLabelValues(oneOf(reason, VerifyReasons)).Inc()
}

// Minted records one minted token; a kind outside TokenKinds is recorded
// as OtherLabel.
func (m *Metrics) Minted(kind string) { m.minted.WithLabelValues(oneOf(kind, TokenKinds)).Inc() }

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
