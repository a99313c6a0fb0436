// Package testkit holds what the services' API tests share beyond a database
// (dbtest) and the contract check (contract): quiet logs and running requests
// at the same instant.
package testkit

import (
	"log/slog"
	"os"
	"sync"
	"testing"
)

// Main runs a package's tests with only warnings and errors logged (a 500's
// cause still shows); access logs of passing requests are noise.
// SAAS_TEST_LOG=1 logs everything. Use it as TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }
func Main(m *testing.M) int {
	level := slog.LevelWarn
	if os.Getenv("SAAS_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	return m.Run()
}

// Concurrently runs do n times, released at the same instant, and returns
// what each returned (an HTTP status, typically).
func Concurrently(n int, do func(i int) int) []int {
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			codes[i] = do(i)
		})
	}
	close(start)
	wg.Wait()
	return codes
}

// Tally counts how often each value occurs.
func Tally(codes []int) map[int]int {
	m := map[int]int{}
	for _, c := range codes {
		m[c]++
	}
	return m
}
