// Command noop is the baseline of sigil's HTTP benchmark: an Echo v4 server
// that answers every method on every path with 200 and a two-byte body, with
// no middleware. Whatever sigil costs beyond it is sigil's own work.
//
//	noop -addr 127.0.0.1:0 [-answer FILE]
//
// With -answer it answers with the header lines and body of FILE instead
// ("Name: value" lines, a blank line, the body: benchrun writes there the
// answer sigil gave to a verify request). That row prices the transport of
// verify's answer — its identity headers and JSON body through Echo and
// net/http, and wrk reading them — with nothing verified.
//
// With -tokens as well it answers only the bearer tokens listed in that file
// (one per line; any other request is a 401), each from its own copy of the
// answer, found in a map of the listed tokens built at start. That row is
// the floor of any verifier that caches: per request it finds the token
// among many and reads that token's own answer — the memory a cache of
// that many tokens must touch — and verifies nothing.
//
// It prints "noop listening on http://ADDR" once it accepts connections and
// stops gracefully on SIGINT or SIGTERM.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"unsafe"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/test/bench/baseline"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	answer := flag.String("answer", "", "answer with this file's header lines and body instead of \"ok\"")
	tokens := flag.String("tokens", "", "with -answer: answer only the bearer tokens listed in this file, each from its own copy of the answer")
	flag.Parse()
	if err := run(*addr, *answer, *tokens); err != nil {
		fmt.Fprintln(os.Stderr, "noop:", err)
		os.Exit(1)
	}
}

func run(addr, answerFile, tokensFile string) error {
	if answerFile == "" {
		if tokensFile != "" {
			return errors.New("-tokens needs -answer")
		}
		return baseline.Serve("noop", addr, func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	}
	b, err := os.ReadFile(answerFile)
	if err != nil {
		return err
	}
	hdr, body, err := parseAnswer(b)
	if err != nil {
		return fmt.Errorf("%s: %w", answerFile, err)
	}
	if tokensFile != "" {
		t, err := os.ReadFile(tokensFile)
		if err != nil {
			return err
		}
		return baseline.Serve("noop", addr, cachedAnswers(hdr, body, strings.Fields(string(t))).serve)
	}
	return baseline.Serve("noop", addr, func(c echo.Context) error {
		// As sigil sets its answer: straight into the header map, values
		// shared by every answer (net/http only reads them).
		h := c.Response().Header()
		for k, v := range hdr {
			h[k] = v
		}
		c.Response().WriteHeader(http.StatusOK)
		_, err := c.Response().Write(body)
		return err
	})
}

// parseAnswer reads "Name: value" lines (names canonicalised), a blank
// line and the body.
func parseAnswer(b []byte) (http.Header, []byte, error) {
	head, body, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		return nil, nil, errors.New("no blank line between the header lines and the body")
	}
	hdr := http.Header{}
	for _, line := range bytes.Split(head, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(": "))
		if !ok || len(name) == 0 {
			return nil, nil, fmt.Errorf("header line %q is not \"Name: value\"", line)
		}
		k := textproto.CanonicalMIMEHeaderKey(string(name))
		hdr[k] = append(hdr[k], string(value))
	}
	return hdr, body, nil
}

// answerCache is the -tokens mode: each listed token's own answer, in a map
// that nothing writes to once built, so requests read it without a lock.
type answerCache struct {
	names   []string // header names, in tokenAnswer.vals' order
	answers map[string]*tokenAnswer
}

// tokenAnswer is one token's copy of the answer: the header values (each a
// one-value slice of vals) and the body, views of one text, as sigil keeps
// a cached token's answer.
type tokenAnswer struct {
	vals []string
	body []byte
}

func cachedAnswers(hdr http.Header, body []byte, tokens []string) *answerCache {
	ac := &answerCache{answers: make(map[string]*tokenAnswer, len(tokens))}
	for k, vs := range hdr {
		// One value per name (the answer sigil gives has no repeated header).
		if len(vs) == 1 {
			ac.names = append(ac.names, k)
		}
	}
	slices.Sort(ac.names)
	for _, tok := range tokens {
		var text []byte
		for _, k := range ac.names {
			text = append(text, hdr[k][0]...)
		}
		text = append(text, body...)
		a := &tokenAnswer{vals: make([]string, len(ac.names))}
		off := 0
		for i, k := range ac.names {
			n := len(hdr[k][0])
			a.vals[i] = unsafe.String(unsafe.SliceData(text[off:]), n)
			off += n
		}
		a.body = text[off:]
		ac.answers[strings.Clone(tok)] = a
	}
	return ac
}

func (ac *answerCache) serve(c echo.Context) error {
	auth := c.Request().Header["Authorization"]
	if len(auth) == 0 {
		return c.NoContent(http.StatusUnauthorized)
	}
	tok, ok := strings.CutPrefix(auth[0], "Bearer ")
	a := ac.answers[tok]
	if !ok || a == nil {
		return c.NoContent(http.StatusUnauthorized)
	}
	h := c.Response().Header()
	for i, k := range ac.names {
		h[k] = a.vals[i : i+1 : i+1]
	}
	c.Response().WriteHeader(http.StatusOK)
	_, err := c.Response().Write(a.body)
	return err
}
