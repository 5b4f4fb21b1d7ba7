//go:build unix

package daemon_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mothreads/mothreads/client"
	"github.com/mothreads/mothreads/daemon"
	pb "github.com/mothreads/mothreads/proto/mothreads/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// helperEnv selects helper mode in TestMain: the value is the socket to call.
const helperEnv = "MOTHREADS_DAEMON_TEST_HELPER"

// runHelper calls the daemon on sock (as another user) and prints the code
// of each call: "status=CODE exec=CODE sessions=CODE close=CODE".
func runHelper(sock string) int {
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	defer conn.Close()
	rpc := pb.NewMothreadsClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = rpc.Status(ctx, &pb.StatusRequest{}, grpc.WaitForReady(true))
	fmt.Printf("status=%s ", status.Code(err))
	st, err := rpc.Exec(ctx, &pb.ExecRequest{Command: &pb.Command{Script: []byte("echo hi")}})
	if err == nil {
		_, err = st.Recv()
	}
	fmt.Printf("exec=%s ", status.Code(err))
	_, err = rpc.ListSessions(ctx, &pb.ListSessionsRequest{})
	fmt.Printf("sessions=%s ", status.Code(err))
	_, err = rpc.CloseSession(ctx, &pb.CloseSessionRequest{Session: "victim"})
	fmt.Printf("close=%s\n", status.Code(err))
	return 0
}

