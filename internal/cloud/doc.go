// Package cloud publishes report tokens to the cloud deployment (another sigil reached through pkg/client), reads them back, and decides who may publish, list and delete a report's tokens across this deployment and the cloud.
package cloud
