package nn

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckpointRoundTripAndCorruption(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := NewMLP(rng, "m", []int{2, 3, 1}, "swish")
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := SaveParams(path, m.Params()); err != nil {
		t.Fatal(err)
	}
	m2 := NewMLP(rand.New(rand.NewPCG(9, 9)), "m", []int{2, 3, 1}, "swish")
	if err := LoadParams(path, m2.Params()); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		if diff := cmp.Diff(p.Data(), m2.Params()[i].Data()); diff != "" {
			t.Fatalf("param %s differs after load:\n%s", p.Name, diff)
		}
	}
	raw, _ := os.ReadFile(path)
	cases := map[string][]byte{
		"flipped byte": func() []byte { b := append([]byte(nil), raw...); b[len(b)/2] ^= 1; return b }(),
		"truncated":    raw[:len(raw)-7],
		"empty":        nil,
	}
	for name, b := range cases {
		bad := filepath.Join(t.TempDir(), "bad.ckpt")
		os.WriteFile(bad, b, 0o644)
		err := LoadParams(bad, m2.Params())
		if !errors.Is(err, ErrCorruptCheckpoint) {
			t.Errorf("%s: got %v, want a corrupt-checkpoint error", name, err)
		}
	}
	other := NewMLP(rng, "m", []int{2, 4, 1}, "swish")
	if err := LoadParams(path, other.Params()); !errors.Is(err, ErrCorruptCheckpoint) {
		t.Errorf("shape mismatch: got %v", err)
	}
}

func TestStateRoundTripAndCorruption(t *testing.T) {
	type state struct {
		Step int
		M    [][]float32
	}
	path := filepath.Join(t.TempDir(), "ebm.state")
	in := state{Step: 40, M: [][]float32{{1, 2}, {3}}}
	if err := SaveState(path, in); err != nil {
		t.Fatal(err)
	}
	var out state
	if err := LoadState(path, &out); err != nil || out.Step != 40 || out.M[1][0] != 3 {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	raw, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"flipped byte": func() []byte { b := append([]byte(nil), raw...); b[len(b)/2] ^= 1; return b }(),
		"truncated":    raw[:len(raw)-7],
		"not a state":  []byte("VAEBMCKPT1 something else entirely, longer than a sha256 digest"),
	} {
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		err := LoadState(path, &out)
		if !errors.Is(err, ErrCorruptCheckpoint) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want a corrupt-checkpoint error naming %s", name, err, path)
		}
	}
}
