package identity

import "testing"

// FuzzKeyFiles: the node.key and age.key parsers take any file contents
// and either refuse them or return a usable key.
func FuzzKeyFiles(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIE5v\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n"))
	f.Add([]byte("# comment\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if k, err := parseNodeKey(raw); err == nil && len(k) != 64 {
			t.Fatalf("node key of %d bytes", len(k))
		}
		if k, err := parseAgeKey(raw); err == nil && k.Recipient() == nil {
			t.Fatal("age key without a recipient")
		}
	})
}
