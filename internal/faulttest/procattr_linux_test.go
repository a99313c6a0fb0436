package faulttest_test

import (
	"os/exec"
	"syscall"
)

// dieWithTest has the kernel kill the child when the test process dies
// (a test timeout's panic runs no cleanup), so no server outlives it.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
