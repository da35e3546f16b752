package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// This file is a small client of ZooKeeper's four-letter words: the client
// sends the four bytes of the word on a new connection (TLS on a secure
// client port), and the server writes its answer as text and closes the
// connection. doctor sends srvr, the word Debian's ZooKeeper allows by
// default (4lw.commands.whitelist).

// srvrWord asks a server for its version, mode and counters.
const srvrWord = "srvr"

// maxFourLetterAnswer bounds what is read of an answer.
const maxFourLetterAnswer = 64 << 10

// srvrAnswer is what a server said in answer to srvr.
type srvrAnswer struct {
	version string // "3.8.0" (the build suffix cut), "" if not said
	mode    string // standalone, leader, follower, observer, read-only; "" if not said
	serving bool   // false when it said it is not serving requests (no quorum)
	refusal string // the server's refusal (srvr not in its whitelist), or ""
}

// askSrvr sends srvr on conn, reads the answer until the server closes the
// connection or ctx ends, and parses it.
func askSrvr(ctx context.Context, conn net.Conn) (srvrAnswer, error) {
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, srvrWord); err != nil {
		return srvrAnswer{}, fmt.Errorf("send %s: %w", srvrWord, err)
	}
	b, err := io.ReadAll(io.LimitReader(conn, maxFourLetterAnswer))
	if len(b) == 0 {
		if err == nil {
			err = io.EOF
		}
		return srvrAnswer{}, fmt.Errorf("no answer to %s: %w", srvrWord, err)
	}
	return parseSrvr(string(b)), nil
}

// parseSrvr reads an answer to srvr:
//
//	Zookeeper version: 3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on 2022-02-25 08:49 UTC
//	Latency min/avg/max: 0/0.0/0
//	...
//	Mode: follower
//	Node count: 5
//
// or a one-line refusal or "This ZooKeeper instance is not currently
// serving requests".
func parseSrvr(text string) srvrAnswer {
	a := srvrAnswer{serving: true}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Zookeeper version:"):
			v := strings.TrimSpace(strings.TrimPrefix(line, "Zookeeper version:"))
			if i := strings.IndexAny(v, "-, "); i >= 0 {
				v = v[:i]
			}
			a.version = v
		case strings.HasPrefix(line, "Mode:"):
			a.mode = strings.TrimSpace(strings.TrimPrefix(line, "Mode:"))
		case strings.Contains(line, "not currently serving requests"):
			a.serving = false
		case strings.Contains(line, "not executed because it is not in the whitelist"):
			a.refusal = line
		}
	}
	if a.version == "" && a.mode == "" && a.serving && a.refusal == "" {
		a.refusal = strings.TrimSpace(text)
	}
	return a
}

// versionAtLeast reports whether version ("3.8.0") is at least
// major.minor; known is false when version does not parse.
func versionAtLeast(version string, major, minor int) (atLeast, known bool) {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false, false
	}
	maj, err1 := strconv.Atoi(parts[0])
	mnr, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false, false
	}
	return maj > major || maj == major && mnr >= minor, true
}
