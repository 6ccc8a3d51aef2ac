package pipeline

import (
	"os/exec"
	"strings"
)

// GitCommit returns HEAD's hash, with "-dirty" when the work tree has
// uncommitted changes, or "unknown" outside a git checkout.
func GitCommit() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += "-dirty"
	}
	return c
}
