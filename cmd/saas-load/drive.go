package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// result is one scenario's figures. Latencies in milliseconds.
type result struct {
	Name       string         `json:"name"`
	What       string         `json:"what"`
	Conns      int            `json:"connections"`
	Rate       float64        `json:"paced_rate_per_s,omitempty"`
	Seconds    float64        `json:"seconds"`
	Requests   int            `json:"requests"`
	RPS        float64        `json:"requests_per_s"`
	Mean       float64        `json:"mean_ms"`
	P50        float64        `json:"p50_ms"`
	P95        float64        `json:"p95_ms"`
	P99        float64        `json:"p99_ms"`
	Max        float64        `json:"max_ms"`
	Errors     int            `json:"errors"`
	Statuses   map[string]int `json:"statuses"` // by HTTP status; "transport" for failed exchanges
	PeakRSSMiB float64        `json:"server_peak_rss_mib,omitempty"`
	// ServerCPUms is the server's CPU time per request (user + system);
	// DatabaseCPUms the same of every PostgreSQL process on this machine
	// (0 when none runs here); MachineBusy the share of all cores busy
	// (anything: server, database,
	// generator) during the measured time.
	ServerCPUms   float64  `json:"server_cpu_ms_per_request,omitempty"`
	DatabaseCPUms float64  `json:"database_cpu_ms_per_request,omitempty"`
	MachineBusy   float64  `json:"machine_busy,omitempty"`
	Profile       string   `json:"profile,omitempty"` // file of the server's CPU profile
	ProfileTop    []string `json:"profile_top,omitempty"`
	FirstProblems []string `json:"first_errors,omitempty"`
}

// sample is one measured request.
type sample struct {
	d      time.Duration
	status int // 0: transport error
}

// runner is a scenario with its workers prepared; it can run in several
// slices (interleaved with another scenario's) that add up to one result.
type runner struct {
	s     scenario
	e     *env
	pid   int              // the process whose CPU and memory are measured
	nexts []func(i int) op // per worker
	next  []int            // per worker: the index of its next request
	acc   []sample         // measured so far
	first map[int]string   // per status (0: transport): the first failure's answer
	cpu   cpuTimes         // server CPU seconds measured (busy) over slices (total)
	db    cpuTimes         // PostgreSQL's CPU seconds (busy) over slices (total)
	mach  cpuTimes         // the machine's busy and total CPU seconds
	secs  float64          // measured seconds
	peak  float64          // the process's peak RSS in MiB
	prof  string           // CPU profile file of the first slice
	rate  float64          // pacing, requests per second (0: none)
	mu    sync.Mutex       // guards first
}

