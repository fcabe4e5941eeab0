package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/testenv"
)

// probeEnv carries, to this test binary run as another user, what to try.
const probeEnv = "CREDMESH_E2E_PROBE"

// probeJob is what the other user tries: requests on the web listener,
// and files in the data dir.
type probeJob struct {
	Base     string      `json:"base"`
	Requests [][2]string `json:"requests"` // method, path
	Files    []string    `json:"files"`    // read them
	Socket   string      `json:"socket"`   // connect to it
}

// probeResult is what it got: a status (and Location) per request, an
// error or "read" per file, and the socket's answer.
type probeResult struct {
	Status   []int    `json:"status"`
	Location []string `json:"location"`
	Files    []string `json:"files"`
	Socket   string   `json:"socket"`
}

// probe runs the job in the environment and prints the result: this is
// the test binary running as the unprivileged user, like curl would.
func probe() int {
	var job probeJob
	if err := json.Unmarshal([]byte(os.Getenv(probeEnv)), &job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var res probeResult
	for _, r := range job.Requests {
		req, _ := http.NewRequest(r[0], job.Base+r[1], strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin") // curl sends whatever it likes
		resp, err := c.Do(req)
		if err != nil {
			res.Status, res.Location = append(res.Status, 0), append(res.Location, err.Error())
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.Status, res.Location = append(res.Status, resp.StatusCode), append(res.Location, resp.Header.Get("Location"))
	}
	for _, f := range job.Files {
		if _, err := os.ReadFile(f); err != nil {
			res.Files = append(res.Files, err.Error())
		} else {
			res.Files = append(res.Files, "read")
		}
	}
	if conn, err := net.Dial("unix", job.Socket); err != nil {
		res.Socket = err.Error()
	} else {
		conn.Close()
		res.Socket = "connected"
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// A real unprivileged user on the machine (CI runs as root, so the test
// makes one) gets a 401 or the login page from every route that reveals
// or changes anything, on loopback, and can read neither the token nor
// the control socket; root gets a login URL from the CLI that works.
func TestWebRefusesAnotherLocalUser(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Need(t, "making a user needs root")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		testenv.Need(t, "useradd is not installed")
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	name := fmt.Sprintf("cmprobe%x", suffix)
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	a, b, _, ids := trio(t)
	set(t, a, "db", []byte("top secret"), "--target", "alpha")
	base := a.status().Web
	id := ids[b]
	var reqs [][2]string
	for _, p := range []string{"/", "/peers", "/peers/" + id, "/peers/invite", "/peers/" + id + "/revoke", "/peers/" + id + "/promote",
		"/peers/" + id + "/demote", "/secrets", "/secrets/new", "/secrets/db", "/secrets/db/delete", "/audit", "/metrics",
		"/api/v1/status", "/api/v1/ticket", "/api/v1/audit", "/api/v1/peers", "/api/v1/peers/" + id, "/api/v1/secrets",
		"/api/v1/secrets/db", "/api/v1/secrets/db/ciphertext"} {
		reqs = append(reqs, [2]string{"GET", p})
	}
	for _, p := range []string{"/peers", "/peers/" + id + "/sync", "/peers/" + id + "/approve", "/peers/" + id + "/ignore",
		"/peers/" + id + "/revoke", "/peers/" + id + "/promote", "/peers/" + id + "/demote", "/peers/invite", "/secrets",
		"/secrets/db/share", "/secrets/db/delete", "/secrets/db/reveal", "/logout",
		"/api/v1/peers", "/api/v1/secrets", "/api/v1/secrets/db/reveal", "/api/v1/secrets/db/share", "/api/v1/sync",
		"/api/v1/invites", "/api/v1/peers/" + id + "/revoke", "/api/v1/peers/" + id + "/promote", "/api/v1/ui/login"} {
		reqs = append(reqs, [2]string{"POST", p})
	}
	reqs = append(reqs, [2]string{"DELETE", "/api/v1/secrets/db"})
	job := probeJob{Base: base, Requests: reqs, Socket: filepath.Join(a.dataDir, "control.sock"),
		Files: []string{filepath.Join(a.dataDir, "web.token"), filepath.Join(a.dataDir, "node.key"), filepath.Join(a.dataDir, "age.key")}}

	// This test binary, copied where the user can run it, is its curl.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "credmesh-probe")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o755)
	exe := filepath.Join(dir, "probe")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(job)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = []string{probeEnv + "=" + string(spec), "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe as %s: %v", name, err)
	}
	var res probeResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("probe output %q: %v", out, err)
	}
	for i, r := range reqs {
		got, loc := res.Status[i], res.Location[i]
		if !(got == http.StatusUnauthorized || (got == http.StatusSeeOther && strings.HasPrefix(loc, "/login"))) {
			t.Errorf("%s %s as %s: %d %s, want 401 or the login page", r[0], r[1], name, got, loc)
		}
	}
	for i, f := range job.Files {
		if res.Files[i] == "read" || !strings.Contains(res.Files[i], "permission denied") {
			t.Errorf("%s as %s: %s, want permission denied", f, name, res.Files[i])
		}
	}
	if !strings.Contains(res.Socket, "permission denied") {
		t.Errorf("the control socket as %s: %s, want permission denied", name, res.Socket)
	}
	t.Logf("%d requests as %s: every one refused", len(reqs), name)

	// Root, who may use the control socket, gets a login URL that works.
	c := signIn(t, a.loginURL())
	resp, err := c.Get(base + "/api/v1/secrets/db")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signed in with the CLI's login URL, the history is %d", resp.StatusCode)
	}
}
