package viewer

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/vaebm/vaebm/tracker"
)

// chromium finds the browser: $VAEBM_CHROMIUM (which `make test` sets, so
// that a missing browser fails the test there) or chromium on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VAEBM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on the PATH (`make test` installs Debian's)")
	return ""
}

// browser starts a headless Chromium and returns a context driving it.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(bctx, 2*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

// screenshotDir is where the browser tests save their screenshots:
// $VAEBM_SCREENSHOTS, or a temporary folder.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("VAEBM_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// screenshot saves the whole page as a PNG.
func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	shoot(t, ctx, path, chromedp.FullScreenshot(100)) // quality 100: PNG (below it, JPEG)
}

// shoot saves what action captures.
func shoot(t *testing.T, ctx context.Context, path string, action chromedp.Action[[]byte]) {
	t.Helper()
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// curvePoints is the script that counts the vertices of the longest path
// in a chart's SVG.
const curvePoints = `(() => {
  const f = document.querySelector('figure[data-key="%s"]');
  if (!f) return -1;
  let best = 0;
  f.querySelectorAll('path').forEach(p => {
    const n = ((p.getAttribute('d') || '').match(/[ML]/g) || []).length;
    best = Math.max(best, n);
  });
  return best;
})()`

// In a real browser: the runs page sorts by a column, a run's page has its
// curve with every logged point and an image that decoded, and selecting
// two runs opens their comparison.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	shots := screenshotDir(t)
	ids := func() []string {
		out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#runs tbody tr td:nth-child(2)')).map(td => td.textContent.trim())`))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible("#runs")); err != nil {
		t.Fatal(err)
	}
	if got := ids(); !slices.Equal(got, []string{"3", "2", "1"}) {
		t.Fatalf("runs listed %v, want newest first", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#runs thead th:nth-child(2)`)); err != nil {
		t.Fatal(err)
	}
	if got := ids(); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("after sorting by id: %v, want 1 2 3", got)
	}
	screenshot(t, ctx, filepath.Join(shots, "runs.png"))

	if err := chromedp.Do(ctx, chromedp.Click(`#runs a[href="/run/1"]`), chromedp.WaitVisible("#title")); err != nil {
		t.Fatal(err)
	}
	points, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(curvePoints, "ebm/loss")))
	if err != nil {
		t.Fatal(err)
	}
	if points != f.curveN {
		t.Errorf("the ebm/loss curve has %d points in the browser, want %d", points, f.curveN)
	}
	width, err := chromedp.Run(ctx, chromedp.Poll[int](`(() => { const i = document.querySelector('img[src="/file/plots/toy-fig4.png"]'); return i && i.complete && i.naturalWidth; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the figure did not load: %v", err)
	}
	if width != 12 {
		t.Errorf("figure naturalWidth %d, want 12", width)
	}
	screenshot(t, ctx, filepath.Join(shots, "run.png"))

	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible("#runs"),
		chromedp.Click(`input[name="id"][value="1"]`), chromedp.Click(`input[name="id"][value="2"]`),
		chromedp.Click("#compare"), chromedp.WaitVisible("#diffs")); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	diffs, err := chromedp.Run(ctx, chromedp.Text("#diffs"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "/compare?") || !strings.Contains(loc, "id=1") || !strings.Contains(loc, "id=2") || !strings.Contains(diffs, "ebm.lr") || !strings.Contains(diffs, "<script>") {
		t.Errorf("compare page %s shows %q", loc, diffs)
	}
	if points, err = chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(curvePoints, "ebm/loss"))); err != nil || points != f.curveN {
		t.Errorf("compare: the overlaid ebm/loss curves' longest has %d points (%v), want %d (run 1's)", points, err, f.curveN)
	}
	screenshot(t, ctx, filepath.Join(shots, "compare.png"))
}

// With VAEBM_VIEWER_OUT (an output folder with real runs), VAEBM_VIEWER_RUN
// (a run id) and VAEBM_SCREENSHOTS set, this saves screenshots of that
// folder's runs page and run page: docs/ holds them.
func TestScreenshotsOfRealRuns(t *testing.T) {
	out, id := os.Getenv("VAEBM_VIEWER_OUT"), os.Getenv("VAEBM_VIEWER_RUN")
	if out == "" || id == "" || os.Getenv("VAEBM_SCREENSHOTS") == "" {
		t.Skip("set VAEBM_VIEWER_OUT, VAEBM_VIEWER_RUN and VAEBM_SCREENSHOTS")
	}
	ctx := browser(t)
	db, err := tracker.OpenReadOnly(filepath.Join(out, "vaebm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := New(db, out, "../ablations")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	shots := screenshotDir(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible("#runs")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, filepath.Join(shots, "viewer-runs.png"))
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/run/"+id), chromedp.WaitVisible("#title"), chromedp.Sleep(time.Second)); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, filepath.Join(shots, "viewer-run.png"), chromedp.CaptureScreenshot()) // the window: the top of a long page
}
