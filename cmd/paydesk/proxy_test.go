package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The proxy test runs docs/deploy/nginx.conf — the file operators copy — in front of two
// instances: the lines marked "site:" get the test's addresses, ports, certificate and
// paths; nothing else changes. It runs in the PostgreSQL pass (two instances need it).

// nginxConf is the deployment's nginx configuration, relative to this package.
const nginxConf = "../../docs/deploy/nginx.conf"

// proxy is nginx running the deployment's configuration.
type proxy struct {
	dir, conf string
	base      string // https://127.0.0.1:port
	upstreams [2]string
	cmd       *exec.Cmd
	exited    chan struct{}
	log       *lockedBuffer
}

// startProxy writes the configuration for the two upstream addresses and starts nginx.
func startProxy(t *testing.T, addr string, upstreams [2]string) *proxy {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("nginx is not installed (.ci/run installs it): the proxy configuration must be tested")
		}
	}
	// Not t.TempDir(): nginx's workers may run as another user and must reach it.
	dir, err := os.MkdirTemp("", "paydesk-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	p := &proxy{dir: dir, conf: filepath.Join(dir, "nginx.conf"), base: "https://" + addr, upstreams: upstreams, log: &lockedBuffer{}}
	writeCertificate(t, dir)
	p.write(t, -1)
	p.cmd = exec.Command(bin, "-p", dir, "-c", p.conf, "-g", "daemon off;")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx:\n%s%s", p.log.String(), log)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	c := &http.Client{Transport: trusting(dir), Timeout: 2 * time.Second}
	for {
		res, err := c.Get(p.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited at start-up:\n%s%s", p.log.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not serving after 10s (last: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// write writes the configuration, with upstream down (0 or 1) marked down, -1 for none.
func (p *proxy) write(t *testing.T, down int) {
	t.Helper()
	src, err := os.ReadFile(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	userLine := "" // not root: nginx runs as this user
	if os.Geteuid() == 0 {
		u, _ := user.Current()
		g, _ := user.LookupGroupId(u.Gid)
		userLine = fmt.Sprintf("user %s %s;", u.Username, g.Name)
	}
	upstream := func(i int) string {
		line := "server " + p.upstreams[i] + " max_fails=1 fail_timeout=10s"
		if i == down {
			line += " down"
		}
		return line + ";"
	}
	site := map[string]string{
		"user":         userLine,
		"pid":          "pid " + filepath.Join(p.dir, "nginx.pid") + ";",
		"error_log":    "error_log " + filepath.Join(p.dir, "error.log") + " info;",
		"access_log":   "access_log " + filepath.Join(p.dir, "access.log") + " combined;" + tempPaths(p.dir),
		"instance 1":   upstream(0),
		"instance 2":   upstream(1),
		"http listen":  "listen " + freeAddrNoT() + ";",
		"https listen": "listen " + strings.TrimPrefix(p.base, "https://") + " ssl;",
		"certificate":  "ssl_certificate " + filepath.Join(p.dir, "cert.pem") + ";",
		"key":          "ssl_certificate_key " + filepath.Join(p.dir, "key.pem") + ";",
	}
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(string(src), "\n") {
		if _, marker, ok := strings.Cut(line, "# site: "); ok {
			marker = strings.TrimSpace(marker)
			repl, known := site[marker]
			if !known {
				t.Fatalf("%s: unknown marker %q: teach the proxy test what to put there", nginxConf, marker)
			}
			seen[marker] = true
			line = repl
		}
		out = append(out, line)
	}
	for m := range site {
		if !seen[m] {
			t.Fatalf("%s: the line marked %q is gone: the proxy test would not run the file as written", nginxConf, m)
		}
	}
	if err := os.WriteFile(p.conf, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tempPaths keeps nginx's temporary files under dir, not in /var/lib/nginx.
func tempPaths(dir string) string {
	var b strings.Builder
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, " %s_temp_path %s;", d, filepath.Join(dir, d))
	}
	return b.String()
}

// reload has nginx read its configuration again, gracefully, and waits for the old
// workers to finish.
func (p *proxy) reload(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The new workers start at once; the old ones finish what they serve (no request is
	// cut). Give them a moment to pick up the new list of instances.
	time.Sleep(500 * time.Millisecond)
}

// freeAddrNoT is freeAddr for places without a *testing.T at hand.
func freeAddrNoT() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeCertificate writes a self-signed certificate for 127.0.0.1 into dir.
func writeCertificate(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paydesk proxy test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{"cert.pem": {Type: "CERTIFICATE", Bytes: der}, "key.pem": {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// trusting is a transport that trusts the certificate in dir.
func trusting(dir string) *http.Transport {
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(filepath.Join(dir, "cert.pem"))
	pool.AppendCertsFromPEM(b)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return tr
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// served is the outcome of one request through the proxy.
type served struct {
	instance string
	err      error
}

// request asks the proxy for a signed-in page (GET /settings) or, with post, changes the
// time zone (a POST that follows its redirect to /settings); anything but the settings
// page, signed in, answered by an instance, is a failure.
func request(b *crashBrowser, post bool) served {
	var res *http.Response
	var err error
	if post {
		req, _ := http.NewRequest(http.MethodPost, b.base+"/settings/time-zone", strings.NewReader(url.Values{"zone": {"Europe/Paris"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// A reload of nginx closes its idle connections to browsers; a browser sends a
		// request again when the kept-alive connection it went out on closed before any
		// answer (Chromium does, whatever the method). Go's client does the same for a
		// request marked with this header, and only then: nothing reached Paydesk.
		req.Header.Set("Idempotency-Key", fmt.Sprint(time.Now().UnixNano()))
		res, err = b.c.Do(req)
	} else {
		res, err = b.c.Get(b.base + "/settings")
	}
	if err != nil {
		return served{err: err}
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	who := res.Header.Get(instanceHeader)
	switch {
	case res.StatusCode != http.StatusOK:
		return served{who, fmt.Errorf("%s: %d", res.Request.URL, res.StatusCode)}
	case res.Request.URL.Path != "/settings":
		return served{who, fmt.Errorf("ended at %s: the session did not hold", res.Request.URL)}
	case who == "":
		return served{who, fmt.Errorf("%s: no %s header", res.Request.URL, instanceHeader)}
	}
	return served{instance: who}
}

// clientLoop sends requests one after another (every fourth a POST) until stop is closed,
// counting answers per instance and failures.
type clientLoop struct {
	by       sync.Map // instance → *atomic.Int64
	total    atomic.Int64
	failures chan error
	stop     chan struct{}
	done     chan struct{}
}

func startClientLoop(b *crashBrowser, posts bool) *clientLoop {
	l := &clientLoop{failures: make(chan error, 1000), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			s := request(b, posts && i%4 == 3)
			l.total.Add(1)
			if s.err != nil {
				select {
				case l.failures <- s.err:
				default:
				}
				continue
			}
			n, _ := l.by.LoadOrStore(s.instance, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
	}()
	return l
}

// end stops the loop and returns its counts per instance.
func (l *clientLoop) end(t *testing.T, what string) map[string]int64 {
	t.Helper()
	close(l.stop)
	<-l.done
	close(l.failures)
	for err := range l.failures {
		t.Errorf("%s: a request failed: %v", what, err)
	}
	out := map[string]int64{}
	l.by.Range(func(k, v any) bool { out[k.(string)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("%s: %d requests, by instance %v", what, l.total.Load(), out)
	return out
}

// terminate sends SIGTERM (what systemd, Kubernetes and docker stop send) and waits for
// a clean exit.
func (p *paydeskProcess) terminate(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(40 * time.Second):
		t.Fatal("paydesk did not stop within 40s of SIGTERM")
	}
	if p.err != nil {
		t.Errorf("paydesk ended with %v after SIGTERM, want a clean exit\n%s", p.err, p.output())
	}
}

func TestTwoInstancesBehindNginx(t *testing.T) {
	start := time.Now()
	addr := freeAddr(t)
	c := newClusterAt(t, "https://"+addr)
	// The instances believe the proxy's X-Forwarded-For (webhook sources).
	trust := "PAYDESK_TRUSTED_PROXIES=127.0.0.1"
	procs := [2]*paydeskProcess{c.start(t, 0, "", trust), c.start(t, 1, "", trust)}
	px := startProxy(t, addr, c.addrs)
	c.transport = trusting(px.dir)
	b := c.signIn(t, px.base, "sam")

	// Requests spread over both instances, the one session good on each.
	seen := map[string]int{}
	for range 20 {
		s := request(b, false)
		if s.err != nil {
			t.Fatal(s.err)
		}
		seen[s.instance]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Fatalf("20 requests through the proxy reached %v: want both instances", seen)
	}

	// An instance stops without warning the proxy: requests keep being answered by the
	// other (a GET whose connection is refused goes to the next instance).
	loop := startClientLoop(b, false)
	time.Sleep(200 * time.Millisecond)
	procs[1].terminate(t)
	time.Sleep(500 * time.Millisecond)
	by := loop.end(t, "b stopped")
	if by["a"] == 0 {
		t.Error("a answered nothing while b stopped")
	}
	procs[1] = c.start(t, 1, "", trust)

	// Rolling restart as docs/deployment.md tells it: take the instance out of the proxy
	// (down, reload), SIGTERM it (requests in flight finish), start the new one, put it
	// back; then the other. GETs and POSTs run throughout: none may fail.
	loop = startClientLoop(b, true)
	for i := range procs {
		px.write(t, i)
		px.reload(t)
		procs[i].terminate(t)
		procs[i] = c.start(t, i, "", trust)
		px.write(t, -1)
		px.reload(t)
	}
	time.Sleep(300 * time.Millisecond)
	by = loop.end(t, "rolling restart")
	if by["a"] == 0 || by["b"] == 0 {
		t.Errorf("during the rolling restart requests reached %v: want both instances", by)
	}
	// The session outlived every process it was made on.
	if s := request(b, false); s.err != nil {
		t.Errorf("after the rolling restart: %v", s.err)
	}
	t.Logf("proxy test: %s", time.Since(start).Round(time.Millisecond))
}
