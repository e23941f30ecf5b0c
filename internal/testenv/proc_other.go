//go:build !unix

package testenv

import (
	"os"
	"syscall"
)

// sysProcAttr has nothing to set outside Unix.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup ends the process: other systems have no process groups or
// SIGTERM, so every stop is a kill.
func signalGroup(p *os.Process, _ syscall.Signal) { _ = p.Kill() }

// Freezing a process needs SIGSTOP, which other systems have not.
const (
	canFreeze                       = false
	sigStop, sigCont syscall.Signal = 0, 0
)
