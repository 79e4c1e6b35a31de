package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sigil-dev/sigil/internal/app"
	"github.com/sigil-dev/sigil/internal/config"
)

func newServeCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API",
		Long: "Run the HTTP API. With no configuration it runs in dev mode on the memory store,\n" +
			"generates a key into an empty keys directory and prints a generated admin secret.",
		Example: "  sigil serve\n  SIGIL_REDIS_URL=redis://127.0.0.1:6379/0 SIGIL_PEPPER_FILE=/run/secrets/pepper sigil serve --config configs/sigil.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath, os.Environ())
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", os.Getenv("SIGIL_CONFIG"), "YAML config file (env SIGIL_CONFIG); see configs/sigil.example.yaml")
	return cmd
}

// serve builds the application from cfg and runs it until ctx ends.
// Human-facing start information (and a generated admin secret, once) goes
// to out; logs go to stderr. SIGHUP reloads the keys.
func serve(ctx context.Context, cfg config.Config, out io.Writer) error {
	a, err := app.New(ctx, cfg, app.WithGCFloor(os.Getenv))
	if err != nil {
		return err
	}
	printBanner(out, banner{
		base: a.Info.URL, store: a.Info.Store, issuer: cfg.Issuer, active: a.Info.ActiveKey, devKey: a.Info.DevKey,
		adminSecret: a.Info.AdminSecret, generatedAdmin: a.Info.AdminGenerated,
		dev: cfg.Mode == "dev", adminSecretFile: cfg.AdminSecretFile, cloud: cfg.Cloud.URL, cloudClient: cfg.Cloud.ClientID,
	})

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			_ = a.ReloadKeys() // logged; the current keys stay
		}
	}()
	return a.Run(ctx)
}
