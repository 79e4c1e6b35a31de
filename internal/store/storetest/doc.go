// Package storetest is the contract test suite that every clients.Store and revocation.Store implementation must pass.
package storetest
