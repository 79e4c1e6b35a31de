package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigil-dev/sigil/pkg/client"
)

func newClientsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "Manage API clients on a running server (admin)",
		Long: "Create, list and delete API clients on a running sigil server. The admin secret is read from\n" +
			"SIGIL_ADMIN_SECRET (or --secret-file) and never printed.",
		Example: "  export SIGIL_SERVER=http://127.0.0.1:8080 SIGIL_ADMIN_SECRET=…\n" +
			"  sigil clients create --id sales --resource dashboard:sales\n  sigil clients list",
	}
	var sf serverFlags
	var in client.NewClient
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a client and print its secret (shown once)",
		Example: "  sigil clients create --id sales --name 'Sales dashboard' --resource dashboard:sales\n" +
			"  sigil clients create --id informer --resource 'report:*' --resource app:analytics",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := sf.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), client.DefaultTimeout)
			defer cancel()
			cl, err := c.CreateClient(ctx, in)
			if err != nil {
				return fmt.Errorf("create client: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "id %s\nrole %s\nresources %s\nsecret %s\n", cl.ID, cl.Role, strings.Join(cl.Resources, ","), cl.Secret)
			fmt.Fprintln(cmd.ErrOrStderr(), "The secret is shown once: store it now.")
			return nil
		},
	}
	sf.register(create, "admin")
	create.Flags().StringVar(&in.ID, "id", "", "client id (generated when empty); a dashboard credential's id is the dashboard id")
	create.Flags().StringVar(&in.Name, "name", "", "display name")
	create.Flags().StringVar(&in.Role, "role", "", "issuer (default) or admin")
	create.Flags().StringArrayVar(&in.Resources, "resource", nil, "resource pattern the client may act on, e.g. dashboard:sales, report:* (repeatable)")
	create.Flags().StringArrayVar(&in.Scopes, "scope", nil, "scope (repeatable)")
	create.Flags().Int64Var(&in.MaxTokenExpiry, "max-token-expiry", 0, "longest embed token the client may mint, seconds (0: server default)")

	var lsf serverFlags
	list := &cobra.Command{
		Use:     "list",
		Short:   "List clients (never their secrets)",
		Example: "  sigil clients list --server https://sigil.example.com",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := lsf.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), client.DefaultTimeout)
			defer cancel()
			cls, err := c.ListClients(ctx)
			if err != nil {
				return fmt.Errorf("list clients: %w", err)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tROLE\tRESOURCES\tCREATED\tNAME")
			for _, cl := range cls {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", cl.ID, cl.Role, strings.Join(cl.Resources, ","), cl.CreatedAt.UTC().Format(time.RFC3339), cl.Name)
			}
			return w.Flush()
		},
	}
	lsf.register(list, "admin")

	var dsf serverFlags
	del := &cobra.Command{
		Use:     "delete <id>...",
		Short:   "Delete clients",
		Example: "  sigil clients delete sales",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dsf.client()
			if err != nil {
				return err
			}
			for _, id := range args {
				ctx, cancel := context.WithTimeout(cmd.Context(), client.DefaultTimeout)
				err := c.DeleteClient(ctx, id)
				cancel()
				if err != nil {
					return fmt.Errorf("delete client %s: %w", id, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", id)
			}
			return nil
		},
	}
	dsf.register(del, "admin")
	cmd.AddCommand(create, list, del)
	return cmd
}
