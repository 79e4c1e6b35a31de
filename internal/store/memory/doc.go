// Package memory stores client records, the revocation denylist and cutoffs, and registered token records in process memory, for development and single-instance use.
package memory
