package viewer

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vaebm/vaebm/tracker"
)

const evil = "<script>alert(1)</script>"

// fixture is an output folder with a database of three runs: a finished
// one with a curve, final metrics and a figure, one whose name and config
// hold markup, and one still running.
type fixture struct {
	out     string
	rw      *tracker.DB // the writer, left open: the viewer reads beside it
	srv     *Server
	curveN  int
	running *tracker.Run
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{out: t.TempDir(), curveN: 7}
	var err error
	if f.rw, err = tracker.Open(filepath.Join(f.out, "vaebm.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.rw.Close() })
	ctx := context.Background()
	fig := filepath.Join(f.out, "plots", "toy-fig4.png")
	writePNG(t, fig)
	a, err := f.rw.StartRun(ctx, tracker.RunSpec{Experiment: "toy", Name: "toy-quick-seed0", Config: "seed: 0\nebm:\n  lr: 0.001\n",
		Seed: 0, Params: map[string]string{"seed": "0", "ebm.lr": "0.001", "vae.steps": "100"}, Command: "vaebm run experiments/toy.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < f.curveN; i++ {
		a.Log("ebm/loss", 10*i, 1/float64(i+1))
	}
	a.Log("eval/vaebm_ll", 0, -1.59)
	if err := a.Artifact(fig, "plot"); err != nil {
		t.Fatal(err)
	}
	// A run records paths as its command line named them, relative to its
	// own working directory: here the folder above the output folder.
	grid := filepath.Join(f.out, "runs", "1", "samples-vaebm.png")
	writePNG(t, grid)
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Dir(f.out)); err != nil {
		t.Fatal(err)
	}
	err = a.Artifact(filepath.Join(filepath.Base(f.out), "runs", "1", "samples-vaebm.png"), "samples")
	os.Chdir(wd)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Finish(); err != nil {
		t.Fatal(err)
	}
	b, err := f.rw.StartRun(ctx, tracker.RunSpec{Experiment: "toy", Name: evil, Config: "description: " + evil + "\n",
		Seed: 1, Params: map[string]string{"seed": "1", "ebm.lr": evil, "vae.steps": "100"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		b.Log("ebm/loss", 10*i, 2/float64(i+1))
		b.Log(evil, i, float64(i)) // a metric key with markup: a chart title
	}
	b.Log("eval/vaebm_ll", 0, -1.7)
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	if f.running, err = f.rw.StartRun(ctx, tracker.RunSpec{Experiment: "stacked", Name: "stacked-quick-seed0", Config: "{}"}); err != nil {
		t.Fatal(err)
	}
	f.running.Log("vae/neg_elbo", 0, 10)
	f.running.Log("vae/neg_elbo", 1, 9)
	if err := f.running.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.running.Finish() })
	ro, err := tracker.OpenReadOnly(filepath.Join(f.out, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	if f.srv, err = New(ro, f.out, "../ablations"); err != nil {
		t.Fatal(err)
	}
	return f
}

func writePNG(t *testing.T, path string) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 12, 8))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 3)
	}
	img.Set(0, 0, color.Gray{255})
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := png.Encode(fh, img); err != nil {
		t.Fatal(err)
	}
}

