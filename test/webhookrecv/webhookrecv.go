package webhookrecv

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Verify checks a Standard Webhooks request against secret ("whsec_" and
// base64): one of the space-separated "v1,<base64>" signatures must be
// the HMAC-SHA256, keyed by the decoded secret, of "<webhook-id>.<webhook-timestamp>.<body>".
// Written from the specification, apart from sigil's signing code.
func Verify(h http.Header, body []byte, secret string) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		return fmt.Errorf("webhook-timestamp %q is not unix seconds", ts)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return errors.New("secret does not decode")
	}
	mac := hmac.New(sha256.New, key)
	_, _ = io.WriteString(mac, id+"."+ts+".")
	_, _ = mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		v, b64, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// Delivery is one request the receiver accepted (answered 2xx).
type Delivery struct {
	ID   string
	Body []byte
	// Event is the body's "data" (the sigil event), decoded.
	Event map[string]any
	Type  string
}

// Receiver is a running receiver. Its methods are safe for concurrent use.
type Receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	secrets  []string
	statuses []int
	hang     chan struct{}
	got      []Delivery
	bad      []error
	requests int
}

// Start runs a receiver on a loopback port until the test ends. It accepts
// (200) requests whose signature verifies with one of the secrets set by
// SetSecrets, answers 401 to the others, and follows Answer and Hang.
func Start(tb testing.TB) *Receiver {
	tb.Helper()
	r := &Receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(func() {
		r.Hang(false)
		r.srv.Close()
	})
	return r
}

// URL is the receiver's base URL.
func (r *Receiver) URL() string { return r.srv.URL }

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	r.requests++
	hang, secrets := r.hang, append([]string(nil), r.secrets...)
	r.mu.Unlock()
	if hang != nil {
		// Never answers: a request that came in while hanging is never
		// accepted, even once released.
		select {
		case <-hang:
		case <-req.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	err := errors.New("no secret set")
	for _, s := range secrets {
		if err = Verify(req.Header, body, s); err == nil {
			break
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.bad = append(r.bad, fmt.Errorf("%s %s: %v", req.Method, req.Header.Get("webhook-id"), err))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	status := http.StatusOK
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	if status/100 == 2 {
		d := Delivery{ID: req.Header.Get("webhook-id"), Body: body}
		var p struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if json.Unmarshal(body, &p) == nil {
			d.Type, d.Event = p.Type, p.Data
		}
		r.got = append(r.got, d)
	}
	w.WriteHeader(status)
}

// SetSecrets sets the secrets a signature may verify with.
func (r *Receiver) SetSecrets(s ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = s
}

// Answer makes the next requests (that verify) get these statuses, in
// order; 200 after the last.
func (r *Receiver) Answer(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = statuses
}

// Hang makes the receiver stop answering (on) or answer again (off).
func (r *Receiver) Hang(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on && r.hang == nil {
		r.hang = make(chan struct{})
	}
	if !on && r.hang != nil {
		close(r.hang)
		r.hang = nil
	}
}

// Delivered returns the accepted requests, in order.
func (r *Receiver) Delivered() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.got...)
}

// Bad returns the requests refused for their signature (or method).
func (r *Receiver) Bad() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.bad...)
}

// Requests counts every request received.
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}
