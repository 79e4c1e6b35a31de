// Package revocation decides whether a verified token has been revoked: the denylist of token and record ids, the revoke-all cutoffs, and the in-memory replica of both that verification reads.
package revocation
