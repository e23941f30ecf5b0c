//go:build linux

package testenv

import "syscall"

// sysProcAttr puts the server in its own process group (so a signal reaches
// it and nothing else) and asks the kernel to SIGKILL it when the test
// binary dies, even on a panic or a timeout. Pdeathsig follows the OS thread
// that started the child; the Go runtime does not end threads of unlocked
// goroutines, so in practice it follows the test process.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
