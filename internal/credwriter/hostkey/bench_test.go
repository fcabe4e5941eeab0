package hostkey

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// BenchmarkEncrypt measures one credential: a 100-byte secret and one at
// credmesh's limit (800,000 bytes).
func BenchmarkEncrypt(b *testing.B) {
	for _, size := range []int{100, 800_000} {
		plain := bytes.Repeat([]byte{'s'}, size)
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			now := time.Now()
			for b.Loop() {
				if _, err := Encrypt(testKey, "bench.secret", plain, now, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFresh measures the re-check before each write (two stats).
func BenchmarkFresh(b *testing.B) {
	needRoot(b)
	path, mid := machineFiles(b, randomSecret())
	k, err := loadHostKey(path, mid)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !k.Fresh() {
			b.Fatal("not fresh")
		}
	}
}
