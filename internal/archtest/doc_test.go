package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every package has a doc.go whose package comment says what the package
// is for (cmd packages may keep it in main.go).
func TestEveryPackageHasADocComment(t *testing.T) {
	for path, p := range listPackages(t) {
		name := short(path)
		file := filepath.Join(p.Dir, "doc.go")
		if p.Name == "main" {
			file = filepath.Join(p.Dir, "main.go")
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s has no %s", name, filepath.Base(file))
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		doc := ""
		if f.Doc != nil {
			doc = f.Doc.Text()
		}
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "Command "
		}
		if !strings.HasPrefix(doc, want) || len(doc) < 40 {
			t.Errorf("%s: package comment should start %q and say what the package is for; got %q", file, want, doc)
		}
	}
}
