package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pipeDialer dials one end of a pipe; the test holds the other.
func pipeDialer(t *testing.T) (dial func(string, string, time.Duration) (net.Conn, error), server net.Conn) {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return func(string, string, time.Duration) (net.Conn, error) { return client, nil }, server
}

func TestCloseOnCancelEndsAHandshakeNobodyAnswers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dial, _ := pipeDialer(t)
	conn, err := closeOnCancel(ctx, dial)("tcp", "zk:2181", time.Second)
	require.NoError(t, err)
	read := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 1))
		read <- err
	}()

	cancel()

	require.ErrorIs(t, <-read, io.ErrClosedPipe, "the read waiting for the handshake's answer ends")
}

func TestCloseOnCancelLeavesAnAnsweredConnectionToZK(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dial, server := pipeDialer(t)
	conn, err := closeOnCancel(ctx, dial)("tcp", "zk:2181", time.Second)
	require.NoError(t, err)
	go func() { _, _ = server.Write([]byte("ab")) }()
	n, err := conn.Read(make([]byte, 1))
	require.NoError(t, err)
	require.Equal(t, 1, n)

	cancel()

	// Still open: the rest of the answer is there to read.
	n, err = conn.Read(make([]byte, 1))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, conn.Close())
	_, err = conn.Read(make([]byte, 1))
	require.True(t, errors.Is(err, io.ErrClosedPipe), "closed by its owner: %v", err)
}
