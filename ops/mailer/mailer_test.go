package mailer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"paydesk/storage"
)

// testCert is a certificate for 127.0.0.1 and the pool that trusts it.
func testCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "paydesk test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func catcher(t *testing.T, cfg CatcherConfig) *Catcher {
	t.Helper()
	c, err := StartCatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sample() storage.Mail {
	return storage.Mail{Kind: "decision", To: "sam@paydesk.example", Subject: "Refund of 600,00 € approved",
		Body: "Your refund was approved.\nLine two — with a dash.", Key: "decision/refund/7", CreatedAt: time.Now()}
}

func TestSendPlainReachesTheServerWithAStableMessageID(t *testing.T) {
	c := catcher(t, CatcherConfig{})
	cfg, err := Parse(c.URL(), "Paydesk <paydesk@desk.example>")
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	for range 2 {
		if err := s.Send(context.Background(), sample()); err != nil {
			t.Fatal(err)
		}
	}
	got := c.WaitFor(2, 5*time.Second)
	if len(got) != 2 {
		t.Fatalf("received %d messages", len(got))
	}
	m := got[0]
	if m.Subject != "Refund of 600,00 € approved" || !strings.Contains(m.Body, "Line two — with a dash.") ||
		m.From != "paydesk@desk.example" || len(m.To) != 1 || m.To[0] != "sam@paydesk.example" || m.TLS || m.Authed {
		t.Errorf("received %+v", m)
	}
	want := MessageID("decision/refund/7", cfg.From)
	if m.MessageID != want || got[1].MessageID != want || !strings.HasSuffix(want, "@desk.example") {
		t.Errorf("Message-IDs %q and %q, want %q both times", m.MessageID, got[1].MessageID, want)
	}
}

func TestSendSTARTTLSWithAuthPlain(t *testing.T) {
	srvTLS, pool := testCert(t)
	c := catcher(t, CatcherConfig{TLS: srvTLS, User: "paydesk", Password: "s3cret"})
	cfg, err := Parse("smtp://paydesk:s3cret@"+c.Addr()+"?starttls=1", "paydesk@desk.example")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if err := New(cfg).Send(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	got := c.WaitFor(1, 5*time.Second)
	if len(got) != 1 || !got[0].TLS || !got[0].Authed {
		t.Fatalf("received %+v, want one message over TLS after AUTH", got)
	}

	// A wrong password is refused by the server: nothing is delivered.
	cfg.Password = "wrong"
	if err := New(cfg).Send(context.Background(), sample()); err == nil {
		t.Error("a wrong password was accepted")
	}
	// A certificate the client does not trust: refused before anything is sent.
	cfg.Password, cfg.TLS = "s3cret", &tls.Config{ServerName: "127.0.0.1"}
	if err := New(cfg).Send(context.Background(), sample()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an untrusted certificate gave %v", err)
	}
	if n := len(c.Messages()); n != 1 {
		t.Errorf("the server holds %d messages, want 1", n)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srvTLS, pool := testCert(t)
	c := catcher(t, CatcherConfig{TLS: srvTLS, ImplicitTLS: true, User: "u", Password: "p"})
	cfg, err := Parse("smtps://u:p@"+c.Addr(), "paydesk@desk.example")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if err := New(cfg).Send(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	if got := c.WaitFor(1, 5*time.Second); len(got) != 1 || !got[0].TLS || !got[0].Authed {
		t.Fatalf("received %+v", got)
	}
}

func TestParse(t *testing.T) {
	good := []struct {
		url  string
		want string
	}{
		{"smtp://user:pw@mail.example:587?starttls=1", "user@mail.example:587 (starttls)"},
		{"smtp://user:pw@mail.example?starttls=1", "user@mail.example:587 (starttls)"},
		{"smtps://user:pw@mail.example", "user@mail.example:465 (tls)"},
		{"smtp://relay.internal:25", "relay.internal:25 (plain)"},
		{"smtp://u:p@127.0.0.1:2525", "u@127.0.0.1:2525 (plain)"},
	}
	for _, g := range good {
		c, err := Parse(g.url, "paydesk@desk.example")
		if err != nil || c.String() != g.want {
			t.Errorf("Parse(%q) = %v, %v; want %s", g.url, c, err, g.want)
		}
		if strings.Contains(c.String(), "pw") {
			t.Errorf("%s shows the password", c)
		}
	}
	bad := []struct{ url, from, says string }{
		{"mail.example:25", "a@b.example", "is not an SMTP URL"},
		{"http://mail.example", "a@b.example", "not smtp or smtps"},
		{"smtp://u:secret@mail.example:25", "a@b.example", "travel in clear"},
		{"smtp://mail.example?starttls=yes", "a@b.example", "starttls="},
		{"smtp://mail.example:99999", "a@b.example", "not a port"},
		{"smtp://mail.example?tls=1", "a@b.example", "unknown parameter"},
		{"smtps://u:p@mail.example?auth=magic", "a@b.example", "auth="},
		{"smtp://mail.example", "not an address", "PAYDESK_MAIL_FROM"},
	}
	for _, b := range bad {
		_, err := Parse(b.url, b.from)
		if err == nil || !strings.Contains(err.Error(), b.says) {
			t.Errorf("Parse(%q, %q) = %v; want an error saying %q", b.url, b.from, err, b.says)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
