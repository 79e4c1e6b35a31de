// Command bare is the second kind of baseline of sigil's HTTP benchmark: an
// Echo v4 server, no middleware, whose one handler does only the
// cryptographic core of a sigil endpoint with golang-jwt and the same key
// (the newest key file of -keys, as sigil picks it):
//
//   - -mode verify: GET /: parse and check the Bearer token (signature with
//     the key's algorithm only, iss, aud, exp) into jwt.RegisteredClaims;
//     200 "ok", 401 when it does not verify.
//   - -mode sign: POST /: decode a small JSON body ({"sub":"..."}) and sign a
//     fixed claim set (iss, aud, sub, iat, exp, jti) with the key; 200
//     {"token":"..."}.
//
// Whatever sigil's verify and mint rows cost beyond these is sigil's own
// work: strict decoding, claims, revocation, policy, client authentication,
// headers. It prints "bare listening on http://ADDR" once it accepts
// connections and stops gracefully on SIGINT or SIGTERM.
//
//	bare -mode verify|sign -keys DIR -issuer URL [-audience sigil] [-addr 127.0.0.1:0]
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/keys"
	"github.com/sigil-dev/sigil/test/bench/baseline"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	mode := flag.String("mode", "verify", "verify or sign")
	dir := flag.String("keys", "keys", "keys directory (sigil's; the newest key file is used)")
	issuer := flag.String("issuer", "", "iss to check (verify) or write (sign)")
	audience := flag.String("audience", "sigil", "aud to check (verify) or write (sign)")
	flag.Parse()
	if err := run(*addr, *mode, *dir, *issuer, *audience); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

// newestKey is the key sigil signs with when keys.active is unset.
func newestKey(dir string) (*keys.Key, error) {
	ks, err := keys.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	var k *keys.Key
	for _, c := range ks {
		if c.Signer != nil && (k == nil || c.CreatedAt.After(k.CreatedAt)) {
			k = c
		}
	}
	if k == nil {
		return nil, fmt.Errorf("no private key in %s", dir)
	}
	return k, nil
}

func handler(mode string, k *keys.Key, issuer, audience string) (echo.HandlerFunc, error) {
	method := jwt.GetSigningMethod(k.Alg)
	if method == nil {
		return nil, fmt.Errorf("unsupported alg %s", k.Alg)
	}
	switch mode {
	case "verify":
		p := jwt.NewParser(jwt.WithValidMethods([]string{k.Alg}), jwt.WithIssuer(issuer),
			jwt.WithAudience(audience), jwt.WithExpirationRequired())
		pub := k.VerificationKey()
		keyfunc := func(*jwt.Token) (any, error) { return pub, nil }
		return func(c echo.Context) error {
			raw, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
			if !ok {
				return c.String(http.StatusUnauthorized, "no token")
			}
			var claims jwt.RegisteredClaims
			if _, err := p.ParseWithClaims(raw, &claims, keyfunc); err != nil {
				return c.String(http.StatusUnauthorized, "invalid token")
			}
			return c.String(http.StatusOK, "ok")
		}, nil
	case "sign":
		priv := k.SigningKey()
		return func(c echo.Context) error {
			var body struct {
				Sub string `json:"sub"`
			}
			if err := c.Bind(&body); err != nil || body.Sub == "" {
				return c.String(http.StatusBadRequest, "sub required")
			}
			now := time.Now()
			t := jwt.NewWithClaims(method, jwt.RegisteredClaims{
				Issuer: issuer, Audience: jwt.ClaimStrings{audience}, Subject: body.Sub,
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
				ID: "0190f4a2-7b8c-7d3e-9f00-123456789abc",
			})
			t.Header["kid"] = k.KID
			s, err := t.SignedString(priv)
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, map[string]string{"token": s})
		}, nil
	}
	return nil, fmt.Errorf("-mode must be verify or sign, got %q", mode)
}

func run(addr, mode, dir, issuer, audience string) error {
	k, err := newestKey(dir)
	if err != nil {
		return err
	}
	h, err := handler(mode, k, issuer, audience)
	if err != nil {
		return err
	}
	return baseline.Serve("bare", addr, h)
}
