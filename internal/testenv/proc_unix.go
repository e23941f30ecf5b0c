//go:build unix

package testenv

import (
	"os"
	"syscall"
)

// signalGroup sends sig to the process group led by p, falling back to the
// process alone.
func signalGroup(p *os.Process, sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		_ = p.Signal(sig)
	}
}

// Freezing a process: SIGSTOP and SIGCONT (Redis.Freeze).
const (
	canFreeze = true
	sigStop   = syscall.SIGSTOP
	sigCont   = syscall.SIGCONT
)
