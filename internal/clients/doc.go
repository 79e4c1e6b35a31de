// Package clients manages API client records and authenticates their secrets.
package clients
