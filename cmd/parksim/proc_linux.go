//go:build linux

package main

import "syscall"

// childProcAttr puts a server in its own process group and has the kernel
// kill it if parksim dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
