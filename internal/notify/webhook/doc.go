// Package webhook registers webhook endpoints and delivers events to them, signed per the Standard Webhooks scheme, over a client that refuses private addresses at dial time.
package webhook
