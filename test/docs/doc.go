// Package docs checks the project's Markdown: README and docs/ stay short and their links resolve.
package docs
