//go:build !amd64

package sidetrail

func specialMask32(p *byte) uint32 { return specialMask32Generic(p) }
