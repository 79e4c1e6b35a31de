// Package revocation decides whether a verified token has been revoked: the denylist of ids and, later, cutoffs.
package revocation
