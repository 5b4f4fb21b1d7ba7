package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// LoadTLS returns a TLS configuration for WithTLS, read from PEM files:
// certFile and keyFile, when given (both or neither), are the client's
// certificate and key for mutual TLS; caFile, when given, holds the CAs
// that the daemons' certificates must chain to (without it, the system's
// roots). The server name checked is the one of each address dialled, so a
// daemon's certificate must name the host (or IP) that the client dials.
func LoadTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case (certFile == "") != (keyFile == ""):
		return nil, errors.New("mothreads: TLS: a client certificate needs both its certificate and its key file")
	case certFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("mothreads: TLS client certificate %s: %w", certFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("mothreads: TLS CA: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mothreads: TLS CA %s: no PEM certificate in it", caFile)
		}
		cfg.RootCAs = roots
	}
	return cfg, nil
}

// WithTLSFiles is WithTLS with the configuration LoadTLS reads from the
// files; Dial fails when they cannot be read.
func WithTLSFiles(certFile, keyFile, caFile string) Option {
	return func(o *options) {
		cfg, err := LoadTLS(certFile, keyFile, caFile)
		if err != nil {
			o.err = err
			return
		}
		o.tls, o.tlsSet = cfg, true
	}
}
