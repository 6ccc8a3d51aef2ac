// Command vaebm runs VAEBM experiments declared in YAML, lists the runs
// recorded in the tracker, draws samples from a finished run, and renders the
// paper's tables.
//
//	vaebm run [--force] experiments/toy-25gaussians.yaml [key=value ...]
//	vaebm run --resume RUN_ID
//	vaebm runs [--experiment NAME] [--status S] [--param K=V] [--metric 'K>=V'] [--sort metric:K] [--format csv|json]
//	vaebm runs show ID
//	vaebm runs diff A B
//	vaebm sample RUN_ID [--n N] [--model NAME] [--out FILE] [--format idx|npy|png] [--score]
//	vaebm ablate ablations/table4.yaml [key=value ...] ['seeds=[0,1,2]'] [--slurm [--dry-run] ...]
//	vaebm table NAME|FILE [key=value ...]
//	vaebm check NAME|FILE [key=value ...]
//	vaebm serve [--addr 127.0.0.1:8787] [--tables DIR]
//	vaebm report --html DIR
//	vaebm bench [mlp|conv|langevin|hvae|xlangevin|all]
//
// Generated output goes under --out (default $VAEBM_OUT, else ./out); runs
// are recorded in --db (default $VAEBM_DB, else OUT/vaebm.db), a SQLite file
// or a postgres:// URL.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/vaebm/vaebm/config"
	"github.com/vaebm/vaebm/core/nn"
	"github.com/vaebm/vaebm/pipeline"
	"github.com/vaebm/vaebm/tracker"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the run or command failed; details were printed
	exitUsage   = 2 // bad arguments or experiment file
)

type usageError struct{ error }

func main() {
	nn.FixBLASCore()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	out := os.Getenv("VAEBM_OUT")
	if out == "" {
		out = "out"
	}
	db := os.Getenv("VAEBM_DB")
	// Global flags come before the subcommand.
	for len(args) > 0 {
		name, val, hasVal := strings.Cut(args[0], "=")
		if name != "--out" && name != "--db" {
			break
		}
		if !hasVal {
			if len(args) < 2 {
				fmt.Fprintf(os.Stderr, "vaebm: %s needs a value\n\n%s", name, usage)
				return exitUsage
			}
			val, args = args[1], args[1:]
		}
		args = args[1:]
		if name == "--out" {
			out = val
		} else {
			db = val
		}
	}
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return exitUsage
	}
	if db == "" {
		db = filepath.Join(out, "vaebm.db")
	}
	g := globals{out: out, dbPath: db}
	if v := os.Getenv("VAEBM_STAGE_WAIT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			fmt.Fprintf(os.Stderr, "vaebm: VAEBM_STAGE_WAIT=%q: want a duration such as 30m or 48h\n", v)
			return exitUsage
		}
		g.stageWait = d
	}
	if path := os.Getenv("VAEBM_CPUPROFILE"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vaebm:", err)
			return exitUsage
		}
		defer stop()
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, g, args[1:])
	case "runs":
		err = cmdRuns(g, args[1:])
	case "sample":
		err = cmdSample(ctx, g, args[1:])
	case "ablate":
		err = cmdAblate(ctx, g, args[1:])
	case "table":
		err = cmdTable(g, args[1:])
	case "check":
		err = cmdCheck(g, args[1:])
	case "serve":
		err = cmdServe(ctx, g, args[1:])
	case "report":
		err = cmdReport(g, args[1:])
	case "bench":
		err = cmdBench(args[1:])
	case "classifier":
		err = cmdClassifier(ctx, g, args[1:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return exitOK
	default:
		err = usageError{fmt.Errorf("unknown command %q", args[0])}
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "vaebm:", err)
	var ue usageError
	var ce *config.Error
	if errors.As(err, &ue) || errors.As(err, &ce) {
		if errors.As(err, &ue) {
			fmt.Fprint(os.Stderr, "\n"+usage)
		}
		return exitUsage
	}
	return exitFailure
}

