package engine

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
)

// Environment variables that configure TLS when no TLSConfig is given (a
// TLSConfig wins over all of them). Setting any of them turns TLS on, with
// certificate verification; EnvTLS=false together with one of the others
// is an error. Files are PEM and are read each time a connection is made,
// so rotated certificates are picked up by the next connection.
const (
	// EnvTLS turns TLS on ("1", "true") with the system's trusted CAs.
	EnvTLS = "MICRO_REGISTRY_ZOOKEEPER_TLS"
	// EnvTLSCA names a file of CA certificates to trust instead of the
	// system's.
	EnvTLSCA = "MICRO_REGISTRY_ZOOKEEPER_TLS_CA"
	// EnvTLSCert names the client certificate, for servers that require
	// client certificates (ssl.clientAuth). It goes with EnvTLSKey.
	EnvTLSCert = "MICRO_REGISTRY_ZOOKEEPER_TLS_CERT"
	// EnvTLSKey names the private key of EnvTLSCert.
	EnvTLSKey = "MICRO_REGISTRY_ZOOKEEPER_TLS_KEY"
	// EnvTLSServerName is the name the server certificate must carry, when
	// it is not the host of the address dialled.
	EnvTLSServerName = "MICRO_REGISTRY_ZOOKEEPER_TLS_SERVER_NAME"
)

// defaultTLS is the configuration of registry.Secure(true) without a
// TLSConfig: the system's CAs, certificates verified. It is never modified
// (the dialer clones it), and being one value it keeps sameSession true.
var defaultTLS = &tls.Config{MinVersion: tls.VersionTLS12}

// tlsSettings is TLS configured by the EnvTLS* environment variables.
type tlsSettings struct {
	on                bool
	caFile            string
	certFile, keyFile string
	serverName        string
}

// tlsFromEnv reads the EnvTLS* variables. It reads no file: they are loaded
// when a connection is made (tlsConfig).
func tlsFromEnv() (tlsSettings, error) {
	t := tlsSettings{
		caFile:     os.Getenv(EnvTLSCA),
		certFile:   os.Getenv(EnvTLSCert),
		keyFile:    os.Getenv(EnvTLSKey),
		serverName: os.Getenv(EnvTLSServerName),
	}
	implied := t.caFile != "" || t.certFile != "" || t.keyFile != "" || t.serverName != ""
	t.on = implied
	if v := os.Getenv(EnvTLS); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return t, fmt.Errorf("%s=%q is not a boolean", EnvTLS, v)
		}
		if !on && implied {
			return t, fmt.Errorf("%s=%s, but other %s_* variables are set", EnvTLS, v, EnvTLS)
		}
		t.on = on
	}
	if (t.certFile == "") != (t.keyFile == "") {
		return t, fmt.Errorf("%s and %s go together", EnvTLSCert, EnvTLSKey)
	}
	return t, nil
}

// tlsConfig returns the TLS configuration to dial with, nil for plaintext.
// Files named by the environment are read now.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.tls != nil || !c.tlsEnv.on {
		return c.tls, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.tlsEnv.serverName}
	if f := c.tlsEnv.caFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvTLSCA, err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate in %s", EnvTLSCA, f)
		}
	}
	if c.tlsEnv.certFile != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsEnv.certFile, c.tlsEnv.keyFile)
		if err != nil {
			// The error names the files, never their contents.
			return nil, fmt.Errorf("%s/%s: %w", EnvTLSCert, EnvTLSKey, err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}
