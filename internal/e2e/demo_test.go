package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credmesh/credmesh/internal/api"
)

// credmesh demo: starts, its three UIs answer, the sample secret reaches
// both targets, and Ctrl-C leaves no process and no directory behind.
func TestDemoSmoke(t *testing.T) {
	cmd := exec.Command(daemonBin, "demo")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	var out strings.Builder
	urls := map[string]string{}
	var dir string
	urlRE := regexp.MustCompile(`^\s+(alpha|bravo|charlie)\s+(http://\S+)`)
	dirRE := regexp.MustCompile(`data in (\S+)`)
	timeout := time.After(2 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo exited early:\n%s\n%s", out.String(), stderr.String())
			}
			out.WriteString(l + "\n")
			if m := urlRE.FindStringSubmatch(l); m != nil {
				urls[m[1]] = m[2]
			}
			if m := dirRE.FindStringSubmatch(l); m != nil {
				dir = m[1]
			}
			if strings.Contains(l, "press Ctrl-C") {
				break wait
			}
		case <-timeout:
			t.Fatalf("demo not up after 2 minutes:\n%s\n%s", out.String(), stderr.String())
		}
	}
	if len(urls) != 3 || dir == "" {
		t.Fatalf("demo printed %d URLs and dir %q:\n%s", len(urls), dir, out.String())
	}
	if os.Geteuid() != 0 && !strings.Contains(out.String(), "PLAIN FILES") {
		t.Fatal("without root the demo does not say its credentials are plain files")
	}
	clients, bases := map[string]*http.Client{}, map[string]string{}
	for name, login := range urls {
		// The printed login URL signs a browser in; nothing works without.
		base := login[:strings.Index(login, "/login?")]
		if resp, err := http.Get(base + "/api/v1/status"); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s's API answers without a login: %v %v", name, err, resp)
		}
		c := signIn(t, login)
		clients[name], bases[name] = c, base
		resp, err := c.Get(base + "/api/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var st api.Status
		if resp.StatusCode != 200 || json.Unmarshal(b, &st) != nil || st.Hostname != name {
			t.Fatalf("%s's UI at %s does not answer as %s: %d %s", name, base, name, resp.StatusCode, b)
		}
		if want := map[string]string{"alpha": "admin", "bravo": "node", "charlie": "node"}[name]; st.Role != want {
			t.Fatalf("%s's role is %q, want %q", name, st.Role, want)
		}
	}
	getJSON := func(c *http.Client, url string, v any) bool {
		resp, err := c.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && json.Unmarshal(b, v) == nil
	}
	eventually(t, time.Minute, "the sample secret written on bravo and charlie", func() bool {
		var list api.Secrets
		if !getJSON(clients["alpha"], bases["alpha"]+"/api/v1/secrets", &list) || len(list.Secrets) != 1 {
			return false
		}
		written := 0
		for _, tg := range list.Secrets[0].Targets {
			if tg.Rollout.State == "written" && (tg.Hostname == "bravo" || tg.Hostname == "charlie") {
				written++
			}
		}
		return list.Secrets[0].Name == "demo-password" && written == 2
	}, nil)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exited with %v after Ctrl-C\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not exit 30s after Ctrl-C")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("demo left %s behind: %v", dir, err)
	}
	if err := syscall.Kill(cmd.Process.Pid, 0); err == nil {
		t.Fatal("the demo process is still there")
	}
}
