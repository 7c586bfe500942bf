package main

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// bridge forwards every connection accepted on from to to, both given as
// network:address (tcp:127.0.0.1:59590, unix:/path/sock). It carries the
// lab's openssl responder out of its network namespace: openssl 3.0's
// responder binds every address, so it runs where loopback is the only one.
func bridge(from, to string) error {
	fn, fa, ok1 := strings.Cut(from, ":")
	tn, ta, ok2 := strings.Cut(to, ":")
	if !ok1 || !ok2 {
		return fmt.Errorf("want network:address, got %q and %q", from, to)
	}
	if fn == "tcp" && !strings.HasPrefix(fa, "127.0.0.1:") {
		return fmt.Errorf("the lab listens on 127.0.0.1 only, not %q", fa)
	}
	l, err := net.Listen(fn, fa)
	if err != nil {
		return err
	}
	for {
		in, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer in.Close()
			out, err := net.DialTimeout(tn, ta, 5*time.Second)
			if err != nil {
				return
			}
			defer out.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
			go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
			<-done
		}()
	}
}
