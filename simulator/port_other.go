//go:build !linux

package simulator

const noCTTY = 0
