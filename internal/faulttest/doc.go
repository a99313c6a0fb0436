// Package faulttest holds the platform's fault tests (issue "Load, fault and
// performance harness", section Faults); it has no code of its own. Each test
// runs the real thing and breaks something under it:
//
//   - TestSIGTERMDrainsInFlightRequests, TestSIGTERMCutsOffStragglersAtTheGracePeriod:
//     the built `saas serve` binary under concurrent reads and writes gets a
//     real SIGTERM;
//   - TestPostgresStoppedDuringLoad: the platform's own PostgreSQL cluster
//     (initdb into a temporary directory) is stopped with -m immediate under
//     writes and started again;
//   - TestConfigVaultFaultsSeenFromIAM: Config Vault runs in a process of its
//     own behind a proxy that delays, refuses or resets its connections;
//   - TestSpecFuzz: every operation of every spec gets requests generated
//     from its schema to be wrong (types, missing fields, huge strings, odd
//     Unicode, invalid UUIDs, extra fields, wrong media types).
//
// They need PostgreSQL at DATABASE_URL like every database test, and the
// PostgreSQL server binaries (initdb, pg_ctl) for the stopped-database test,
// which is skipped, saying so, without them. Longer fuzz runs:
//
//	go test ./internal/faulttest/ -run SpecFuzz -args -fuzzseed=7 -fuzzn=200
package faulttest
