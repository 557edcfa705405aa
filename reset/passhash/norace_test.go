//go:build !race

package passhash

const raceEnabled = false