// prepare readies s's workers (unmeasured: a worker may sign in first).
func prepare(ctx context.Context, e *env, s scenario) (*runner, error) {
	n := s.conns(e.opts)
	r := &runner{s: s, e: e, pid: e.opts.serverPID, nexts: make([]func(int) op, n), next: make([]int, n), first: map[int]string{}}
	if s.bare {
		r.pid = e.barePID
	}
	if s.rsa {
		r.rate = e.opts.rsaRate
	}
	for w := range n {
		var err error
		if r.nexts[w], err = s.worker(ctx, e, w); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// run lets the workers send requests for warmup unmeasured, then for d
// measured, and adds what it measured up.
func (r *runner) run(ctx context.Context, warmup, d time.Duration, profile bool) {
	var pace <-chan time.Time
	if r.rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / r.rate))
		defer t.Stop()
		pace = t.C
	}
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+d)
	peak := watchRSS(r.pid, end)
	var prof <-chan string
	if profile && r.e.opts.profileDir != "" && !r.s.bare {
		prof = takeProfile(ctx, r.e.opts, r.s.name, measureFrom, d)
	}
	cpuAtStart := make(chan [3]cpuTimes, 1) // the process's, the machine's and PostgreSQL's
	time.AfterFunc(time.Until(measureFrom), func() { cpuAtStart <- [3]cpuTimes{procCPU(r.pid), machineCPU(), databaseCPU()} })

	samples := make([][]sample, len(r.nexts))
	var wg sync.WaitGroup
	for w := range r.nexts {
		wg.Go(func() {
			for ; ; r.next[w]++ {
				if pace != nil {
					select {
					case <-pace:
					case <-ctx.Done():
						return
					}
				}
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					return
				}
				o := r.nexts[w](r.next[w])
				status, body, err := o.do(ctx)
				if err == nil && status/100 == 2 && o.answer != nil {
					err = o.answer(body)
				}
				switch {
				case err != nil:
					status = 0
					r.firstFailure(0, err.Error())
				case status/100 != 2:
					r.firstFailure(status, fmt.Sprintf("%d %.200s", status, body))
				}
				if !t0.Before(measureFrom) {
					samples[w] = append(samples[w], sample{time.Since(t0), status})
				}
			}
		})
	}
	wg.Wait()
	cpu1, mach1, db1 := procCPU(r.pid), machineCPU(), databaseCPU()
	at := <-cpuAtStart
	if at[0].total > 0 {
		r.cpu.busy += cpu1.busy - at[0].busy
		r.cpu.total++
	}
	if at[1].total > 0 {
		r.mach.busy += mach1.busy - at[1].busy
		r.mach.total += mach1.total - at[1].total
	}
	if at[2].total > 0 && db1.total > 0 {
		r.db.busy += db1.busy - at[2].busy
		r.db.total++
	}
	r.secs += d.Seconds()
	r.acc = append(r.acc, slices.Concat(samples...)...)
	r.peak = max(r.peak, <-peak)
	if prof != nil {
		r.prof = <-prof
	}
}

func (r *runner) firstFailure(status int, answer string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.first[status]; !ok {
		r.first[status] = answer
	}
}

// result sums up every slice run.
func (r *runner) result() result {
	res := result{Name: r.s.name, What: r.s.what, Conns: len(r.nexts), Rate: r.rate, Seconds: r.secs,
		Statuses: map[string]int{}, PeakRSSMiB: r.peak, Profile: r.prof}
	res.summarize(r.acc)
	for _, status := range slices.Sorted(maps.Keys(r.first)) {
		res.FirstProblems = append(res.FirstProblems, r.first[status])
	}
	if r.cpu.total > 0 && res.Requests > 0 {
		res.ServerCPUms = 1000 * r.cpu.busy / float64(res.Requests)
	}
	// Below minDBRequests, PostgreSQL's own background work (the WAL writer,
	// autovacuum, a checkpoint) outweighs what the requests cost it.
	if r.db.total > 0 && res.Requests >= minDBRequests {
		res.DatabaseCPUms = 1000 * r.db.busy / float64(res.Requests)
	}
	if r.mach.total > 0 {
		res.MachineBusy = r.mach.busy / r.mach.total
	}
	res.ProfileTop = topOfProfile(r.prof)
	return res
}

// summarize computes the rate, exact percentiles and error counts.
func (r *result) summarize(all []sample) {
	r.Requests = len(all)
	r.RPS = float64(len(all)) / r.Seconds
	if len(all) == 0 {
		return
	}
	d := make([]time.Duration, len(all))
	var sum time.Duration
	for i, s := range all {
		d[i] = s.d
		sum += s.d
		key := strconv.Itoa(s.status)
		if s.status == 0 {
			key = "transport"
		}
		r.Statuses[key]++
		if s.status/100 != 2 {
			r.Errors++
		}
	}
	slices.Sort(d)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	// The nearest-rank percentile: the smallest duration at least p% of
	// the requests did not exceed.
	pct := func(p float64) float64 { return ms(d[max(0, int(float64(len(d))*p/100+0.999999)-1)]) }
	r.Mean = ms(sum / time.Duration(len(d)))
	r.P50, r.P95, r.P99, r.Max = pct(50), pct(95), pct(99), ms(d[len(d)-1])
}

// statusSummary is like "200×51234" or "201×120 503×3".
func (r result) statusSummary() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.Statuses)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, r.Statuses[k]))
	}
	return strings.Join(parts, " ")
}

