package cli

import (
	"runtime"
	"runtime/debug"
)

// Runtime settings of the daemon process (measured in docs/benchmarks.md,
// "Close to the floor"): a node's work is small and mostly waiting, so
// one P spares the scheduler's spinning threads on every wake-up (idle
// CPU at 30 peers down by a fifth), and a GC target of 50 % keeps the heap
// within half of what is live (3 MB less RSS at no measurable CPU).
// GOMAXPROCS and GOGC in the environment win, as for any Go program.
const (
	daemonProcs = 1
	daemonGOGC  = 50
)

// daemonRuntime applies them where the environment does not set its own.
func daemonRuntime(getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(daemonProcs)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(daemonGOGC)
	}
}
