package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sigil-dev/sigil/pkg/client"
)

// defaultServer is the server the CLI talks to without --server or SIGIL_SERVER.
const defaultServer = "http://127.0.0.1:8080"

// serverFlags are the flags of commands that call a running sigil. The
// client secret is read from a file or the environment, never from a flag
// (it would show in ps and shell history), and is never printed.
type serverFlags struct {
	server, clientID, secretFile string
}

// register adds --server, --client-id and --secret-file to cmd.
func (f *serverFlags) register(cmd *cobra.Command, defaultID string) {
	server := os.Getenv("SIGIL_SERVER")
	if server == "" {
		server = defaultServer
	}
	id := os.Getenv("SIGIL_CLIENT_ID")
	if id == "" {
		id = defaultID
	}
	cmd.Flags().StringVar(&f.server, "server", server, "base URL of the sigil server (env SIGIL_SERVER)")
	cmd.Flags().StringVar(&f.clientID, "client-id", id, "client id for HTTP Basic authentication (env SIGIL_CLIENT_ID)")
	cmd.Flags().StringVar(&f.secretFile, "secret-file", "", "file holding the client secret (default: env SIGIL_CLIENT_SECRET, or SIGIL_ADMIN_SECRET for the admin client)")
}

// secret finds the client secret: --secret-file, SIGIL_CLIENT_SECRET, or
// SIGIL_ADMIN_SECRET when the client is the admin.
func (f *serverFlags) secret() (string, error) {
	if f.secretFile != "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return "", fmt.Errorf("--secret-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if s := os.Getenv("SIGIL_CLIENT_SECRET"); s != "" {
		return s, nil
	}
	if s := os.Getenv("SIGIL_ADMIN_SECRET"); s != "" && f.clientID == "admin" {
		return s, nil
	}
	return "", errors.New("no client secret: use --secret-file or set SIGIL_CLIENT_SECRET (SIGIL_ADMIN_SECRET for the admin client)")
}

// client is an authenticated client of the server.
func (f *serverFlags) client() (*client.Client, error) {
	secret, err := f.secret()
	if err != nil {
		return nil, err
	}
	return client.New(f.server, client.WithCredentials(f.clientID, secret), client.WithUserAgent("sigil-cli"))
}

// anonymous is a client of the server without credentials.
func (f *serverFlags) anonymous() (*client.Client, error) {
	return client.New(f.server, client.WithUserAgent("sigil-cli"))
}

// readSecretSource reads a secret from file, else from the environment
// variable env; what names the secret in errors.
func readSecretSource(file, env, what string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s file: %w", what, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if s := os.Getenv(env); s != "" {
		return s, nil
	}
	return "", fmt.Errorf("no %s: give its file or set %s", what, env)
}
