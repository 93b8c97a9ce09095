package sagemaker

import (
	"debug/elf"
	"fmt"
	"strconv"
	"strings"
)

// glibcVersion is a GLIBC_x.y[.z] symbol version.
type glibcVersion []int

func parseGLIBC(s string) (glibcVersion, error) {
	rest, ok := strings.CutPrefix(s, "GLIBC_")
	if !ok || rest == "" {
		return nil, fmt.Errorf("%q is not a GLIBC_x.y version", s)
	}
	var v glibcVersion
	for _, p := range strings.Split(rest, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a GLIBC_x.y version", s)
		}
		v = append(v, n)
	}
	return v, nil
}

// less compares numerically, part by part: 2.9 < 2.34, 2.3 < 2.3.2.
func (v glibcVersion) less(w glibcVersion) bool {
	for i := range min(len(v), len(w)) {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return len(v) < len(w)
}

func (v glibcVersion) String() string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ".")
}

// LoaderLibInfo is what Submit learns about the loader library from its ELF
// headers.
type LoaderLibInfo struct {
	// GLIBC is the highest GLIBC_x.y symbol version the library needs from
	// libc.so.6 (its .gnu.version_r section), "GLIBC_2.34"; empty when it
	// needs none.
	GLIBC string
}

// InspectLoaderLib reads the ELF file at path and checks that it is a
// 64-bit x86-64 shared object, the only kind every instance type in
// InstanceTypes can load. Errors wrap ErrLoaderLib.
func InspectLoaderLib(path string) (LoaderLibInfo, error) {
	var info LoaderLibInfo
	f, err := elf.Open(path)
	if err != nil {
		return info, fmt.Errorf("%w: %s: %w", ErrLoaderLib, path, err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || f.Type != elf.ET_DYN {
		return info, fmt.Errorf("%w: %s is %s %s %s, want an x86-64 shared object (ELFCLASS64 EM_X86_64 ET_DYN)", ErrLoaderLib, path, f.Class, f.Machine, f.Type)
	}
	needs, err := f.DynamicVersionNeeds()
	if err != nil {
		return info, fmt.Errorf("%w: %s: .gnu.version_r: %w", ErrLoaderLib, path, err)
	}
	var best glibcVersion
	for _, lib := range needs {
		for _, dep := range lib.Needs {
			if !strings.HasPrefix(dep.Dep, "GLIBC_") || strings.HasPrefix(dep.Dep, "GLIBC_PRIVATE") {
				continue
			}
			v, err := parseGLIBC(dep.Dep)
			if err != nil {
				continue // an unusual private version name: not a release
			}
			if best == nil || best.less(v) {
				best = v
			}
		}
	}
	if best != nil {
		info.GLIBC = "GLIBC_" + best.String()
	}
	return info, nil
}

// checkGLIBC returns a *GLIBCError when the library needs a newer glibc than
// imageGLIBC ("2.35").
func checkGLIBC(lib string, info LoaderLibInfo, image, imageGLIBC string) error {
	if info.GLIBC == "" {
		return nil
	}
	needs, err := parseGLIBC(info.GLIBC)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrLoaderLib, lib, err)
	}
	has, err := parseGLIBC("GLIBC_" + imageGLIBC)
	if err != nil {
		return fmt.Errorf("%w: image glibc: %w", ErrInvalidOptions, err)
	}
	if has.less(needs) {
		return &GLIBCError{Lib: lib, Needs: info.GLIBC, Image: image, Has: imageGLIBC}
	}
	return nil
}
