package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/saasplatform/saas/internal/configvault/keycrypto"
)

// config is everything the binary reads from its environment, validated at
// start so a mistake is reported before anything listens.
type config struct {
	Addr            string
	DatabaseURL     string
	DBMaxConns      int32
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	Keyring         *keycrypto.Keyring
	RSAPoolSize     int
}

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/saas?sslmode=disable"

// envDoc lists every variable; `saas help` prints it and the README repeats it.
const envDoc = `Environment:
  SAAS_ADDR                  listen address (default :8000)
  SAAS_SERVICES              comma-separated services to run, like --services (default: all)
  DATABASE_URL               PostgreSQL URL (default ` + defaultDatabaseURL + `);
                             the database is created if missing
  SAAS_DB_MAX_CONNS          connection pool size (default 4 x cores, at least 8)
  SAAS_MASTER_KEY            base64 of 32 random bytes: encrypts private keys at rest (required)
  SAAS_MASTER_KEY_PREVIOUS   comma-separated earlier master keys, still accepted for decryption
                             until 'saas rotate-master-key' has re-encrypted everything
  SAAS_DEV_MASTER_KEY_FILE   development only: without SAAS_MASTER_KEY, read the master key from
                             this file, creating it with a fresh key if missing ('make run' sets it)
  SAAS_RSA_POOL_SIZE         RSA-2048 keys generated ahead in the background (default 4, 0 = off)
  SAAS_SHUTDOWN_TIMEOUT      how long SIGTERM waits for in-flight requests (default 20s)
  SAAS_LOG_LEVEL             debug, info, warn or error (default info)
`

func loadConfig(needKeys bool) (config, error) {
	c := config{Addr: ":8000", DatabaseURL: defaultDatabaseURL, ShutdownTimeout: 20 * time.Second, RSAPoolSize: 4}
	var errs []error
	if v := os.Getenv("SAAS_ADDR"); v != "" {
		c.Addr = v
		if _, port, err := net.SplitHostPort(v); err != nil || !validPort(port) {
			errs = append(errs, fmt.Errorf("SAAS_ADDR=%q: want host:port or :port, such as :8000", v))
		}
	}
	if v := os.Getenv("DATABASE_URL"); v != "" {
		c.DatabaseURL = v
	}
	if v := os.Getenv("SAAS_DB_MAX_CONNS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 || n > 1000 {
			errs = append(errs, fmt.Errorf("SAAS_DB_MAX_CONNS=%q: want a number from 1 to 1000", v))
		}
		c.DBMaxConns = int32(n)
	}
	if v := os.Getenv("SAAS_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 10*time.Minute {
			errs = append(errs, fmt.Errorf("SAAS_SHUTDOWN_TIMEOUT=%q: want a duration such as 20s (at most 10m)", v))
		}
		c.ShutdownTimeout = d
	}
	if v := os.Getenv("SAAS_RSA_POOL_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 64 {
			errs = append(errs, fmt.Errorf("SAAS_RSA_POOL_SIZE=%q: want a number from 0 to 64", v))
		}
		c.RSAPoolSize = n
	}
	if v := os.Getenv("SAAS_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("SAAS_LOG_LEVEL=%q: want debug, info, warn or error", v))
		}
	}
	if needKeys {
		kr, err := loadKeyring()
		if err != nil {
			errs = append(errs, err)
		}
		c.Keyring = kr
	}
	return c, errors.Join(errs...)
}

// loadKeyring reads the master key and its predecessors. The key itself never
// appears in an error message.
func loadKeyring() (*keycrypto.Keyring, error) {
	current := os.Getenv("SAAS_MASTER_KEY")
	if current == "" {
		file := os.Getenv("SAAS_DEV_MASTER_KEY_FILE")
		if file == "" {
			return nil, errors.New("SAAS_MASTER_KEY is not set: generate one with 'openssl rand -base64 32' (or 'saas gen-master-key') and keep it secret")
		}
		var err error
		if current, err = devMasterKey(file); err != nil {
			return nil, err
		}
	}
	cur, err := keycrypto.ParseMasterKey(current)
	if err != nil {
		return nil, fmt.Errorf("SAAS_MASTER_KEY: %w", err)
	}
	var previous []keycrypto.MasterKey
	for i, v := range strings.Split(os.Getenv("SAAS_MASTER_KEY_PREVIOUS"), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		mk, err := keycrypto.ParseMasterKey(v)
		if err != nil {
			return nil, fmt.Errorf("SAAS_MASTER_KEY_PREVIOUS entry %d: %w", i+1, err)
		}
		previous = append(previous, mk)
	}
	return keycrypto.NewKeyring(cur, previous...)
}

// devMasterKey keeps a development master key in a file so `make run` works
// out of the box and restarts can still decrypt the keys they made.
func devMasterKey(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("SAAS_DEV_MASTER_KEY_FILE: %w", err)
	}
	key := newMasterKey()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", fmt.Errorf("SAAS_DEV_MASTER_KEY_FILE: %w", err)
	}
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("SAAS_DEV_MASTER_KEY_FILE: %w", err)
	}
	slog.Warn("SAAS_MASTER_KEY is not set: generated a development master key; set SAAS_MASTER_KEY in production", "file", file)
	return key, nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

func newMasterKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
