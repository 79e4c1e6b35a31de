// Package memory stores client records and the revocation denylist in process memory, for development and single-instance use.
package memory
