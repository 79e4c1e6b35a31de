// Package console keeps the admin console's sign-in sessions: random ids stored hashed, bound to
// the client's current secret, ended by idle and absolute timeouts, with a CSRF token derived
// from the id.
package console
