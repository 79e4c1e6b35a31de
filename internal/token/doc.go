// Package token defines sigil's JWT claims, mints signed tokens and runs the verification pipeline (DESIGN §4 steps 1–5).
package token
