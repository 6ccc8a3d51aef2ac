package pipeline

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar is a one-line progress bar. On a terminal it redraws in place; in a
// log (CI) it prints a line at every tenth of a stage.
type Bar struct {
	w        io.Writer
	tty      bool
	stage    string
	start    time.Time
	first    int // the step of the stage's first report
	lastTick int
	label    string // prefixed to every line ("" for none)
}

// NewBar writes to w; tty selects in-place redrawing.
func NewBar(w io.Writer) *Bar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &Bar{w: w, tty: tty}
}

// Update implements train.Progress.
func (b *Bar) Update(stage string, step, total int, msg string) {
	if b == nil || b.w == nil {
		return
	}
	if stage != b.stage {
		b.stage, b.start, b.first, b.lastTick = stage, time.Now(), step, -1
	}
	frac := float64(step) / float64(max(total, 1))
	el := time.Since(b.start)
	// The rate comes from the steps seen since this stage's first report
	// (which a trainer sends after its first few steps, not at step 0).
	eta := "?"
	if step > b.first {
		eta = time.Duration(float64(el) * float64(total-step) / float64(step-b.first)).Round(time.Second).String()
	}
	const width = 24
	n := int(frac * width)
	line := b.label + fmt.Sprintf("%-10s [%s%s] %6d/%-6d %s  elapsed %s eta %s",
		stage, strings.Repeat("#", n), strings.Repeat(".", width-n), step, total, msg,
		el.Round(time.Second), eta)
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		if step >= total {
			fmt.Fprintln(b.w)
		}
		return
	}
	if tick := int(frac * 10); tick != b.lastTick || step >= total {
		b.lastTick = tick
		fmt.Fprintln(b.w, line)
	}
}

// Say prints a status line between stages.
func (b *Bar) Say(format string, args ...any) {
	if b == nil || b.w == nil {
		return
	}
	// One write per line, so that lines of bars beside each other do not
	// interleave.
	fmt.Fprintf(b.w, "%s"+format+"\n", append([]any{b.label}, args...)...)
}

// beside returns opts for work that runs beside a run's stages (the
// judges): its progress lines begin with label after opts.Label, are never
// redrawn in place, and on a terminal each first clears the line that the
// stages' bar is redrawing there (which redraws on its next update).
func (opts Options) beside(label string) Options {
	if opts.Log != nil {
		opts.Log = besideWriter{w: opts.Log, clear: NewBar(opts.Log).tty}
	}
	opts.Label += label
	return opts
}

// besideWriter is the writer of opts.beside; it is not an *os.File, so
// the bars on it print lines.
type besideWriter struct {
	w     io.Writer
	clear bool
}

func (s besideWriter) Write(p []byte) (int, error) {
	q := p
	if s.clear {
		q = append([]byte("\r\033[K"), p...)
	}
	if _, err := s.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}