// watchRSS samples pid's resident memory every 50 ms from now until end
// (the warm-up included: memory counts whenever it is used) and sends the
// peak in MiB. pid 0 sends 0.
func watchRSS(pid int, end time.Time) <-chan float64 {
	c := make(chan float64, 1)
	if pid <= 0 {
		c <- 0
		return c
	}
	go func() {
		var peak float64
		for {
			peak = max(peak, procMiB(pid, "VmRSS:"))
			if time.Now().After(end) {
				c <- peak
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return c
}

// cpuTimes are busy and total CPU seconds.
type cpuTimes struct{ busy, total float64 }

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const clockTicks = 100

// procCPU is the user and system time pid used so far (total: 1 when read).
func procCPU(pid int) cpuTimes {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil || pid <= 0 {
		return cpuTimes{}
	}
	// After the command name in parentheses: state is field 3, utime 14, stime 15.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return cpuTimes{}
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return cpuTimes{busy: (u + s) / clockTicks, total: 1}
}

// minDBRequests is the fewest requests a scenario's database CPU per
// request is reported for.
const minDBRequests = 200

// databaseCPU is the user and system time of every PostgreSQL process on
// this machine (total: 1 when one was found): the backends serving the
// server's connections, and the postmaster's reaped children, so that a
// backend ending between two readings still counts. It assumes, as `make
// bench` arranges, that no other PostgreSQL work runs during the scenario.
func databaseCPU() cpuTimes {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var t cpuTimes
	for _, dir := range dirs {
		comm, err := os.ReadFile(dir + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		b, err := os.ReadFile(dir + "/stat")
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		if len(f) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
			v, _ := strconv.ParseFloat(f[i], 64)
			t.busy += v / clockTicks
		}
		t.total = 1
	}
	return t
}

// machineCPU is the time all cores were busy and the time they existed.
func machineCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n") // cpu user nice system idle iowait irq softirq steal ...
	var t cpuTimes
	for i, v := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i < 8 { // guest time is counted in user already
			t.total += n / clockTicks
			if i != 3 && i != 4 { // idle, iowait
				t.busy += n / clockTicks
			}
		}
	}
	return t
}

// procMiB reads a "kB" field of /proc/<pid>/status (VmRSS: resident now,
// VmHWM: the peak since the process started) in MiB; 0 if unreadable.
func procMiB(pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// takeProfile fetches the server's CPU profile over the measured window
// into <profile-dir>/<name>.pprof and sends the file name ("" on failure).
func takeProfile(ctx context.Context, o options, name string, from time.Time, d time.Duration) <-chan string {
	c := make(chan string, 1)
	go func() {
		time.Sleep(time.Until(from))
		file := filepath.Join(o.profileDir, name+".pprof")
		secs := max(1, int(d.Seconds()))
		err := func() error {
			if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
				return err
			}
			req, err := op{method: "GET", url: fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", o.pprofURL, secs)}.request(ctx)
			if err != nil {
				return err
			}
			resp, err := httpClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("%s", resp.Status)
			}
			f, err := os.Create(file)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, resp.Body); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}()
		if err != nil {
			logf("%s: no profile: %v", name, err)
			file = ""
		}
		c <- file
	}()
	return c
}

// topOfProfile is the first lines of `go tool pprof -top` of file: the
// functions where the server spent its CPU time, by their own time (flat)
// and with what they call (cum). Empty without the go command.
func topOfProfile(file string) []string {
	if file == "" {
		return nil
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=12", file).Output()
	if err != nil {
		logf("go tool pprof %s: %v", file, err)
		return nil
	}
	_ = os.WriteFile(strings.TrimSuffix(file, ".pprof")+".txt", out, 0o644)
	var top []string
	rows := false
	for _, line := range strings.Split(string(out), "\n") {
		if rows && strings.TrimSpace(line) != "" {
			top = append(top, strings.TrimSpace(line))
		}
		rows = rows || strings.HasPrefix(strings.TrimSpace(line), "flat")
	}
	return top
}
