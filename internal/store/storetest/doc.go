// Package storetest is the contract test suite that every clients.Store, revocation.Store and registry.Store implementation must pass.
package storetest
