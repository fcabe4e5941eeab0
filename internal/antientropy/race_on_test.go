//go:build race

package antientropy

// Under the race detector SQLite runs many times slower; the cost
// properties are the same at a smaller set size (they follow the
// difference), and the full size runs without -race.
const setSize = 1000
