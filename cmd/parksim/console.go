package main

import (
	"bytes"
	"io"
	"sync"
)

// console shares stderr between the progress line and the log. On a
// terminal the progress line is rewritten in place (\r) and log lines are
// printed above it; elsewhere every line is printed as it comes.
type console struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	last []byte // progress line on screen, terminal only
}

func newConsole(w io.Writer, tty bool) *console { return &console{w: w, tty: tty} }

// Write prints log output. The simulator's progress goes to Progress.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tty || c.last == nil {
		return c.w.Write(p)
	}
	if _, err := io.WriteString(c.w, "\r\x1b[K"); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	if err == nil {
		_, err = c.w.Write(c.last)
	}
	return n, err
}

// progress returns the writer the simulator's progress lines go to.
func (c *console) progress() io.Writer { return progressWriter{c} }

type progressWriter struct{ c *console }

// Write shows one progress line (ending in "\n").
func (p progressWriter) Write(b []byte) (int, error) {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tty {
		return c.w.Write(b)
	}
	c.last = append([]byte("\r\x1b[K"), bytes.TrimRight(b, "\n")...)
	_, err := c.w.Write(c.last)
	return len(b), err
}

// done ends the progress line so that what follows starts on a new line.
func (c *console) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tty && c.last != nil {
		_, _ = io.WriteString(c.w, "\n")
		c.last = nil
	}
}
