//go:build race

package actions

// raceOn is set under the race detector, whose instrumentation changes
// what the runtime allocates: bytes.Buffer.Grow's append(nil, make(n)...)
// is no longer fused, so growing a buffer allocates it twice.
const raceOn = true
