//go:build crashpoints

package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Enabled says whether this build has crash points (-tags crashpoints).
const Enabled = true

var (
	once  sync.Once
	armed atomic.Bool
	name  string
	at    int64
	hits  atomic.Int64
)

func load() {
	v := os.Getenv(Env)
	if v == "" {
		return
	}
	name, at = v, 1
	if i := strings.LastIndexByte(v, '@'); i >= 0 {
		n, err := strconv.ParseInt(v[i+1:], 10, 64)
		if err == nil && n > 0 {
			name, at = v[:i], n
		}
	}
	armed.Store(true)
}

// Here kills the process with SIGKILL when point is the armed one and
// this is its armed hit.
func Here(point string) {
	once.Do(load)
	if !armed.Load() || point != name {
		return
	}
	if hits.Add(1) == at {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is asynchronous; never go on
	}
}
