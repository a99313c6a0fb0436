package faulttest_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pgCluster is a private PostgreSQL cluster of one test, in a temporary
// directory, listening on a free loopback port, as scripts/dev-postgres.sh
// makes one for development: trust authentication, fsync off (nothing
// here survives the test; a stop, even -m immediate, loses no committed
// write without fsync as long as the machine stays up; synchronous_commit
// stays on so that it is so).
type pgCluster struct {
	bin  string // the directory of initdb, pg_ctl, postgres
	dir  string // the temporary directory: the data, the socket, the log
	data string
	log  string
	port int
	uid  int // the owner's, when the tests run as root (-1 otherwise)
	gid  int
}

// serverBinDir finds PostgreSQL's server binaries: the newest under
// /usr/lib/postgresql (Debian, Ubuntu), else initdb on PATH.
func serverBinDir() string {
	candidates, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(candidates, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return va - vb
	})
	if len(candidates) > 0 {
		return filepath.Dir(candidates[len(candidates)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real)
		}
	}
	return ""
}

// startPGCluster creates and starts a private cluster; it is stopped and
// removed when the test ends. `make test` needs the PostgreSQL server
// installed (README), so without its binaries the test fails, saying what
// to install, rather than passing unrun.
func startPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bin := serverBinDir()
	if bin == "" {
		t.Fatal("the PostgreSQL server binaries (initdb, pg_ctl) are not installed: " +
			"apt-get install postgresql (or put initdb on PATH)")
	}
	for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			t.Fatalf("%s has no %s: install the PostgreSQL server", bin, tool)
		}
	}
	c := &pgCluster{bin: bin, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal("running as root needs a 'postgres' user to own the private cluster (initdb refuses root): install the PostgreSQL server, which creates it")
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
	}
	// Not t.TempDir: its parent is private to root, and the server runs as
	// postgres. The socket's path must stay short (107 bytes).
	dir, err := os.MkdirTemp("", "ftpg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir, c.data, c.log = dir, filepath.Join(dir, "data"), filepath.Join(dir, "server.log")
	t.Cleanup(func() {
		_ = c.pgCtl("stop", "-m", "immediate") // quietly: it may be stopped already
		if t.Failed() {
			if b, err := os.ReadFile(c.log); err == nil {
				t.Logf("the private PostgreSQL's log:\n%s", tail(string(b), 30))
			}
		}
		_ = os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(c.data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if c.uid >= 0 {
		for _, p := range []string{c.data, c.log} {
			if err := os.Chown(p, c.uid, c.gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, err := c.command("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
		"--locale=C", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// A port taken between choosing and binding: try another.
	for attempt := 1; ; attempt++ {
		_, port, _ := net.SplitHostPort(freeAddr(t))
		c.port, _ = strconv.Atoi(port)
		conf := fmt.Sprintf("\n# faulttest\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"+
			"fsync = off\nfull_page_writes = off\nmax_connections = 40\nshared_buffers = 16MB\n", c.port, c.data)
		f, err := os.OpenFile(filepath.Join(c.data, "postgresql.auto.conf"), os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(conf)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.start(); err == nil {
			break
		} else if attempt == 3 {
			t.Fatal(err)
		}
	}
	return c
}

// command runs a server binary as the cluster's owner.
func (c *pgCluster) command(tool string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, tool)
	if c.uid >= 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// pgCtl runs pg_ctl on the cluster and returns its error with its output.
func (c *pgCluster) pgCtl(args ...string) error {
	out, err := c.command("pg_ctl", append([]string{"-D", c.data, "-l", c.log, "-w", "-t", "60", "-s"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// start starts the server and waits until it accepts connections.
func (c *pgCluster) start() error { return c.pgCtl("start") }

// stopImmediately stops the server as a crash would: every backend killed
// at once, no checkpoint; the next start recovers from the WAL.
func (c *pgCluster) stopImmediately() error { return c.pgCtl("stop", "-m", "immediate") }

// url is the URL of database name on the cluster.
func (c *pgCluster) url(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
