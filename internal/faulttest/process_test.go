package faulttest_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/app/apptest"
)

// binDir holds the saas binary the process tests build once per run.
var (
	binDir     string
	buildSaas  sync.Once
	binary     string
	binaryErr  error
	binaryLogs []byte
)

// saasBinary builds cmd/saas once per test run (with -race when the tests
// have it) and returns its path.
func saasBinary(t testing.TB) string {
	t.Helper()
	buildSaas.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if binDir, binaryErr = os.MkdirTemp("", "faulttest-bin-"); binaryErr != nil {
			return
		}
		binary = filepath.Join(binDir, "saas")
		args := []string{"build", "-o", binary}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool, append(args, "github.com/saasplatform/saas/cmd/saas")...)
		binaryLogs, binaryErr = cmd.CombinedOutput()
	})
	if binaryErr != nil {
		t.Fatalf("go build ./cmd/saas: %v\n%s", binaryErr, binaryLogs)
	}
	return binary
}

func removeBinary() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// process is a running `saas serve`.
type process struct {
	cmd  *exec.Cmd
	addr string
	base string

	mu   sync.Mutex
	logs []map[string]any // its JSON log lines
	raw  []string         // and those that are not JSON

	exited chan struct{} // closed once it has exited
	exitAt time.Time
	err    error // what Wait returned
}

// testMasterKey is a fresh master key in SAAS_MASTER_KEY's form.
func testMasterKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// startProcess runs the saas binary's serve command on a free loopback
// port with an environment of exactly the given variables on top of test
// defaults (nothing of the test's own environment leaks in), and waits until
// /healthz answers. The process is killed when the test ends if it still
// runs.
func startProcess(t *testing.T, env map[string]string) *process {
	t.Helper()
	bin := saasBinary(t)
	p := &process{addr: freeAddr(t), exited: make(chan struct{})}
	p.base = "http://" + p.addr
	vars := map[string]string{
		"SAAS_ADDR": p.addr, "SAAS_MASTER_KEY": testMasterKey(), "SAAS_RSA_POOL_SIZE": "0",
		"SAAS_BOOTSTRAP_ADMIN_PASSWORD": apptest.AdminPassword, "SAAS_LOG_LEVEL": "info",
		"SAAS_HASH_CONCURRENCY": "2",
	}
	for k, v := range env {
		vars[k] = v
	}
	p.cmd = exec.Command(bin, "serve")
	for k, v := range vars {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	if raceEnabled {
		p.cmd.Env = append(p.cmd.Env, "GORACE=halt_on_error=0")
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = nil
	dieWithTest(p.cmd)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			var m map[string]any
			p.mu.Lock()
			if json.Unmarshal([]byte(line), &m) == nil {
				p.logs = append(p.logs, m)
			} else {
				p.raw = append(p.raw, line)
			}
			p.mu.Unlock()
		}
	}()
	go func() {
		<-logsDone // Wait closes the pipe: read it to the end first
		p.err = p.cmd.Wait()
		p.exitAt = time.Now()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("the server's log:\n%s", p.logText(200))
		}
	})
	up := waitFor(90*time.Second, func() bool {
		select {
		case <-p.exited:
			return true
		default:
		}
		resp, err := http.Get(p.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	select {
	case <-p.exited:
		t.Fatalf("saas serve exited at start: %v\n%s", p.err, p.logText(50))
	default:
	}
	if !up {
		t.Fatalf("saas serve did not answer /healthz\n%s", p.logText(50))
	}
	return p
}

// logText is the last n lines of the log, for failure messages.
func (p *process) logText(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var lines []string
	for _, m := range p.logs {
		b, _ := json.Marshal(m)
		lines = append(lines, string(b))
	}
	lines = append(lines, p.raw...)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// accessLog is the access log's lines (msg "request") by request id. The
// calls a request makes to other services in the process carry its id and
// are logged before it ends, so the line kept, the last, is the request's.
func (p *process) accessLog() map[string]map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]map[string]any{}
	for _, m := range p.logs {
		if m["msg"] == "request" {
			if id, ok := m["request_id"].(string); ok {
				out[id] = m
			}
		}
	}
	return out
}

// logged tells whether a line with this message was logged.
func (p *process) logged(msg string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.logs {
		if m["msg"] == msg {
			return true
		}
	}
	return false
}

// exitCode is the process's exit status once it has exited.
func (p *process) exitCode() int {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}