// TestPeerCredentialsRefuseOtherUsers: a connection from another uid gets
// PermissionDenied on every call, and the refusal is logged with the
// peer's pid, uid and gid (C12). The socket's own permissions are opened up
// for the test so that only the peer-credential check stands in the way.
func TestPeerCredentialsRefuseOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run a client as another user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("needs setpriv (util-linux) to run a client as another user")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("needs the user nobody")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, daemon.Config{})
	if _, err := d.client.Run(context.Background(), &client.Request{Session: "victim", Script: "true"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d.socket, 0o666); err != nil {
		t.Fatal(err)
	}
	// A copy of the test binary that nobody may run, outside the go
	// command's private build directory.
	binDir := shortTempDir(t)
	bin := filepath.Join(binDir, "daemon.test")
	copyFile(t, self, bin)
	if err := os.Chmod(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid="+nobody.Uid, "--regid="+nobody.Gid, "--clear-groups", bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+d.socket)
	cmd.Dir = binDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if have, want := strings.TrimSpace(string(out)), "status=PermissionDenied exec=PermissionDenied sessions=PermissionDenied close=PermissionDenied"; have != want {
		t.Errorf("helper as nobody: %q, want %q", have, want)
	}
	refusal := regexp.MustCompile(`refused a call from another user.* pid=\d+ uid=` + nobody.Uid + ` gid=` + nobody.Gid)
	if !refusal.MatchString(d.logs.String()) {
		t.Errorf("no refusal with the peer's pid, uid and gid in the log:\n%s", d.logs.String())
	}
	// The daemon's own user is still served, and its sticky session was
	// not closed by the stranger.
	if _, err := d.client.Status(context.Background()); err != nil {
		t.Errorf("Status as ourselves: %v", err)
	}
	if _, err := d.client.Session(context.Background(), "victim"); err != nil {
		t.Errorf("the victim session after the stranger's close: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// No process may be forked while the copy is open for writing: a child
	// would hold it until its exec, and exec of the copy would fail with
	// ETXTBSY.
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// tcpAddr waits for the daemon's "serving" log line and returns its TCP
// address (Listen is 127.0.0.1:0).
func (d *testDaemon) tcpAddr(t *testing.T) string {
	t.Helper()
	d.logs.waitFor(t, "msg=serving")
	m := regexp.MustCompile(`msg=serving .*listen=(\S+)`).FindStringSubmatch(d.logs.String())
	if m == nil {
		t.Fatalf("no TCP address in the log:\n%s", d.logs.String())
	}
	return m[1]
}

// tcpStatus calls Status over TCP with opts and returns the gRPC code.
func tcpStatus(t *testing.T, addr string, opts ...client.Option) codes.Code {
	t.Helper()
	c, err := client.Dial(context.Background(), append([]client.Option{client.WithAddress(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = c.Status(ctx)
	return status.Code(err)
}

// TestTCPToken: TCP with a token serves the right token only; refusals are
// logged with the peer's address.
func TestTCPToken(t *testing.T) {
	tokenFile := filepath.Join(shortTempDir(t), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret-0123456789\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, daemon.Config{Listen: "127.0.0.1:0", TokenFile: tokenFile})
	addr := d.tcpAddr(t)
	for _, tc := range []struct {
		name string
		opts []client.Option
		want codes.Code
	}{
		{"right", []client.Option{client.WithToken("s3cret-0123456789")}, codes.OK},
		{"wrong", []client.Option{client.WithToken("s3cret-0123456780")}, codes.Unauthenticated},
		{"missing", nil, codes.Unauthenticated},
	} {
		if have := tcpStatus(t, addr, tc.opts...); have != tc.want {
			t.Errorf("%s token: %v, want %v", tc.name, have, tc.want)
		}
	}
	if !regexp.MustCompile(`refused a TCP call: invalid bearer token.* peer=127\.0\.0\.1:\d+`).MatchString(d.logs.String()) {
		t.Errorf("no refusal with the peer's address in the log:\n%s", d.logs.String())
	}
	// Unix socket callers need no token.
	if _, err := d.client.Status(context.Background()); err != nil {
		t.Errorf("Status over the socket: %v", err)
	}
}

// TestTCPTLS: TLS with a self-signed certificate (without client
// authentication only when told it is insecure), then with client
// certificates required.
func TestTCPTLS(t *testing.T) {
	dir := shortTempDir(t)
	server := newCert(t, "server", x509.ExtKeyUsageServerAuth)
	server.write(t, dir)
	d := startDaemon(t, daemon.Config{Listen: "127.0.0.1:0", TLSCert: server.certFile, TLSKey: server.keyFile, InsecureNoClientAuth: true})
	addr := d.tcpAddr(t)
	if have := tcpStatus(t, addr, client.WithTLS(&tls.Config{RootCAs: server.pool()})); have != codes.OK {
		t.Errorf("TLS: %v, want OK", have)
	}
	if have := tcpStatus(t, addr); have != codes.Unavailable {
		t.Errorf("plain text to a TLS daemon: %v, want Unavailable", have)
	}

	clientCert := newCert(t, "client", x509.ExtKeyUsageClientAuth)
	clientCert.write(t, shortTempDir(t))
	m := startDaemon(t, daemon.Config{Listen: "127.0.0.1:0", TLSCert: server.certFile, TLSKey: server.keyFile, TLSClientCA: clientCert.certFile})
	maddr := m.tcpAddr(t)
	if have := tcpStatus(t, maddr, client.WithTLS(&tls.Config{RootCAs: server.pool()})); have != codes.Unavailable {
		t.Errorf("mTLS without a client certificate: %v, want Unavailable", have)
	}
	withCert := &tls.Config{RootCAs: server.pool(), Certificates: []tls.Certificate{clientCert.tls}}
	if have := tcpStatus(t, maddr, client.WithTLS(withCert)); have != codes.OK {
		t.Errorf("mTLS with a client certificate: %v, want OK", have)
	}
	m.logs.waitFor(t, "TLS handshake failed")
}

// TestTCPNeedsClientAuth: Serve refuses to start TCP without client
// authentication, before it touches the socket: with nothing, and with TLS
// alone (H3 of the security report: anyone who reached the port ran
// commands), unless InsecureNoClientAuth says so.
func TestTCPNeedsClientAuth(t *testing.T) {
	server := newCert(t, "server", x509.ExtKeyUsageServerAuth)
	server.write(t, shortTempDir(t))
	for _, tc := range []struct {
		cfg  daemon.Config
		want string
	}{
		{daemon.Config{Listen: "127.0.0.1:0"}, "daemon config Listen: refusing TCP on 127.0.0.1:0 without client authentication"},
		{daemon.Config{Listen: "127.0.0.1:0", TLSCert: server.certFile, TLSKey: server.keyFile}, "daemon config Listen: refusing TCP on 127.0.0.1:0 with TLS but no client authentication"},
	} {
		d := serveDaemon(t, tc.cfg)
		d.wait(t)
		var ce *daemon.ConfigError
		if !errors.As(d.err, &ce) || ce.Field != "Listen" || !strings.Contains(d.err.Error(), tc.want) {
			t.Errorf("Serve = %v, want a *ConfigError %q", d.err, tc.want)
		}
		if _, err := os.Lstat(d.socket); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket created anyway (%v)", err)
		}
	}
}

// TestTLSAloneServesNoStranger is H3 as an attacker sees it: a client with
// no certificate and no token reaches a TLS listener. Without
// InsecureNoClientAuth the daemon does not start; with mutual TLS the
// stranger's handshake fails.
func TestTLSAloneServesNoStranger(t *testing.T) {
	dir := shortTempDir(t)
	server := newCert(t, "server", x509.ExtKeyUsageServerAuth)
	server.write(t, dir)
	clientCert := newCert(t, "client", x509.ExtKeyUsageClientAuth)
	clientCert.write(t, shortTempDir(t))
	m := startDaemon(t, daemon.Config{Listen: "127.0.0.1:0", TLSCert: server.certFile, TLSKey: server.keyFile, TLSClientCA: clientCert.certFile})
	stranger := client.WithTLS(&tls.Config{RootCAs: server.pool()})
	if have := tcpStatus(t, m.tcpAddr(t), stranger); have == codes.OK {
		t.Errorf("a client without a certificate was served")
	}
}

// testCert is a self-signed certificate for 127.0.0.1 and its PEM files.
type testCert struct {
	tls               tls.Certificate
	certPEM, keyPEM   []byte
	certFile, keyFile string
}

func newCert(t *testing.T, name string, usage x509.ExtKeyUsage) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "mothreads test " + name},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	if c.tls, err = tls.X509KeyPair(c.certPEM, c.keyPEM); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *testCert) write(t *testing.T, dir string) {
	t.Helper()
	c.certFile, c.keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(c.certFile, c.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, c.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (c *testCert) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(c.certPEM)
	return p
}
