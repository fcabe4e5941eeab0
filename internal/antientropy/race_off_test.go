//go:build !race

package antientropy

// setSize is S in the pull-cost tests.
const setSize = 10000
