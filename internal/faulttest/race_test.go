//go:build race

package faulttest_test

// The binary the SIGTERM tests build is built with the race detector too
// when the tests are (make test): a data race while draining fails it.
func init() { raceEnabled = true }
