package credwriter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// The request is one JSON object ending in NUL, the plaintext Base64 in
// "data", the name JSON-quoted whatever it holds.
func TestEncryptRequest(t *testing.T) {
	plain := []byte("pa\x00ss\n\xff")
	for _, name := range []string{"db-pass", `a"b\c`, "ünï"} {
		req, err := encryptRequest(name, plain)
		if err != nil {
			t.Fatal(err)
		}
		if req[len(req)-1] != 0 || bytes.IndexByte(req[:len(req)-1], 0) >= 0 {
			t.Fatalf("request %q is not one NUL-terminated message", req)
		}
		var got struct {
			Method     string
			Parameters struct{ Name, Data string }
		}
		if err := json.Unmarshal(req[:len(req)-1], &got); err != nil {
			t.Fatalf("request %q: %v", req, err)
		}
		data, _ := base64.StdEncoding.DecodeString(got.Parameters.Data)
		if got.Method != "io.systemd.Credentials.Encrypt" || got.Parameters.Name != name || !bytes.Equal(data, plain) {
			t.Fatalf("request %q decodes to %+v", req, got)
		}
	}
}

func TestDecodeVarlinkReply(t *testing.T) {
	blob := base64.StdEncoding.EncodeToString([]byte("credential bytes"))
	got, err := decodeVarlinkReply([]byte(`{"parameters":{"blob":"` + blob + `"}}`))
	if err != nil || string(got) != blob {
		t.Fatalf("good reply: %q, %v", got, err)
	}
	var ve *varlinkError
	_, err = decodeVarlinkReply([]byte(`{"error":"io.systemd.Credentials.BadFormat","parameters":{}}`))
	if !errors.As(err, &ve) || ve.Name != "io.systemd.Credentials.BadFormat" {
		t.Fatalf("error reply: %v", err)
	}
	for _, bad := range []string{
		``, `{`, `[]`, `{"parameters":{}}`, `{"parameters":{"blob":""}}`, `{"parameters":{"blob":"not base64!"}}`,
		`{"parameters":{"blob":"` + blob + `"},"continues":true}`, `{"parameters":"x"}`,
		`{"parameters":{"blob":"` + strings.Repeat("A", maxVarlinkReply) + `"}}`,
	} {
		if got, err := decodeVarlinkReply([]byte(bad)); err == nil {
			t.Errorf("reply %.60q decoded to %.40q", bad, got)
		}
	}
}

// Messages are read to their NUL across the reader's buffer, and one
// longer than the cap is refused before it is all read.
func TestReadVarlinkMessage(t *testing.T) {
	long := strings.Repeat("x", 100)
	r := bufio.NewReaderSize(strings.NewReader(long+"\x00{}\x00"), 16)
	for _, want := range []string{long, "{}"} {
		got, err := readVarlinkMessage(r)
		if err != nil || string(got) != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	if _, err := readVarlinkMessage(r); err == nil {
		t.Fatal("read past the end without an error")
	}
	huge := &endless{}
	if _, err := readVarlinkMessage(bufio.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("endless reply: %v", err)
	}
	if huge.n > 2*maxVarlinkReply {
		t.Fatalf("read %d bytes of an endless reply, cap %d", huge.n, maxVarlinkReply)
	}
}

type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += len(p)
	return len(p), nil
}

// recorder is a Runner that counts its calls.
type recorder struct{ calls int }

func (r *recorder) Encrypt(_ context.Context, name string, _ []byte) ([]byte, error) {
	r.calls++
	return []byte("spawned " + name), nil
}

// Where no varlink service answers (systemd before 256), every credential
// goes to the spawn, and the reason is logged once.
func TestVarlinkFallsBackToSpawn(t *testing.T) {
	var logs bytes.Buffer
	spawn := &recorder{}
	s := &varlinkOrSpawn{vl: &Varlink{Path: filepath.Join(t.TempDir(), "no-such-socket")}, spawn: spawn,
		log: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 3 {
		out, err := s.Encrypt(t.Context(), "db-pass", []byte("v"))
		if err != nil || string(out) != "spawned db-pass" {
			t.Fatalf("Encrypt = %q, %v; want the spawn's credential", out, err)
		}
	}
	if spawn.calls != 3 {
		t.Fatalf("spawned %d times, want 3", spawn.calls)
	}
	if n := strings.Count(logs.String(), "not usable"); n != 1 {
		t.Fatalf("logged the fallback %d times, want once:\n%s", n, logs.String())
	}
}
