package zktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// PKI is a test CA and the certificates it signed, as PEM files in a
// temporary directory.
type PKI struct {
	Pool           *x509.CertPool // the CA
	CAFile         string         // the CA certificate
	ServerFile     string         // server key and certificate: ZooKeeper's PEM key store
	ServerKeyFile  string         // the server key alone
	ClientCertFile string
	ClientKeyFile  string
	Client         tls.Certificate
}

// NewPKI makes a CA named name, a server certificate for 127.0.0.1 and
// localhost, and a client certificate.
func NewPKI(t TB, name string) *PKI {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("zktest: test PKI: %v", err)
		}
	}
	dir := t.TempDir()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	must(err)
	ca, err := x509.ParseCertificate(caDER)
	must(err)

	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP, dns []string) (certPEM, keyPEM []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: ips, DNSNames: dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		must(err)
		p8, err := x509.MarshalPKCS8PrivateKey(key)
		must(err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})
	}
	serverCert, serverKey := issue(2, "zookeeper", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
	clientCert, clientKey := issue(3, "registry", x509.ExtKeyUsageClientAuth, nil, nil)

	p := &PKI{
		Pool:           x509.NewCertPool(),
		CAFile:         filepath.Join(dir, "ca.pem"),
		ServerFile:     filepath.Join(dir, "server.pem"),
		ServerKeyFile:  filepath.Join(dir, "server-key.pem"),
		ClientCertFile: filepath.Join(dir, "client.pem"),
		ClientKeyFile:  filepath.Join(dir, "client-key.pem"),
	}
	p.Pool.AddCert(ca)
	for f, data := range map[string][]byte{
		p.CAFile:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		p.ServerFile:     append(append([]byte{}, serverKey...), serverCert...),
		p.ServerKeyFile:  serverKey,
		p.ClientCertFile: clientCert,
		p.ClientKeyFile:  clientKey,
	} {
		must(os.WriteFile(f, data, 0o600))
	}
	p.Client, err = tls.X509KeyPair(clientCert, clientKey)
	must(err)
	return p
}

// ClientTLS trusts the CA and presents the client certificate.
func (p *PKI) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: p.Pool, Certificates: []tls.Certificate{p.Client}, MinVersion: tls.VersionTLS12}
}

// NettyJars is what Debian's ZooKeeper 3.8 needs on its class path to
// serve TLS (netty-all.jar alone does not load).
func NettyJars() []string {
	var jars []string
	for _, m := range []string{"common", "buffer", "codec", "handler", "resolver", "transport", "transport-native-epoll", "transport-native-unix-common"} {
		jars = append(jars, "/usr/share/java/netty-"+m+".jar")
	}
	return jars
}

// StartTLS starts a ZooKeeper with a plaintext client port (srv.Addr) and
// a secure client port that requires a client certificate signed by the
// returned PKI's CA. It returns the secure port's address. Extra options
// apply to the server as in Start.
func StartTLS(t TB, opts ...Option) (srv *Server, secureAddr string, pki *PKI) {
	t.Helper()
	pki = NewPKI(t, "zookeeper")
	port := freePorts(t, 1)[0]
	opts = append([]Option{
		Config(
			"serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
			"secureClientPort="+strconv.Itoa(port),
			"secureClientPortAddress=127.0.0.1",
			"ssl.keyStore.location="+pki.ServerFile,
			"ssl.keyStore.type=PEM",
			"ssl.trustStore.location="+pki.CAFile,
			"ssl.trustStore.type=PEM",
			"ssl.clientAuth=need",
		),
		Classpath(NettyJars()...),
	}, opts...)
	srv = Start(t, opts...)
	return srv, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), pki
}
