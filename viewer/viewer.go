// Package viewer serves the tracker's runs, the paper tables and the
// figures as web pages (`vaebm serve`), or writes the same pages as static
// files (`vaebm report --html`): a sortable runs table, a run's provenance,
// config, curves (SVG drawn by gonum/plot) and images, the config
// differences and overlaid curves of several runs, every declared table
// with each cell linked to its runs, and every figure with the run that
// made it. It uses only the standard library's net/http and html/template
// and one embedded script, so it works offline; it reads the database
// read-only, beside runs that write to it.
package viewer

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vaebm/vaebm/tracker"
)

//go:embed templates.html app.js
var assets embed.FS

// Server renders the pages of one output folder.
type Server struct {
	DB     *tracker.DB
	Out    string // the output folder: files are served from under it only
	Tables string // the folder of table files (ablations/), "" for none
	// static renders links between the files `vaebm report` writes
	// instead of the server's routes.
	static bool
	tmpl   *template.Template
	outAbs string // Out, absolute with symlinks resolved
}

// New returns a server over db and the output folder out, with the tables
// declared in the folder tables.
func New(db *tracker.DB, out, tables string) (*Server, error) {
	abs, err := filepath.Abs(out)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("viewer: output folder %s: %w", out, err)
	}
	s := &Server{DB: db, Out: out, Tables: tables, outAbs: abs}
	if err := s.parse(); err != nil {
		return nil, err
	}
	return s, nil
}

// parse builds the templates, their links bound to this server's mode.
func (s *Server) parse() error {
	t, err := template.New("").Funcs(template.FuncMap{
		"runURL":     s.runURL,
		"fileURL":    s.fileURL,
		"pageURL":    s.pageURL,
		"compareURL": s.compareURL,
		"static":     func() bool { return s.static },
		"when":       shortTime,
		"statuses": func() []string {
			return []string{tracker.Running, tracker.Finished, tracker.Failed, tracker.Killed, tracker.Crashed}
		},
	}).ParseFS(assets, "templates.html")
	if err != nil {
		return fmt.Errorf("viewer: templates: %w", err)
	}
	s.tmpl = t
	return nil
}

// Handler routes the pages.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page("runs", s.runsData))
	mux.HandleFunc("GET /run/{id}", s.page("run", s.runData))
	mux.HandleFunc("GET /run/{id}/config.yaml", s.serveConfig)
	mux.HandleFunc("GET /compare", s.page("compare", s.compareData))
	mux.HandleFunc("GET /tables", s.page("tables", s.tablesData))
	mux.HandleFunc("GET /plots", s.page("plots", s.plotsData))
	mux.HandleFunc("GET /file/", s.serveFile)
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		b, _ := assets.ReadFile("app.js")
		w.Write(b)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, fmt.Errorf("no page %s", r.URL.Path))
	})
	return mux
}

// notFound is an error that answers 404.
type notFound struct{ error }

// page renders template name with the data f builds from the request.
func (s *Server) page(name string, f func(url.Values, string) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data, err := f(r.URL.Query(), r.PathValue("id"))
		if err != nil {
			code := http.StatusInternalServerError
			var nf notFound
			if errors.As(err, &nf) {
				code = http.StatusNotFound
			}
			s.fail(w, code, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := s.render(w, name, data); err != nil {
			log.Printf("viewer: %s: %v", r.URL.Path, err)
		}
	}
}

func (s *Server) render(w io.Writer, name string, data any) error {
	return s.tmpl.ExecuteTemplate(w, name, data)
}

// fail answers with a page that says what went wrong.
func (s *Server) fail(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	s.render(w, "error", struct {
		Code int
		Msg  string
	}{code, err.Error()})
}

func (s *Server) runURL(id int64) string {
	if s.static {
		return fmt.Sprintf("run-%d.html", id)
	}
	return fmt.Sprintf("/run/%d", id)
}

// fileURL links a file under the output folder, given relative to it.
func (s *Server) fileURL(rel string) string {
	u := (&url.URL{Path: filepath.ToSlash(rel)}).EscapedPath()
	if s.static {
		return "files/" + u
	}
	return "/file/" + u
}

func (s *Server) pageURL(name string) string {
	if s.static {
		if name == "runs" {
			return "index.html"
		}
		return name + ".html"
	}
	if name == "runs" {
		return "/"
	}
	return "/" + name
}

func (s *Server) compareURL(ids []int64) string {
	if s.static {
		return "" // the report writes one compare page per experiment
	}
	q := url.Values{}
	for _, id := range ids {
		q.Add("id", strconv.FormatInt(id, 10))
	}
	return "/compare?" + q.Encode()
}

// within resolves rel against the output folder and returns the file's
// path when it is a regular file under it, symlinks followed; anything
// else (.., an absolute path, a link leading out) is not found.
func (s *Server) within(rel string) (string, bool) {
	if rel == "" || filepath.IsAbs(rel) || strings.ContainsRune(rel, '\\') {
		return "", false
	}
	clean := filepath.Clean(filepath.FromSlash(rel))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", false
	}
	real, err := filepath.EvalSymlinks(filepath.Join(s.outAbs, clean))
	if err != nil {
		return "", false
	}
	if r, err := filepath.Rel(s.outAbs, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	if st, err := os.Stat(real); err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	return real, true
}

// relOut gives a recorded artifact path relative to the output folder, or
// false when it lies elsewhere. Runs record paths as they named them,
// relative to their own working directory ("out/plots/x.png" for --out
// out): a relative path that does not resolve under the folder from here
// is tried without its leading elements, "plots/x.png", then "x.png".
func (s *Server) relOut(path string) (string, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if r, err := filepath.Rel(s.outAbs, abs); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return r, true
	}
	if filepath.IsAbs(path) {
		return "", false
	}
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	for i := 1; i < len(parts); i++ {
		rel := filepath.Join(parts[i:]...)
		if _, ok := s.within(rel); ok {
			return rel, true
		}
	}
	return "", false
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(r.URL.Path, "/file/")
	path, ok := s.within(rel)
	if !ok {
		s.fail(w, http.StatusNotFound, fmt.Errorf("no file %q under the output folder", rel))
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.fail(w, http.StatusNotFound, fmt.Errorf("no file %q under the output folder", rel))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err)
		return
	}
	http.ServeContent(w, r, filepath.Base(path), st.ModTime(), f)
}

func (s *Server) serveConfig(w http.ResponseWriter, r *http.Request) {
	ri, err := s.getRun(r.PathValue("id"))
	if err != nil {
		s.fail(w, http.StatusNotFound, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=run-%d.yaml", ri.ID))
	io.WriteString(w, ri.Config)
}

// getRun reads a run by the id in a URL; an unknown or malformed id is
// notFound.
func (s *Server) getRun(id string) (tracker.RunInfo, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return tracker.RunInfo{}, notFound{fmt.Errorf("run id %q is not a positive number", id)}
	}
	ri, err := s.DB.Get(n)
	if err != nil {
		if errors.Is(err, tracker.ErrNoRun) {
			return ri, notFound{fmt.Errorf("no run %d in %s", n, s.DB.Path())}
		}
		return ri, err
	}
	return ri, nil
}
