package pipeline

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The first report of a stage has no rate to go on; later ones estimate
// the time left from the steps done since it, and a new stage starts over.
func TestBarETA(t *testing.T) {
	var out bytes.Buffer
	b := NewBar(&out)
	b.Update("vae", 50, 1000, "")
	time.Sleep(20 * time.Millisecond)
	b.Update("vae", 150, 1000, "")
	b.Update("ebm", 10, 100, "")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	if !strings.HasSuffix(lines[0], "eta ?") || strings.HasSuffix(lines[1], "eta ?") || !strings.HasSuffix(lines[2], "eta ?") {
		t.Errorf("ETAs:\n%s", out.String())
	}
}
