package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// canaryLen is the canary's length: a number no other count, port or
// size in the system is likely to be.
const canaryLen = 123457

// needles are the forms a secret could leak in: pieces of the plaintext
// (raw, hex, base64), its SHA-256 and SHA-1 (raw, hex, base64) and, as
// a decimal standing alone, its exact length.
type needles struct {
	forms  map[string][]byte
	length *regexp.Regexp
}

func newNeedles(plain []byte) needles {
	n := needles{forms: map[string][]byte{},
		length: regexp.MustCompile(fmt.Sprintf(`(^|[^0-9A-Za-z])%d([^0-9A-Za-z]|$)`, len(plain)))}
	add := func(what string, b []byte) {
		n.forms[what] = b
		n.forms[what+" hex"] = []byte(hex.EncodeToString(b))
		n.forms[what+" HEX"] = []byte(strings.ToUpper(hex.EncodeToString(b)))
		for enc, e := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding,
			"raw base64": base64.RawStdEncoding, "raw base64url": base64.RawURLEncoding} {
			n.forms[what+" "+enc] = []byte(e.EncodeToString(b))
		}
	}
	// 48-byte windows at offsets that are multiples of 3: their base64 is
	// a substring of the whole value's, so a leak of any encoding of the
	// value (or of a large enough piece) contains one of them.
	for _, off := range []int{0, 3 * 10_000, 3 * 30_000, len(plain) - len(plain)%3 - 48} {
		add(fmt.Sprintf("plaintext[%d:]", off), plain[off:off+48])
	}
	s256, s1 := sha256.Sum256(plain), sha1.Sum(plain)
	add("sha256", s256[:])
	add("sha1", s1[:])
	return n
}

// scan reports every needle found in b, which came from where.
func (n needles) scan(where string, b []byte) []string {
	var hits []string
	for what, needle := range n.forms {
		if bytes.Contains(b, needle) {
			hits = append(hits, where+": "+what)
		}
	}
	if loc := n.length.FindIndex(b); loc != nil {
		lo, hi := max(loc[0]-60, 0), min(loc[1]+60, len(b))
		hits = append(hits, fmt.Sprintf("%s: the length, in %q", where, b[lo:hi]))
	}
	return hits
}

// TestCanaryDoesNotLeak creates a secret for bravo and looks for it, in
// every form, everywhere alpha (its author) and charlie (a plain member)
// keep or show anything: every file in their data directories (the SQLite
// database with its WAL, keys, tickets), their credential directories,
// their logs at debug level, every GET of the API and the UI, /metrics.
func TestCanaryDoesNotLeak(t *testing.T) {
	a, b, c, ids := trio(t)
	plain := make([]byte, canaryLen)
	_, _ = rand.Read(plain)
	n := newNeedles(plain)

	set(t, a, "canary", plain, "--target", "bravo", "--restart", "canary.service")
	waitValue(t, b, "canary", plain)
	eventually(t, 30*time.Second, "alpha and charlie see bravo's receipt", func() bool {
		for _, o := range []*meshNode{a, c} {
			h := history(t, o, "canary")
			if len(h.Versions) != 1 || h.Versions[0].Rollout.State != "written" {
				return false
			}
		}
		return true
	}, nil)
	// More paths that touch the secret: a sync, a read where there is no
	// copy.
	mustCLI(t, c.dataDir, "sync")
	if r := cli(t, c.dataDir, "secret", "get", "canary"); r.code == 0 {
		t.Fatal("charlie reads bravo's secret")
	}

	// The scan finds the secret where it is: bravo's reveal, in every
	// encoding, and the length as a number.
	for _, form := range []string{"raw", "hex", "base64"} {
		val := []byte(mustCLI(t, b.dataDir, "secret", "get", "canary"))
		switch form {
		case "hex":
			val = []byte(hex.EncodeToString(val))
		case "base64":
			val = []byte(base64.StdEncoding.EncodeToString(val))
		}
		if len(n.scan("bravo", val)) == 0 {
			t.Fatalf("the scan does not find the %s secret where it is", form)
		}
	}
	if len(n.scan("a sentence", []byte(fmt.Sprintf("it is %d bytes", canaryLen)))) != 1 {
		t.Fatal("the scan does not find the length")
	}

	var hits []string

	for _, o := range []*meshNode{a, c} {
		hits = append(hits, scanNode(t, o, n, ids)...)
	}
	if len(hits) > 0 {
		t.Fatalf("the canary leaked, %d hits:\n%s", len(hits), strings.Join(hits, "\n"))
	}
}

// scanNode scans one node's files, credential directory, logs, API, UI
// and metrics.
func scanNode(t *testing.T, o *meshNode, n needles, ids map[*meshNode]string) []string {
	t.Helper()
	var hits []string
	files := 0
	err := filepath.WalkDir(o.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() { // directories, the control socket
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		hits = append(hits, n.scan(o.name+" "+strings.TrimPrefix(path, o.dataDir), b)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 { // the database at least, its WAL, the keys
		t.Fatalf("%s: only %d files scanned in %s", o.name, files, o.dataDir)
	}
	base := o.status().Web
	if base == "" {
		t.Fatalf("%s has no web UI to scan", o.name)
	}
	paths := []string{
		"/api/v1/status", "/api/v1/ticket", "/api/v1/audit?limit=1000", "/api/v1/peers",
		"/api/v1/secrets", "/api/v1/secrets/canary", "/api/v1/secrets/canary/ciphertext?node=bravo",
		"/", "/peers", "/secrets", "/secrets/canary", "/audit", "/metrics",
	}
	for _, id := range ids {
		paths = append(paths, "/api/v1/peers/"+url.PathEscape(id), "/peers/"+url.PathEscape(id))
	}
	for _, p := range paths {
		resp, body := webDo(t, o, http.MethodGet, p, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s GET %s: %s %s", o.name, p, resp.Status, body)
		}
		hits = append(hits, n.scan(o.name+" GET "+p, body)...)
	}
	// Asking to reveal it where there is no copy is refused, and says
	// nothing about it either.
	resp, body := webDo(t, o, http.MethodPost, "/api/v1/secrets/canary/reveal", nil)
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("%s revealed bravo's secret: %s", o.name, body)
	}
	hits = append(hits, n.scan(o.name+" POST reveal", body)...)
	return append(hits, n.scan(o.name+" logs", []byte(o.logs.String()))...)
}
