// Package redisserver starts real redis-server processes on loopback ports for tests.
package redisserver
