// Package config loads sigil's YAML file, applies defaults and SIGIL_* environment overrides, and validates the result.
package config
