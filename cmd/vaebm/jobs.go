package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vaebm/vaebm/ablations"
)

// childRunner runs a table's cell as a child `vaebm run` process on this
// machine (ablate --jobs N), sharing the output folder and the database:
// processes, not goroutines, so that cells share nothing but what the
// tracker and the stage cache mediate. Each line the child prints is
// prefixed with the cell's label.
func (g globals) childRunner() ablations.CellRunner {
	var outMu sync.Mutex // whole lines from the children, never interleaved
	return func(ctx context.Context, c ablations.Cell, resume int64, label string) error {
		bin, err := os.Executable()
		if err != nil {
			return err
		}
		args := []string{"--out", g.out, "--db", g.dbPath, "run"}
		if resume > 0 {
			args = append(args, "--resume", strconv.FormatInt(resume, 10))
		} else {
			args = append(args, c.Args...)
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		// Interrupted, a child records its run as killed, so that the next
		// ablate resumes it.
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = time.Minute
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting %s: %w", bin, err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				outMu.Lock()
				fmt.Fprintln(os.Stderr, label+sc.Text())
				outMu.Unlock()
			}
			io.Copy(io.Discard, pr)
		}()
		err = cmd.Wait()
		pw.Close()
		<-done
		if err != nil {
			return fmt.Errorf("vaebm %s: %w", strings.Join(args[4:], " "), err)
		}
		return nil
	}
}
