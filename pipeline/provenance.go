package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/vaebm/vaebm/core/nn"
)

// Provenance is what a run records about the code that ran it.
type Provenance struct {
	GitCommit string // HEAD, or "unknown" outside a git checkout
	GitDirty  bool   // tracked files differ from HEAD
	GoVersion string // with the BLAS and its kernel family, which set the speed
	Modules   string // "path version sum" per dependency, from the build info
}

// CurrentProvenance reads git state and the binary's build info.
func CurrentProvenance() Provenance {
	p := Provenance{GitCommit: "unknown", GoVersion: runtime.Version() + " " + nn.BLAS + "/" + nn.BLASCore()}
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		p.GitCommit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
			p.GitDirty = len(strings.TrimSpace(string(st))) > 0
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var b strings.Builder
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			fmt.Fprintf(&b, "%s %s %s\n", d.Path, d.Version, d.Sum)
		}
		p.Modules = b.String()
	}
	return p
}

var (
	codeVersionOnce sync.Once
	codeVersion     string
)

// sourceDigest is the digest of the Go source the binary was built from
// (scripts/srcdigest), stamped in by the Makefile's build:
// -ldflags "-X github.com/vaebm/vaebm/pipeline.sourceDigest=…".
var sourceDigest string

// CodeVersion names the code for the stage cache. A binary built by make
// carries the digest of the source it was built from, so that an edit of
// documentation, experiment files or tests keeps cached stages. Otherwise
// (go build, go test) it is the commit, plus a digest of `git diff HEAD`
// when the tree is dirty, or, outside git, a digest of the executable.
func CodeVersion() string {
	codeVersionOnce.Do(func() {
		if sourceDigest != "" {
			codeVersion = "src." + sourceDigest
			return
		}
		p := CurrentProvenance()
		if p.GitCommit != "unknown" {
			codeVersion = p.GitCommit
			if p.GitDirty {
				diff, _ := exec.Command("git", "diff", "HEAD").Output()
				sum := sha256.Sum256(diff)
				codeVersion += "+dirty." + hex.EncodeToString(sum[:6])
			}
			return
		}
		codeVersion = "unknown"
		if exe, err := os.Executable(); err == nil {
			if f, err := os.Open(exe); err == nil {
				h := sha256.New()
				_, _ = io.Copy(h, f)
				f.Close()
				codeVersion = "exe." + hex.EncodeToString(h.Sum(nil)[:8])
			}
		}
	})
	return codeVersion
}

// DataDigest is the SHA-256 of a float32 dataset as little-endian bytes.
func DataDigest(xs []float32) string {
	h := sha256.New()
	var b [4]byte
	for _, x := range xs {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}
