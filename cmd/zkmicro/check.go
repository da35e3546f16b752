package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

// maxCheckTimeout bounds one health check; a shorter --check_interval
// bounds it instead.
const maxCheckTimeout = 5 * time.Second

// healthCheck returns nil when the server answers as a healthy one, or why
// it does not. It returns by ctx's deadline and may not be called
// concurrently with itself.
type healthCheck func(ctx context.Context) error

// parseCheckURL validates --check: tcp://HOST:PORT, or an http:// or
// https:// URL with a host; a port, required for tcp, must be in 1–65535.
func parseCheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--check %q: want tcp://HOST:PORT, http://URL or https://URL: %w", raw, err)
	}
	switch u.Scheme {
	case "tcp":
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return nil, fmt.Errorf("--check %q: want tcp://HOST:PORT and nothing more", raw)
		}
		if _, err := parseHostPort(u.Host); err != nil {
			return nil, fmt.Errorf("--check %q: %w", raw, err)
		}
		return u, nil
	case "http", "https":
		if u.Hostname() == "" {
			return nil, fmt.Errorf("--check %q: no host", raw)
		}
		if port := u.Port(); port != "" {
			if _, err := parseHostPort(net.JoinHostPort(u.Hostname(), port)); err != nil {
				return nil, fmt.Errorf("--check %q: %w", raw, err)
			}
		}
		return u, nil
	default:
		return nil, fmt.Errorf("--check %q: want tcp://HOST:PORT, http://URL or https://URL", raw)
	}
}

// parseHostPort checks that address is host:port with a port in 1–65535,
// and returns the port. The host may be empty.
func parseHostPort(address string) (int, error) {
	_, portText, err := net.SplitHostPort(address)
	if err != nil {
		return 0, fmt.Errorf("want HOST:PORT: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("port %q: want a number from 1 to 65535", portText)
	}
	return port, nil
}

// checkTLSConfig is the TLS configuration of an https check that trusts
// only the CA certificates in the PEM file caFile (--check_ca): a private
// CA, or a server's self-signed certificate. Server names are verified as
// usual.
func checkTLSConfig(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--check_ca: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--check_ca %q: no PEM certificate in it", caFile)
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// newHealthCheck returns the check of target, a URL accepted by
// parseCheckURL. tlsConfig is for https targets; nil verifies certificates
// against the system's roots.
func newHealthCheck(target *url.URL, tlsConfig *tls.Config) healthCheck {
	if target.Scheme == "tcp" {
		return tcpCheck(target.Host)
	}
	return httpCheck(target, tlsConfig)
}

// tcpCheck is healthy when a TCP connection to address is established.
func tcpCheck(address string) healthCheck {
	var dialer net.Dialer
	return func(ctx context.Context) error {
		conn, err := dialer.DialContext(ctx, "tcp", address)
		if err != nil {
			return err
		}
		_ = conn.Close() // connected: the server is up, whatever closing says
		return nil
	}
}

// maxCheckBody is how much of a healthy answer's body a check reads.
const maxCheckBody = 4 << 10

// httpCheck is healthy when a GET of target answers a 2xx or 3xx status
// and its body, or its first maxCheckBody bytes, arrives by the check's
// deadline: a server that sends its headers and then stalls is not
// healthy. Redirects are not followed, no proxy is used and every check
// opens a new connection, which also leaves no idle connection behind.
func httpCheck(target *url.URL, tlsConfig *tls.Config) healthCheck {
	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   tlsConfig,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rawURL := target.String()
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "zkmicro")
		resp, err := client.Do(req)
		if err != nil {
			return err // a *url.Error: names the URL without its password
		}
		defer resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 399 {
			return fmt.Errorf("GET %s: status %s", target.Redacted(), resp.Status)
		}
		// The request's context bounds the body too: a stalled body fails
		// at the deadline.
		if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxCheckBody)); err != nil {
			return fmt.Errorf("GET %s: status %s, but the body: %w", target.Redacted(), resp.Status, err)
		}
		return nil
	}
}
