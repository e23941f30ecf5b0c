package main

import (
	"bytes"
	"fmt"
	"testing"
)

func TestConsole(t *testing.T) {
	tests := []struct {
		name string
		tty  bool
		want string
	}{
		{"terminal: progress rewritten in place, logs above it", true,
			"\r\x1b[Kone\r\x1b[Klog line\n\r\x1b[Kone\r\x1b[Ktwo\n"},
		{"file: plain lines", false, "one\nlog line\ntwo\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			c := newConsole(&b, tc.tty)
			fmt.Fprintln(c.progress(), "one")
			fmt.Fprintln(c, "log line")
			fmt.Fprintln(c.progress(), "two")
			c.done()
			if b.String() != tc.want {
				t.Errorf("console wrote %q, want %q", b.String(), tc.want)
			}
		})
	}
}