// get answers a raw request path (not cleaned by a client) from the handler.
func (f *fixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://x/", nil)
	req.URL.Path, req.URL.RawPath, req.RequestURI = path, "", path
	if u, q, ok := strings.Cut(path, "?"); ok {
		req.URL.Path, req.URL.RawQuery = u, q
	}
	f.srv.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// redirect follows the handler's redirect for path and returns the answer.
func (f *fixture) redirect(t *testing.T, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://x/", nil)
	req.URL.Path, req.RequestURI = path, path
	f.srv.Handler().ServeHTTP(rec, req)
	if rec.Code/100 != 3 {
		return rec.Code, rec.Body.String()
	}
	loc := rec.Header().Get("Location")
	return f.get(t, loc)
}

// pathPoints counts the vertices of each <path d="M… L…"> in an SVG.
var pathRe = regexp.MustCompile(`<path d="([^"]*)"`)

func maxPathPoints(svg string) int {
	best := 0
	for _, m := range pathRe.FindAllStringSubmatch(svg, -1) {
		n := strings.Count(m[1], "M") + strings.Count(m[1], "L")
		best = max(best, n)
	}
	return best
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		path string
		code int
		has  []string
	}{
		{"/", 200, []string{"toy-quick-seed0", "stacked-quick-seed0", `class="status-running"`, "eval/vaebm_ll", "-1.59", `href="/run/1"`}},
		{"/?experiment=stacked", 200, []string{"stacked-quick-seed0"}},
		{"/?param=ebm.lr%3D0.001", 200, []string{"toy-quick-seed0"}},
		{"/run/1", 200, []string{`data-key="ebm/loss" data-points="7"`, "<svg", `src="/file/plots/toy-fig4.png"`, `src="/file/runs/1/samples-vaebm.png"`, "vaebm run experiments/toy.yaml", "eval/vaebm_ll", "run-1.yaml"}},
		{"/run/2", 200, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"/run/3", 200, []string{`data-refresh="5"`, "vae/neg_elbo"}},
		{"/run/1/config.yaml", 200, []string{"lr: 0.001"}},
		{"/compare?id=1&id=2", 200, []string{"<td>ebm.lr</td><td>0.001</td>", `data-key="ebm/loss"`, "run 1", "run 2"}},
		{"/tables", 200, []string{"Table 4 on Fashion-MNIST", "VAEBM w/ KL", "missing (no run)", "25-Gaussians"}},
		{"/plots", 200, []string{"plots/toy-fig4.png", `href="/run/1"`}},
		{"/file/plots/toy-fig4.png", 200, []string{"PNG"}},
		{"/run/99", 404, []string{"no run 99"}},
		{"/run/abc", 404, []string{"not a positive number"}},
		{"/compare?id=1", 404, []string{"two or more runs"}},
		{"/compare?id=1&id=77", 404, []string{"no run 77"}},
		{"/nope", 404, []string{"no page /nope"}},
		{"/?param=nokey", 500, []string{"want KEY=VALUE"}},
	} {
		code, body := f.get(t, tc.path)
		if code != tc.code {
			t.Errorf("%s: status %d, want %d:\n%.400s", tc.path, code, tc.code, body)
			continue
		}
		for _, s := range tc.has {
			if !strings.Contains(body, s) {
				t.Errorf("%s: page lacks %q", tc.path, s)
			}
		}
		if strings.Contains(body, evil) {
			t.Errorf("%s: unescaped markup from the DB", tc.path)
		}
		if strings.Contains(body, "goroutine ") {
			t.Errorf("%s: a stack trace", tc.path)
		}
	}
	// The curve has exactly the logged points, and markup shows as text.
	_, body := f.get(t, "/run/1")
	i := strings.Index(body, `data-key="ebm/loss"`)
	if n := maxPathPoints(body[i:]); n != f.curveN {
		t.Errorf("the ebm/loss curve draws %d points, want %d", n, f.curveN)
	}
	if _, body := f.get(t, "/run/2"); !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("run 2's name is not shown escaped")
	}
	// The page of a running run follows it as it logs.
	f.running.Log("vae/neg_elbo", 2, 8)
	if err := f.running.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, body := f.get(t, "/run/3"); !strings.Contains(body, `data-key="vae/neg_elbo" data-points="3"`) {
		t.Error("the running run's page does not show its new point")
	}
}

// Only files under the output folder are served: .., absolute paths,
// encoded dots and symlinks leading out all answer 404.
func TestFilesStayInTheOutputFolder(t *testing.T) {
	f := newFixture(t)
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("TOP-SECRET-CONTENT"), 0o644)
	if err := os.Symlink(secret, filepath.Join(f.out, "plots", "evil.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(secret), filepath.Join(f.out, "outside")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"/file/../" + filepath.Base(filepath.Dir(secret)) + "/secret.txt",
		"/file/plots/../../secret.txt",
		"/file/" + secret,
		"/file//etc/passwd",
		"/file/plots/evil.png",
		"/file/outside/secret.txt",
		"/file/plots",
		"/file/",
	} {
		code, body := f.get(t, p)
		for hops := 0; code/100 == 3 && hops < 3; hops++ {
			// The mux answers an uncleaned path with a redirect to the
			// cleaned one, which must not lead out either.
			code, body = f.redirect(t, p)
		}
		if code != http.StatusNotFound || strings.Contains(body, "TOP-SECRET") {
			t.Errorf("%s: status %d, want 404", p, code)
		}
	}
	// A real server, as a browser reaches it, with a raw request line.
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /file/%%2e%%2e/%%2e%%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 || strings.Contains(string(b), "root:") {
		t.Errorf("encoded .. answered %d", resp.StatusCode)
	}
}

// A missing or corrupt database is one message naming it.
func TestBadDatabase(t *testing.T) {
	dir := t.TempDir()
	if _, err := tracker.OpenReadOnly(filepath.Join(dir, "vaebm.db")); err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Errorf("missing DB: %v", err)
	}
	bad := filepath.Join(dir, "bad.db")
	os.WriteFile(bad, []byte(strings.Repeat("garbage ", 200)), 0o644)
	if _, err := tracker.OpenReadOnly(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt DB: %v", err)
	}
}

// The report writes the same pages as files with relative links.
func TestReport(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	pages, err := f.srv.Report(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 7 { // index, 3 runs, 1 compare (toy), tables, plots
		t.Errorf("%d pages: %v", len(pages), pages)
	}
	for _, p := range []string{"index.html", "run-1.html", "compare-toy.html", "tables.html", "plots.html", "app.js", "files/plots/toy-fig4.png"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("report has no %s", p)
		}
	}
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), `href="/`) || strings.Contains(string(b), `src="/`) || strings.Contains(string(b), evil) {
			t.Errorf("%s: an absolute link or unescaped markup", p)
		}
	}
	idx, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if !strings.Contains(string(idx), `href="run-1.html"`) || !strings.Contains(string(idx), `href="compare-toy.html"`) {
		t.Error("index does not link the run and compare pages")
	}
}
