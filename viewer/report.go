package viewer

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/vaebm/vaebm/tracker"
)

// maxCopied bounds the size of a non-image artifact a report copies
// (checkpoints stay behind; the page lists them by path).
const maxCopied = 16 << 20

// Report writes the server's pages as static files into dir, for sharing:
// index.html (the runs), run-ID.html for every run, compare-EXPERIMENT.html
// for each experiment with two or more runs, tables.html, plots.html, the
// script, and under files/ a copy of every figure and of each run's small
// artifacts. Links between them are relative, so the folder can move.
func (s *Server) Report(dir string) ([]string, error) {
	st := *s
	st.static = true
	if err := st.parse(); err != nil {
		return nil, err
	}
	var written []string
	write := func(name, page string, data any) error {
		var b bytes.Buffer
		if err := st.render(&b, page, data); err != nil {
			return fmt.Errorf("report %s: %w", name, err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		written = append(written, p)
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	rd, err := st.runsData(url.Values{}, "")
	if err != nil {
		return nil, err
	}
	runs := rd.(runsPage)
	byExp := map[string][]tracker.RunInfo{}
	for _, r := range runs.Runs {
		byExp[r.Experiment] = append(byExp[r.Experiment], r.RunInfo)
	}
	for _, e := range slices.Sorted(maps.Keys(byExp)) {
		if len(byExp[e]) > 1 {
			runs.Compares = append(runs.Compares, compareLink{Experiment: e, URL: "compare-" + url.PathEscape(e) + ".html", N: len(byExp[e])})
		}
	}
	if err := write("index.html", "runs", runs); err != nil {
		return nil, err
	}
	copied := map[string]bool{}
	for _, r := range runs.Runs {
		data, err := st.runData(nil, strconv.FormatInt(r.ID, 10))
		if err != nil {
			return nil, err
		}
		if err := write(fmt.Sprintf("run-%d.html", r.ID), "run", data); err != nil {
			return nil, err
		}
		p := data.(runPage)
		for _, a := range append(p.Images, p.Files...) {
			if a.Rel != "" && !copied[a.Rel] {
				copied[a.Rel] = true
				if err := st.copyFile(dir, a.Rel, !a.Image); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, e := range slices.Sorted(maps.Keys(byExp)) {
		if len(byExp[e]) < 2 {
			continue
		}
		full := make([]tracker.RunInfo, 0, len(byExp[e]))
		for _, r := range byExp[e] {
			ri, err := st.DB.Get(r.ID)
			if err != nil {
				return nil, err
			}
			full = append(full, ri)
		}
		data, err := st.compare(full)
		if err != nil {
			return nil, err
		}
		if err := write("compare-"+e+".html", "compare", data); err != nil {
			return nil, err
		}
	}
	td, err := st.tablesData(nil, "")
	if err != nil {
		return nil, err
	}
	if err := write("tables.html", "tables", td); err != nil {
		return nil, err
	}
	pd, err := st.plotsData(nil, "")
	if err != nil {
		return nil, err
	}
	for _, p := range pd.(plotsPage).Plots {
		if !copied[p.Rel] {
			copied[p.Rel] = true
			if err := st.copyFile(dir, p.Rel, false); err != nil {
				return nil, err
			}
		}
	}
	if err := write("plots.html", "plots", pd); err != nil {
		return nil, err
	}
	js, _ := assets.ReadFile("app.js")
	if err := os.WriteFile(filepath.Join(dir, "app.js"), js, 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return written, nil
}

// copyFile copies out/rel to dir/files/rel; a large file is skipped when
// bounded (limit), as is one that is gone or outside the output folder.
func (s *Server) copyFile(dir, rel string, limit bool) error {
	src, ok := s.within(rel)
	if !ok {
		return nil
	}
	if st, err := os.Stat(src); err != nil || (limit && st.Size() > maxCopied) {
		return nil
	}
	dst := filepath.Join(dir, "files", rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("report: copying %s: %w", rel, err)
	}
	return out.Close()
}
