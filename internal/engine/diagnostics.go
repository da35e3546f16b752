package engine

import (
	"crypto/tls"
	"fmt"
)

// This file holds the few exported windows that diagnostics tools (the
// zkmicro command's doctor and prune) need beyond the registry's API.

// TLSConfig returns a copy of the TLS configuration connections are dialled
// with, nil when they are plaintext. Files named by the EnvTLS* variables
// are read now. Like the registry's own dialer, the caller should verify
// the host it dials when ServerName is empty. Errors are prefixed
// "zookeeper: " and name the variable or file at fault, never a secret.
func (c Config) TLSConfig() (*tls.Config, error) {
	t, err := c.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	if t == nil {
		return nil, nil
	}
	return t.Clone(), nil
}

// DecodeNode parses the data of a node znode as readers of the registry
// do (see payload.go): a JSON object naming a service and holding exactly
// one node with an id. Anything else is not a registration, and the error
// says why.
func DecodeNode(data []byte) (*Service, error) {
	return decodeNode(data)
}