const usage = `usage: vaebm [--out DIR] [--db FILE|postgres://…] COMMAND ...

  run [--force] FILE.yaml [key=value ...]
                                  run an experiment (e.g. ebm.lr=1e-4 seed=3 scale=paper
                                  'seeds=[0,1,2]'); --force retrains cached stages
  run --resume RUN_ID             continue a crashed or killed run from its checkpoints
  runs [flags]                    list recorded runs; flags: --experiment NAME, --status S
                                  (running finished failed killed crashed), --param K=V,
                                  --metric 'K>=V', --col K, --sort id|started|metric:K,
                                  --asc, --format table|csv|json
  runs show ID                    show one run: provenance, params, final metrics, artifacts
  runs diff A B                   show the config keys that differ between two runs
  sample RUN_ID [--n N] [--model NAME] [--out FILE] [--format idx|npy|png] [--score]
         [--steps K] [--step-size H] [--temperature T] [--correction none|mala] [--png FILE]
                                  draw samples of a model of a finished run (default the method's own:
                                  vaebm, ebm_x, wgan_nvae, vaebm_kl; vae for the VAE) (CSV for 2-D data; images as IDX,
                                  NumPy .npy or a folder of PNGs); --score evaluates them with the
                                  run's judges; --steps, --step-size and --correction override the
                                  test-time chain
  ablate FILE [key=value ...] [--jobs N]
                                  run every row × seed of a table (ablations/*.yaml) that has no
                                  finished run of its config, then write the table and figure;
                                  'seeds=[1]' runs those seeds, other overrides apply to every row;
                                  --jobs N runs N of them at once (child processes sharing stages)
  ablate FILE --slurm [--partition P] [--time T] [--cpus N] [--gpus G] [--dry-run]
                                  submit them to Slurm instead: the first row's seeds (the shared
                                  stages), then the other rows × seeds as a dependent job array,
                                  then the table; --dry-run prints the sbatch scripts
  table NAME|FILE [key=value ...] render a paper table (ablations/NAME.yaml) from the recorded runs
  check NAME|FILE [key=value ...] compare a table with the paper's targets and check its claims;
                                  exit 1 on a miss, a failed claim or a cell with no run
  classifier [--data mnist|fashion-mnist|cifar10] [--second] [--steps N] [--force]
                                  train (or reuse from the stage cache) a judge: the MNIST mode
                                  classifier (--second: StackedMNIST's second one), or a
                                  stand-in's first (or --second) feature net
  serve [--addr HOST:PORT] [--tables DIR]
                                  the viewer: runs, a run's curves and images, compare, tables,
                                  plots, on http://127.0.0.1:8787/ (loopback unless --addr says)
  report --html DIR               the viewer's pages as static files in DIR
  bench [mlp|conv|langevin|hvae|xlangevin|all] [--steps N] [--warmup N] [--profile]
                                  time the reference workloads (JSON lines, as torch_ref.py);
                                  --profile: where a step's time goes, op by op;
                                  --export DIR: write the twin workloads' check cases
                                  (bench/twins.py) instead
  bench peak                      this machine's nominal float32 peak and SGEMM rate

Output goes under --out (default $VAEBM_OUT, else ./out). Runs are recorded in --db
(default $VAEBM_DB, else OUT/vaebm.db): a SQLite file, or a PostgreSQL database
(postgres://user@host:port/database) that jobs on many machines share. Jobs that
share both compute each cached stage once; the others wait for it, up to
$VAEBM_STAGE_WAIT (default 12h). VAEBM_CPUPROFILE=FILE writes a CPU profile of the
command to FILE (go tool pprof FILE).
`

type globals struct {
	out    string
	dbPath string // a SQLite file or a PostgreSQL URL (tracker.IsServerURL)
	// stageWait bounds the wait for another job's stage ($VAEBM_STAGE_WAIT).
	stageWait time.Duration
}

// options are the pipeline's options for a command recording into db.
func (g globals) options(db *tracker.DB, command string) pipeline.Options {
	return pipeline.Options{OutDir: g.out, DB: db, Log: os.Stderr, Command: command, StageWait: g.stageWait}
}

func (g globals) openDB() (*tracker.DB, error) { return tracker.Open(g.dbPath) }

// startCPUProfile writes a CPU profile of the command to path (for go tool
// pprof) until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("VAEBM_CPUPROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("VAEBM_CPUPROFILE=%s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
