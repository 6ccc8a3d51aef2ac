package results

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTableFormats(t *testing.T) {
	tb := Table{
		Name: "toy", Title: "Toy",
		Metrics: []Metric{{Key: "test_ll_nats", Label: "Test LL", Digits: 2}},
		Rows: []Row{
			{Model: "True", Ours: map[string]Cell{"test_ll_nats": Estimate(-1.1012, 0.003)}, Paper: map[string]Cell{"test_ll_nats": Value(-1.10)}},
			{Model: "VAE_x", Ours: map[string]Cell{}, Paper: map[string]Cell{"test_ll_nats": Value(-2.97)}},
		},
	}
	recs, err := csv.NewReader(strings.NewReader(tb.CSV())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"model", "test_ll_nats", "test_ll_nats_paper"}, {"True", "-1.1012", "-1.1"}, {"VAE_x", "", "-2.97"}}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Fatalf("csv (-want +got):\n%s", diff)
	}
	if md := tb.Markdown(); !strings.Contains(md, "| True | -1.10 ± 0.003 | -1.10 |") {
		t.Fatalf("markdown:\n%s", md)
	}
	if tex := tb.LaTeX(); !strings.Contains(tex, `VAE\_x & – & -2.97 \\`) {
		t.Fatalf("latex:\n%s", tex)
	}
}
