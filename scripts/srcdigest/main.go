// Command srcdigest prints a digest of the Go source that packages of this
// module are built from: every non-test file (Go, cgo, embedded) of the
// module's own packages in their dependency closure, with go.mod and
// go.sum, which pin everything else. The Makefile stamps the digest of
// ./pipeline (the runner of every stage, and the core it calls) into
// vaebm, so that the stage cache keys trained stages by the code that
// computes them: a README, YAML or test edit, or one of the tables, the
// ablation runner or the command line, none of which a stage runs, leaves
// the digest, and the cache, as they are.
//
// Usage: go run ./scripts/srcdigest [PACKAGE ...]   (default ./pipeline)
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

func main() {
	pkgs := os.Args[1:]
	if len(pkgs) == 0 {
		pkgs = []string{"./pipeline"}
	}
	d, err := Digest(".", pkgs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "srcdigest:", err)
		os.Exit(1)
	}
	fmt.Println(d)
}

// listed is what `go list -json` says of a package that the digest reads.
type listed struct {
	Dir, ImportPath               string
	GoFiles, CgoFiles, EmbedFiles []string
	CFiles, HFiles, SFiles        []string
	Module                        *struct{ Main bool }
	Standard                      bool
}

// Digest returns the hex SHA-256 of the sources of the module in dir that
// pkgs are built from, as described in the package comment.
func Digest(dir string, pkgs ...string) (string, error) {
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json"}, pkgs...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	var files []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("go list output: %w", err)
		}
		if p.Standard || p.Module == nil || !p.Module.Main {
			continue // pinned by go.sum, or the toolchain's own
		}
		for _, group := range [][]string{p.GoFiles, p.CgoFiles, p.EmbedFiles, p.CFiles, p.HFiles, p.SFiles} {
			for _, f := range group {
				files = append(files, filepath.Join(p.Dir, f))
			}
		}
	}
	files = append(files, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			return "", err
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		// Name and length first, so that no two file sets hash alike.
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}
