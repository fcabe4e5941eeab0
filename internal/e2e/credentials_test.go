package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
	"github.com/credmesh/credmesh/internal/testenv"
)

func needSystemdCreds(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("systemd-creds"); err != nil {
		testenv.Need(t, "systemd-creds is not installed")
	}
	if os.Geteuid() != 0 {
		testenv.Need(t, "systemd-creds encrypt with the host key needs root")
	}
}

func credFile(n *meshNode, name string) string { return filepath.Join(n.dataDir, "creds", name) }

// credValue decrypts n's credential file for name with systemd-creds.
func credValue(n *meshNode, name string) ([]byte, error) {
	return exec.Command("systemd-creds", "decrypt", "--name="+name, credFile(n, name), "-").Output()
}

func waitCred(t testing.TB, n *meshNode, name string, want []byte) {
	t.Helper()
	eventually(t, 30*time.Second, n.name+"'s credential "+name+" holds the value", func() bool {
		got, err := credValue(n, name)
		return err == nil && bytes.Equal(got, want)
	}, nil)
}

func waitNoCred(t testing.TB, n *meshNode, name string) {
	t.Helper()
	eventually(t, 30*time.Second, n.name+"'s credential "+name+" removed", func() bool {
		_, err := os.Stat(credFile(n, name))
		return os.IsNotExist(err)
	}, nil)
}

func auditCount(t testing.TB, n *meshNode, typ, secret string) int {
	t.Helper()
	var page api.Events
	if err := json.Unmarshal([]byte(mustCLI(t, n.dataDir, "audit", "list", "--limit", "1000", "-o", "json")), &page); err != nil {
		t.Fatal(err)
	}
	c := 0
	for _, e := range page.Events {
		if e.Type == typ && (secret == "" || e.Secret == secret) {
			c++
		}
	}
	return c
}

func TestCredentialsWrittenOnTheTarget(t *testing.T) {
	needSystemdCreds(t)
	a, b, c, _ := trio(t)
	set(t, a, "db", []byte("hunter2\x00\n"), "--target", "bravo")
	waitCred(t, b, "db", []byte("hunter2\x00\n"))
	if fi, _ := os.Stat(credFile(b, "db")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential mode %04o, want 0600", fi.Mode().Perm())
	}
	// The default --creds-key auto writes in process with the host key
	// where there is no TPM2 device (this machine, CI) and spawns
	// systemd-creds where there is one; status says which.
	if got, want := b.status().Credentials.Key, expectedWriter(); got != want {
		t.Fatalf("status says credentials are encrypted by %q, want %q on this machine", got, want)
	}
	eventually(t, 30*time.Second, "alpha sees bravo's receipt", func() bool {
		var list api.Secrets
		_ = json.Unmarshal([]byte(mustCLI(t, a.dataDir, "secret", "list", "-o", "json")), &list)
		return len(list.Secrets) == 1 && list.Secrets[0].Targets[0].Rollout.State == "written" && list.Secrets[0].Targets[0].Rollout.Version == 1
	}, nil)

	set(t, a, "db", []byte("v2"), "--target", "bravo")
	waitCred(t, b, "db", []byte("v2"))
	mustCLI(t, a.dataDir, "secret", "rm", "db", "--target", "bravo")
	waitNoCred(t, b, "db")
	if _, err := os.Stat(credFile(c, "db")); !os.IsNotExist(err) {
		t.Fatalf("charlie, not a target, has a credential file: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(b.dataDir, "creds"))
	for _, e := range entries {
		if strings.Contains(e.Name(), "tmp") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}

func TestCredentialsAfterOfflineAndSyncRequests(t *testing.T) {
	needSystemdCreds(t)
	a, b, c, _ := trio(t)
	set(t, a, "keep", []byte("k1"), "--target", "bravo")
	set(t, a, "gone", []byte("g1"), "--target", "bravo")
	waitCred(t, b, "keep", []byte("k1"))
	waitCred(t, b, "gone", []byte("g1"))

	b.shutdown(syscall.SIGTERM)
	set(t, a, "keep", []byte("k2"), "--target", "bravo")
	set(t, a, "new", []byte("n1"), "--target", "bravo")
	mustCLI(t, a.dataDir, "secret", "rm", "gone", "--target", "bravo")
	b2 := startMesh(t, "bravo", b.dataDir)
	waitCred(t, b2, "keep", []byte("k2"))
	waitCred(t, b2, "new", []byte("n1"))
	waitNoCred(t, b2, "gone")

	// A sync request naming bravo makes bravo rewrite; one naming charlie
	// does nothing on bravo.
	eventually(t, 30*time.Second, "bravo back online at alpha", func() bool {
		p, ok := find(a.peers(), b2.status().NodeID)
		return ok && p.Online
	}, nil)
	before := auditCount(t, b2, "credential.written", "keep")
	fi, _ := os.Stat(credFile(b2, "keep"))
	mustCLI(t, a.dataDir, "sync", "--node", "charlie")
	eventually(t, 30*time.Second, "charlie receives its sync request", func() bool {
		return auditCount(t, c, "sync.received", "") == 1
	}, nil)
	mustCLI(t, a.dataDir, "sync", "--node", "bravo")
	eventually(t, 30*time.Second, "bravo rewrites keep", func() bool {
		return auditCount(t, b2, "credential.written", "keep") == before+1
	}, nil)
	if n := auditCount(t, b2, "sync.received", ""); n != 1 {
		t.Fatalf("bravo received %d sync requests, want only the one naming it", n)
	}
	fi2, _ := os.Stat(credFile(b2, "keep"))
	if !fi2.ModTime().After(fi.ModTime()) {
		t.Fatal("keep was not rewritten (mtime unchanged)")
	}
	if auditCount(t, a, "sync.requested", "") != 2 {
		t.Fatal("alpha did not audit both requests")
	}
	// And a local sync rewrites too.
	mustCLI(t, b2.dataDir, "sync")
	eventually(t, 30*time.Second, "bravo rewrites on a local sync", func() bool {
		return auditCount(t, b2, "credential.written", "keep") == before+2
	}, nil)
	st := b2.status()
	if st.Credentials.State != "ok" || st.Credentials.Written != 2 {
		t.Fatalf("bravo's credential state %+v, want ok with 2 written", st.Credentials)
	}
}

// expectedWriter is what --creds-key auto picks on this machine: a
// spawned systemd-creds where a TPM2 device shows (as systemd looks for
// one) or the host secret's directory is on tmpfs, else the host key in
// process.
func expectedWriter() string {
	if entries, _ := os.ReadDir("/sys/class/tpmrm"); len(entries) > 0 {
		return "systemd-creds"
	}
	if _, err := os.Stat("/dev/tpmrm0"); err == nil {
		return "systemd-creds"
	}
	var st syscall.Statfs_t
	if syscall.Statfs("/var/lib/systemd", &st) == nil && (uint32(st.Type) == 0x01021994 || uint32(st.Type) == 0x858458f6) {
		return "systemd-creds"
	}
	return "host"
}
