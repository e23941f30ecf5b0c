//go:build unix && !linux

package testenv

import "syscall"

// sysProcAttr puts the server in its own process group. Outside Linux there
// is no parent-death signal: a crashed test binary may leave the server
// running until it is killed by hand.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
