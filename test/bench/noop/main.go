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

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/test/bench/baseline"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	answer := flag.String("answer", "", "answer with this file's header lines and body instead of \"ok\"")
	flag.Parse()
	if err := run(*addr, *answer); err != nil {
		fmt.Fprintln(os.Stderr, "noop:", err)
		os.Exit(1)
	}
}

func run(addr, answerFile string) error {
	if answerFile == "" {
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
