//go:build race

package passhash

// raceEnabled: the race detector slows pure-Go key derivation up to 30× (one bcrypt cost-12
// check takes ~6 s), so the known-answer suites sample one vector per variant under it; the
// race detector is there for the concurrent code, which every sample still exercises.
const raceEnabled = true
