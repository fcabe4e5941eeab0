package cli

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// The daemon takes one P and GOGC 50 unless the environment names its
// own, which it leaves alone.
func TestDaemonRuntime(t *testing.T) {
	procs, gogc := runtime.GOMAXPROCS(0), debug.SetGCPercent(100)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(gogc) })

	runtime.GOMAXPROCS(2)
	debug.SetGCPercent(100)
	daemonRuntime(func(string) string { return "" })
	if got := runtime.GOMAXPROCS(0); got != daemonProcs {
		t.Errorf("GOMAXPROCS = %d, want %d", got, daemonProcs)
	}
	if got := debug.SetGCPercent(100); got != daemonGOGC {
		t.Errorf("GOGC = %d, want %d", got, daemonGOGC)
	}

	runtime.GOMAXPROCS(2)
	debug.SetGCPercent(100)
	set := map[string]string{"GOMAXPROCS": "2", "GOGC": "100"}
	daemonRuntime(func(k string) string { return set[k] })
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS = %d with GOMAXPROCS=2 in the environment, want 2", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC = %d with GOGC=100 in the environment, want 100", got)
	}
}
