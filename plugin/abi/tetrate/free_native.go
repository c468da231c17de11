//go:build !tinygo

package tetrate

// Natively (under the SDK's proxytest emulator) the host's values are Go
// memory, so nothing is freed; hostFreed lets tests see each release.
var hostFreed = func(*byte) {}

func freeHost(p *byte) { hostFreed(p) }
