// Command sigil mints and verifies signed JWTs; see README.md.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sigil:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sigil",
		Short: "Mint and verify signed JWTs for embeds, reports, apps and API access",
		Example: "  sigil serve\n  sigil keys rotate --dir keys\n  sigil token mint --dashboard sales --expiry 15m\n" +
			"  sigil clients list --server http://127.0.0.1:8080\n  source <(sigil completion bash)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newKeysCmd(), newTokenCmd(), newClientsCmd())
	addCompletionExamples(root)
	return root
}
