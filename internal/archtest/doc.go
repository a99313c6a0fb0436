// Package archtest holds the test that keeps the dependency rules of
// ARCHITECTURE.md §2: services never import each other, the platform imports
// no service, generated code of one service is used by that service only
// (other services use its client), and nothing imports cmd. A service's
// external test package alone may import another service, to test against
// the real thing as cmd/saas wires it.
package archtest
