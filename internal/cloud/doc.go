// Package cloud publishes report tokens to the cloud deployment, another sigil reached through pkg/client, and reads them back.
package cloud
