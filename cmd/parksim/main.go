// Command parksim simulates the parking sensors of a town for parkd: it
// publishes their messages over MQTT, checks parkd's API against the truth it
// kept, and generates town registries.
//
//	parksim run [flags]        publish sensor messages (parksim run -h)
//	parksim verify [flags]     compare a saved truth with parkd's API
//	parksim registry [flags]   generate a town registry
//	parksim load [flags]       publish at a fixed rate
//	parksim bench [flags]      run the benchmarks (docs/benchmarks.md)
//	parksim stalls [flags]     measure how late a 1 ms sleep wakes up
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usageText = `parksim simulates the parking sensors of a town for parkd.

usage:
  parksim run [flags]        one simulated sensor per registry space publishes over MQTT;
                             optional faults, ground truth, and a verify at the end
  parksim verify [flags]     compare a truth saved by "run -truth" with parkd's API
  parksim registry [flags]   generate a town registry (zones.yaml and spaces.csv)
  parksim load [flags]       publish at a fixed rate (load tests); every message changes its space
  parksim bench [flags]      start Redis, Mosquitto and parkd privately and print the benchmark table
  parksim stalls [flags]     measure how late a process that sleeps 1 ms at a time wakes up: the
                             CPU waits a latency test cannot beat (run before a load test)

"parksim COMMAND -h" lists the flags of a command.
`

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1 // an error, or verify found a mismatch
	exitUsage    = 2
	exitMismatch = exitFailed
)

// cli is the process's outside world, so tests can run commands in-process.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	stderrIsTTY    bool
}

func main() {
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, stderrIsTTY: isTerminal(os.Stderr)}
	os.Exit(c.main(os.Args[1:]))
}

// main runs one command and returns the exit code.
func (c *cli) main(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usageText)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "run":
		err = c.run(args[1:])
	case "verify":
		err = c.verify(args[1:])
	case "registry":
		err = runRegistry(args[1:])
	case "load":
		err = c.load(args[1:])
	case "bench":
		err = c.bench(args[1:])
	case "stalls":
		err = c.stalls(args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(c.stderr, "parksim: unknown command %q\n\n%s", args[0], usageText)
		return exitUsage
	}
	return c.exitCode(err)
}

// usageError is a bad command line; the flag package has already said why.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// mismatchError is a verify that found differences; the report has been
// printed.
type mismatchError struct{}

func (mismatchError) Error() string { return "verify found mismatches" }

// exitCode maps a command's error to the exit code, printing it if needed.
func (c *cli) exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, mismatchError{}):
		return exitMismatch
	}
	fmt.Fprintf(c.stderr, "parksim: %v\n", err)
	return exitFailed
}

// newFlagSet returns a flag set whose -h prints usage, then the flags.
func (c *cli) newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\nflags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args into fs and refuses positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// envOr returns the environment variable's value, or def if it is empty.
func (c *cli) envOr(name, def string) string {
	if v := c.getenv(name); v != "" {
		return v
	}
	return def
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
