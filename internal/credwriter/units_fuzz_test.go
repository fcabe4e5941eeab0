package credwriter

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzUnitsLoading feeds arbitrary `systemctl show` output and unit file
// text through addUnitFileCredentials and ParseUnitsLoading: no panic, no
// unit named that the output does not hold, and output systemctl printed
// in full (no "[unprintable]") is never changed by the unit files.
func FuzzUnitsLoading(f *testing.F) {
	f.Add([]byte("Id=web.service\nLoadCredentialEncrypted=db:/etc/credstore.encrypted/db\nLoadCredential=\nImportCredential=\n"),
		[]byte("[Service]\nLoadCredential=x\n"), "db")
	f.Add([]byte("LoadCredential=[unprintable]\nLoadCredentialEncrypted=[unprintable]\nId=web.service\nFragmentPath=/u\nDropInPaths=/d\n"),
		[]byte("[Service]\nImportCredential=api.*\n LoadCredentialEncrypted = db\n"), "api.token")
	f.Add([]byte("Id=a.service\nImportCredential=*\n\n\n\nId=b.service\nLoadCredential=[unprintable]\nFragmentPath=/u\n"), []byte("LoadCredential=b\n"), "b")
	f.Fuzz(func(t *testing.T, show, unit []byte, name string) {
		read := func(string) ([]byte, error) { return unit, nil }
		full := addUnitFileCredentials(show, read)
		for _, u := range ParseUnitsLoading(full, name) {
			if !bytes.Contains(show, []byte("Id="+u)) {
				t.Fatalf("unit %q named for %q is not in the output:\n%s", u, name, show)
			}
		}
		if !bytes.Contains(show, []byte(unprintable)) {
			got, want := ParseUnitsLoading(full, name), ParseUnitsLoading(show, name)
			if !slices.Equal(got, want) {
				t.Fatalf("unit files changed what systemctl printed in full: %v, want %v", got, want)
			}
		}
	})
}
