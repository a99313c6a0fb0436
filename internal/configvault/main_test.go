package configvault_test

import (
	"log/slog"
	"os"
	"testing"
)

// Access logs of passing requests are noise in test output; warnings and
// errors (a 500's cause) still show. SAAS_TEST_LOG=1 shows everything.
func TestMain(m *testing.M) {
	level := slog.LevelWarn
	if os.Getenv("SAAS_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	os.Exit(m.Run())
}
