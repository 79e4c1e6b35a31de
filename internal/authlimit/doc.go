// Package authlimit decides when failed client authentications are rate limited, across instances, without locking out a caller who holds the right secret.
package authlimit
