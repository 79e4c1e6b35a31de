package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sigil-dev/sigil/internal/notify"
)

// maxResponse is how much of a receiver's answer is read (then dropped).
const maxResponse = 64 << 10

// Payload is the body of a webhook request (Standard Webhooks' shape):
// the event type, its time and the event itself.
type Payload struct {
	Type      string       `json:"type"`
	Timestamp time.Time    `json:"timestamp"`
	Data      notify.Event `json:"data"`
}

// Sender makes webhook requests: bounded by a timeout, without following
// redirects nor using a proxy from the environment, and, unless
// allowPrivate, refusing private addresses when it connects.
type Sender struct {
	client *http.Client
	now    func() time.Time
}

// NewSender returns a Sender; now stamps webhook-timestamp.
func NewSender(timeout time.Duration, allowPrivate bool, now func() time.Time) *Sender {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = dialControl
	}
	tr := &http.Transport{
		Proxy: nil, DialContext: d.DialContext, ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout,
		MaxIdleConns: 100, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
	}
	return &Sender{now: now, client: &http.Client{
		Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Send posts e to ep, signed with ep's current secrets. A 2xx answer is
// success; any other answer (a redirect included) or a network failure is
// an error that names neither the URL nor a secret.
func (s *Sender) Send(ctx context.Context, ep Endpoint, e notify.Event) error {
	body, err := json.Marshal(Payload{Type: e.Type, Timestamp: e.At, Data: e})
	if err != nil {
		return fmt.Errorf("encode payload: %w", err)
	}
	now := s.now()
	ts := now.Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("invalid endpoint URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sigil-webhooks/1")
	req.Header.Set("webhook-id", e.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(e.ID, ts, body, ep.Signing(now)))
	resp, err := s.client.Do(req)
	if err != nil {
		return netError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// netError describes a failed request without its URL.
func netError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrPrivateAddress):
		return ErrPrivateAddress
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errors.New("timeout")
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Errorf("connection failed (%s)", oe.Op)
	}
	return errors.New("request failed")
}
