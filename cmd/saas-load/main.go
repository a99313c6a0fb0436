// Command saas-load is the platform's load generator. Against a running
// `saas serve` (scripts/with-server.sh starts one on a fresh database; `make
// bench` does it all) it signs in as the bootstrap administrator, seeds what
// the scenarios need through the API, measures reference points (raw argon2id
// hashes and signatures per second, and a bare net/http + pgx server reading
// one tenant), drives each scenario for a fixed time at a fixed number of
// connections, and writes results.md and results.json.
//
//	saas-load [flags]      run the scenarios (see -h)
//	saas-load bare [flags] the bare reference server alone (the run starts it itself)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the run's flags; every default can be changed on the command
// line, the environment gives what scripts/with-server.sh exports.
type options struct {
	url, email, password string
	dbURL                string // the server's database, for the bare reference server ("" = none)
	serverPID            int    // for the server's memory (0 = not measured)
	pprofURL             string // the server's SAAS_PPROF_ADDR as a URL ("" = no profiles)
	profileDir           string // where CPU profiles go ("" = none taken)
	out                  string // directory of results.md and results.json
	only                 string // comma-separated scenario names ("" = all)

	duration, warmup, refDuration time.Duration
	conns, writeConns, hashConns  int
	rounds                        int
	rsaRate                       float64
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		err = serveBare(ctx, os.Args[2:])
	} else {
		err = run(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "saas-load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cores := runtime.NumCPU()
	pid, _ := strconv.Atoi(os.Getenv("SAAS_TEST_PID"))
	var o options
	fs := flag.NewFlagSet("saas-load", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", os.Getenv("SAAS_TEST_URL"), "the server's base URL (default $SAAS_TEST_URL)")
	fs.StringVar(&o.email, "email", os.Getenv("SAAS_TEST_ADMIN_EMAIL"), "a platform administrator's email (default $SAAS_TEST_ADMIN_EMAIL)")
	fs.StringVar(&o.password, "password", os.Getenv("SAAS_TEST_ADMIN_PASSWORD"), "their password (default $SAAS_TEST_ADMIN_PASSWORD)")
	fs.StringVar(&o.dbURL, "db", os.Getenv("SAAS_TEST_DATABASE_URL"), "the server's database, for the bare reference server (default $SAAS_TEST_DATABASE_URL; empty: no bare reference)")
	fs.IntVar(&o.serverPID, "server-pid", pid, "the server's process id, whose memory is measured (default $SAAS_TEST_PID; 0: not measured)")
	fs.StringVar(&o.pprofURL, "pprof", os.Getenv("SAAS_TEST_PPROF_URL"), "the server's pprof base URL (SAAS_PPROF_ADDR; default $SAAS_TEST_PPROF_URL)")
	fs.StringVar(&o.profileDir, "profile-dir", "", "take a CPU profile of the server during each scenario into this directory (needs -pprof)")
	fs.StringVar(&o.out, "out", "bench", "directory to write results.md and results.json into")
	fs.StringVar(&o.only, "only", "", "comma-separated scenarios to run (default: all)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured time before each scenario's measurement")
	fs.DurationVar(&o.refDuration, "ref-duration", 2*time.Second, "time per raw reference point (argon2id, each signature algorithm)")
	fs.IntVar(&o.rounds, "rounds", 5, "slices in which the bare reference and the platform's read of one tenant alternate")
	fs.IntVar(&o.conns, "conns", 32, "connections of read and token scenarios")
	fs.IntVar(&o.writeConns, "write-conns", 8, "connections of create scenarios")
	fs.IntVar(&o.hashConns, "login-conns", 2*cores, "connections of the login scenario (each login is one argon2id hash)")
	fs.Float64Var(&o.rsaRate, "rsa-rate", 4, "RSA key creations per second (the background pool refills at about 10/s per core it has; 0: unpaced)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.url == "" || o.email == "" || o.password == "" {
		return fmt.Errorf("-url, -email and -password are required (scripts/with-server.sh exports them; see BENCHMARKS.md)")
	}
	o.url = strings.TrimRight(o.url, "/")
	if o.profileDir != "" && o.pprofURL == "" {
		return fmt.Errorf("-profile-dir needs -pprof, the server's SAAS_PPROF_ADDR as a URL")
	}
	scenarios, err := selectScenarios(o.only)
	if err != nil {
		return err
	}

	rep := newReport(o)
	logf("reference points: signatures, %s each on %d goroutines", o.refDuration/2, cores)
	rep.Reference = measureReference(o.refDuration)

	e, err := seed(ctx, o)
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	if o.dbURL != "" {
		bare, err := startBare(ctx, o.dbURL)
		if err != nil {
			return fmt.Errorf("bare reference server: %w", err)
		}
		defer bare.stop()
		e.bareURL, e.barePID = bare.url, bare.pid
	}
	for i := 0; i < len(scenarios); i++ {
		group := scenarios[i : i+1]
		if scenarios[i].interleaved && i+1 < len(scenarios) {
			group = scenarios[i : i+2]
			i++
		}
		results, err := runGroup(ctx, e, rep, group)
		if err != nil {
			return err
		}
		rep.Scenarios = append(rep.Scenarios, results...)
	}
	if o.serverPID > 0 {
		rep.ServerPeakRSSMiB = procMiB(o.serverPID, "VmHWM:")
	}
	if e.barePID > 0 {
		rep.BarePeakRSSMiB = procMiB(e.barePID, "VmHWM:")
	}
	rep.finish()
	if err := rep.write(o.out); err != nil {
		return err
	}
	logf("wrote %s/results.md and %s/results.json", o.out, o.out)
	return nil
}

// runGroup runs one scenario, or two interleaved in -rounds slices each.
func runGroup(ctx context.Context, e *env, rep *report, group []scenario) ([]result, error) {
	var runners []*runner
	for _, s := range group {
		if s.bare && e.bareURL == "" {
			logf("%-20s skipped: no -db for the bare reference server", s.name)
			continue
		}
		if s.argon2 {
			measureArgon2(e, rep)
			defer measureArgon2(e, rep)
		}
		r, err := prepare(ctx, e, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		runners = append(runners, r)
	}
	rounds := 1
	if len(runners) > 1 {
		rounds = max(1, e.opts.rounds)
	}
	slice := e.opts.duration / time.Duration(rounds)
	for round := range rounds {
		for _, r := range runners {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			warmup := e.opts.warmup
			if round > 0 {
				warmup = 0 // its connections are open, its caches warm
			}
			r.run(ctx, warmup, slice, round == 0)
		}
	}
	var results []result
	for _, r := range runners {
		res := r.result()
		logf("%-20s %7.0f req/s  p50 %6.2f  p95 %6.2f  p99 %6.2f ms  server CPU %.2f  DB CPU %.2f ms/req  busy %3.0f %%  %s",
			res.Name, res.RPS, res.P50, res.P95, res.P99, res.ServerCPUms, res.DatabaseCPUms, 100*res.MachineBusy, res.statusSummary())
		results = append(results, res)
	}
	return results, nil
}

// measureArgon2 measures raw argon2id hashes per second, beside the login
// scenario (before and after it: the higher rate counts, so that a busy
// moment of the machine does not flatter the ratio).
func measureArgon2(e *env, rep *report) {
	rate := argon2Rate(e.opts.refDuration)
	rep.Reference.Argon2PerSecond = max(rep.Reference.Argon2PerSecond, rate)
	logf("%-20s %7.1f hashes/s, raw, on %d goroutines", "argon2id", rate, runtime.NumCPU())
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "saas-load: "+format+"\n", args...)
}
