package credwriter

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Two holders of one credential directory: the second is refused with an
// error naming the first (this process, found through /proc/locks); once
// the first lets go, the directory can be taken again.
func TestLockDirOneOwner(t *testing.T) {
	dir := t.TempDir() + "/creds"
	first, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("credential dir: %v, mode %v; want created 0700", err, fi.Mode().Perm())
	}
	_, err = LockDir(dir)
	want := "in use by process " + strconv.Itoa(os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--creds-dir") {
		t.Fatalf("second lock: err = %v, want it to contain %q and point to --creds-dir", err, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("the lock left %d files in the credential directory", len(entries))
	}
	first.Close()
	again, err := LockDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.Close()
}

func TestFlockHolder(t *testing.T) {
	locks := []byte(`1: POSIX  ADVISORY  WRITE 99 08:01:42 0 EOF
2: FLOCK  ADVISORY  WRITE 1234 00:2d:77 0 EOF
2: -> FLOCK  ADVISORY  WRITE 555 00:2d:77 0 EOF
3: FLOCK  ADVISORY  WRITE 4321 00:2d:7700 0 EOF
`)
	for _, c := range []struct {
		ino  uint64
		want int
	}{{77, 1234}, {7700, 4321}, {42, 0}, {1, 0}} {
		if got := flockHolder(locks, c.ino); got != c.want {
			t.Errorf("flockHolder(ino %d) = %d, want %d", c.ino, got, c.want)
		}
	}
}
