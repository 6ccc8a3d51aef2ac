package nn

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// A profiled run counts each op once per run and the FLOPs of the
// convolutions (forward and both gradients) and matrix products exactly.
func TestOpProfileCountsFLOPs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	conv := NewConv(rng, "c", 3, 4, 3, 1, 1, true)
	lin := NewLinear(rng, "l", 4*5*5, 2)
	b := NewBuilder()
	x, _ := b.Input("x", 2, 3, 5, 5)
	h, err := conv.Forward(b, x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := lin.Forward(b, G.Must(G.Reshape(h, []int{2, 100})))
	if err != nil {
		t.Fatal(err)
	}
	cost := G.Must(G.Sum(G.Must(G.Reshape(y, []int{4}))))
	params := append(conv.Params(), lin.Params()...)
	prog, err := Compile(b, cost, b.ParamNodes(params))
	if err != nil {
		t.Fatal(err)
	}
	StartOpProfile()
	for i := 0; i < 3; i++ {
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
	}
	prof := StopOpProfile()
	if StopOpProfile() != nil {
		t.Fatal("a second stop returned a profile")
	}
	byKind := map[string]OpStat{}
	for _, s := range prof.Stats() {
		byKind[s.Kind] = s
	}
	convFLOPs := 2.0 * 2 * 4 * 3 * 3 * 3 * 5 * 5 // N·O·C·k²·Ho·Wo multiply-adds
	for _, tc := range []struct {
		kind  string
		flops float64
	}{
		{"Conv2D", convFLOPs},
		{"Conv2DGradWeight", convFLOPs},
		{"A × B", 2 * 2 * 100 * 2},  // (2×100)(100×2)
		{"Aᵀ × B", 2 * 100 * 2 * 2}, // the weight gradient xᵀ·dy
		{"A × Bᵀ", 2 * 2 * 2 * 100}, // the input gradient dy·Wᵀ
	} {
		s, ok := byKind[tc.kind]
		if !ok {
			t.Errorf("no %q in the profile: %v", tc.kind, prof.Stats())
			continue
		}
		if s.Calls != 3 || s.FLOPs != 3*tc.flops {
			t.Errorf("%s: %d calls, %g FLOPs; want 3 and %g", tc.kind, s.Calls, s.FLOPs, 3*tc.flops)
		}
	}
	// The input x needs no gradient: no Conv2DGradInput runs.
	if _, ok := byKind["Conv2DGradInput"]; ok {
		t.Error("the input gradient of x was computed")
	}
	if tot := prof.Total(); tot.Time <= 0 || tot.Calls < 5*3 {
		t.Errorf("total %+v", tot)
	}
}
