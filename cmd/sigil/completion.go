package main

import "github.com/spf13/cobra"

// addCompletionExamples adds cobra's default `completion` and `help`
// commands now (they are otherwise added at Execute) and gives them an
// example, like every other command.
func addCompletionExamples(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Example = "  sigil help token mint"
		}
		if c.Name() != "completion" {
			continue
		}
		c.Example = "  source <(sigil completion bash)\n  sigil completion zsh > \"${fpath[1]}/_sigil\""
		for _, sh := range c.Commands() {
			if sh.Example == "" {
				sh.Example = "  sigil completion " + sh.Name() + " > sigil-completion." + sh.Name()
			}
		}
	}
}
