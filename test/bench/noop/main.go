// Command noop is the baseline of sigil's HTTP benchmark: an Echo v4 server
// that answers every method on every path with 200 and a two-byte body, with
// no middleware. Whatever sigil costs beyond it is sigil's own work.
//
//	noop -addr 127.0.0.1:0
//
// It prints "noop listening on http://ADDR" once it accepts connections and
// stops gracefully on SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/test/bench/baseline"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "noop:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	return baseline.Serve("noop", addr, func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
}
