//go:build !linux

package main

import (
	"errors"
	"syscall"
	"time"
)

// childProcAttr puts a server in its own process group.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// processCPU is not available here: the bench leaves the figure out.
func processCPU(pid int) (time.Duration, error) {
	return 0, errors.ErrUnsupported
}

// selfCPU is not available here: the bench leaves the figure out.
func selfCPU() (time.Duration, error) { return 0, errors.ErrUnsupported }
