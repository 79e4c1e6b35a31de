// Package consoletoken mints and checks console tokens: short-lived, owner-bound tokens that a host backend buys for its signed-in user so that the <sigil-api-tokens> component can manage that owner's API tokens through the registry API.
package consoletoken
