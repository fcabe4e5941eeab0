package credwriter

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"testing"
)

// FuzzVarlinkReply feeds arbitrary bytes to the reader and decoder of
// the varlink service's replies: no panic, nothing over the cap, and a
// credential only ever as Base64 that decodes.
func FuzzVarlinkReply(f *testing.F) {
	f.Add([]byte(`{"parameters":{"blob":"V2h4cWh0K2RRSmF4MWFaZUNHTHhtaUFBQUFBQkFBQUFEQUFBQUJBQUFBQT0="}}` + "\x00"))
	f.Add([]byte(`{"error":"io.systemd.Credentials.BadFormat","parameters":{}}` + "\x00"))
	f.Add([]byte(`{"error":"io.systemd.System","parameters":{"errno":131}}` + "\x00"))
	f.Add([]byte(`{"parameters":{"blob":"QQ=="},"continues":true}` + "\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		msg, err := readVarlinkMessage(bufio.NewReaderSize(bytes.NewReader(in), 64))
		if err != nil {
			return
		}
		if len(msg) > maxVarlinkReply || bytes.IndexByte(msg, 0) >= 0 {
			t.Fatalf("message of %d bytes holding a NUL or over the cap", len(msg))
		}
		cred, err := decodeVarlinkReply(msg)
		if err != nil {
			return
		}
		raw, err := base64.StdEncoding.DecodeString(string(cred))
		if err != nil || len(raw) == 0 {
			t.Fatalf("credential %.40q is not Base64 of something: %v", cred, err)
		}
	})
}
