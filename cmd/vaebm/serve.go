package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/vaebm/vaebm/ablations"
	"github.com/vaebm/vaebm/tracker"
	"github.com/vaebm/vaebm/viewer"
)

// newViewer opens the output folder's database read-only for the viewer.
func newViewer(g globals, tables string) (*viewer.Server, *tracker.DB, error) {
	db, err := tracker.OpenReadOnly(g.dbPath)
	if err != nil {
		return nil, nil, err
	}
	if tables == "" {
		tables = ablations.Folder()
	}
	s, err := viewer.New(db, g.out, tables)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return s, db, nil
}

// cmdServe serves the viewer on a loopback address unless told otherwise,
// until interrupted.
func cmdServe(ctx context.Context, g globals, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on (loopback by default)")
	tables := fs.String("tables", "", "folder of table files (default: the nearest ablations/)")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("serve: %w", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))}
	}
	s, db, err := newViewer(g, *tables)
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "vaebm serve: http://%s/ (runs of %s; Ctrl-C stops)\n", ln.Addr(), db.Path())
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// cmdReport writes the viewer's pages as static files.
func cmdReport(g globals, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("html", "", "folder to write the pages into")
	tables := fs.String("tables", "", "folder of table files (default: the nearest ablations/)")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("report: %w", err)}
	}
	if *dir == "" || fs.NArg() > 0 {
		return usageError{fmt.Errorf("report needs --html DIR")}
	}
	s, db, err := newViewer(g, *tables)
	if err != nil {
		return err
	}
	defer db.Close()
	pages, err := s.Report(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "report: %d pages in %s (open %s/index.html)\n", len(pages), *dir, *dir)
	return nil
}
