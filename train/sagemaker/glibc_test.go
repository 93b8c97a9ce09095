package sagemaker

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestInspectLoaderLib reads the real library's .gnu.version_r and checks
// the answer against a crude, independent reading: the highest GLIBC_x.y
// string anywhere in the file.
func TestInspectLoaderLib(t *testing.T) {
	info, err := InspectLoaderLib(loaderLib)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(loaderLib)
	if err != nil {
		t.Fatal(err)
	}
	var crude glibcVersion
	for _, m := range regexp.MustCompile(`GLIBC_[0-9]+(?:\.[0-9]+)+`).FindAll(b, -1) {
		if v, err := parseGLIBC(string(m)); err == nil && (crude == nil || crude.less(v)) {
			crude = v
		}
	}
	if want := "GLIBC_" + crude.String(); info.GLIBC != want {
		t.Errorf("InspectLoaderLib says %s, the file's strings say %s", info.GLIBC, want)
	}
	t.Logf("the loader library built here needs %s", info.GLIBC)
	if err := checkGLIBC(loaderLib, info, "img", DefaultImageGLIBC); err != nil {
		t.Errorf("the default images' glibc %s refuses a library built here: %v", DefaultImageGLIBC, err)
	}
}

func TestInspectLoaderLibRejects(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "text.so")
	os.WriteFile(notELF, []byte("not an ELF file at all"), 0o644)
	exe, err := os.Executable() // the test binary: an ELF, but not a shared object
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{notELF, filepath.Join(dir, "missing.so"), exe} {
		if _, err := InspectLoaderLib(p); !errors.Is(err, ErrLoaderLib) {
			t.Errorf("%s: %v, want ErrLoaderLib", p, err)
		}
	}
}

func TestCheckGLIBC(t *testing.T) {
	for _, tc := range []struct {
		needs, has string
		ok         bool
	}{
		{"GLIBC_2.34", "2.35", true},
		{"GLIBC_2.34", "2.34", true},
		{"GLIBC_2.34", "2.31", false},
		{"GLIBC_2.9", "2.17", true}, // numeric, not lexical
		{"GLIBC_2.17", "2.9", false},
		{"GLIBC_2.3.2", "2.3", false},
		{"", "2.17", true},
	} {
		err := checkGLIBC("lib.so", LoaderLibInfo{GLIBC: tc.needs}, "img", tc.has)
		var ge *GLIBCError
		if tc.ok != (err == nil) || (!tc.ok && !errors.As(err, &ge)) {
			t.Errorf("needs %q, image has %s: %v", tc.needs, tc.has, err)
		}
	}
}
