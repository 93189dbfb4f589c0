package mailer

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Catcher is a real SMTP server (github.com/emersion/go-smtp) on a loopback address that
// keeps every message it receives in memory: the demo's mail catcher (its /mail page) and
// the tests' SMTP server. Nothing it receives goes further.
type Catcher struct {
	srv *smtp.Server
	ln  net.Listener
	cfg CatcherConfig

	mu   sync.Mutex
	msgs []Caught
	// refuse, when set, answers every message with this error (a server that refuses).
	refuse error
	seen   chan struct{}
}

// CatcherConfig configures StartCatcher.
type CatcherConfig struct {
	// Addr is where to listen: "127.0.0.1:0" (a free port) when empty.
	Addr string
	// TLS, when set, offers STARTTLS with this certificate.
	TLS *tls.Config
	// ImplicitTLS serves TLS from the first byte (smtps://) with TLS's certificate.
	ImplicitTLS bool
	// User and Password, when set, are required (AUTH PLAIN) before any message.
	User, Password string
	// Keep is how many messages are kept, the oldest dropped first (default 500).
	Keep int
}

// Caught is one message the catcher received.
type Caught struct {
	At        time.Time
	From      string
	To        []string
	Subject   string
	MessageID string
	Body      string
	Raw       []byte
	// TLS says whether the connection was encrypted; Authed whether the client logged in.
	TLS, Authed bool
}

// StartCatcher listens and serves until Close.
func StartCatcher(cfg CatcherConfig) (*Catcher, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 500
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || !loopback(host) {
		return nil, fmt.Errorf("mail catcher: %q is not a loopback address", cfg.Addr)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mail catcher: %w", err)
	}
	if cfg.ImplicitTLS {
		if cfg.TLS == nil {
			ln.Close()
			return nil, errors.New("mail catcher: implicit TLS needs a certificate")
		}
		ln = tls.NewListener(ln, cfg.TLS)
	}
	c := &Catcher{ln: ln, cfg: cfg, seen: make(chan struct{}, 1)}
	c.srv = smtp.NewServer(smtp.BackendFunc(func(conn *smtp.Conn) (smtp.Session, error) {
		_, tlsOn := conn.TLSConnectionState()
		tlsOn = tlsOn || cfg.ImplicitTLS
		return &catcherSession{c: c, tls: tlsOn}, nil
	}))
	c.srv.Domain = "paydesk-catcher.localhost"
	if !cfg.ImplicitTLS {
		c.srv.TLSConfig = cfg.TLS
	}
	c.srv.MaxMessageBytes = 1 << 20
	c.srv.ReadTimeout, c.srv.WriteTimeout = 30*time.Second, 30*time.Second
	c.srv.AllowInsecureAuth = cfg.TLS == nil
	c.srv.ErrorLog = discardLog{}
	go c.srv.Serve(ln)
	return c, nil
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

// Addr is host:port.
func (c *Catcher) Addr() string { return c.ln.Addr().String() }

// URL is a PAYDESK_SMTP_URL that reaches the catcher (no TLS, no password).
func (c *Catcher) URL() string { return "smtp://" + c.Addr() }

// Close stops the server.
func (c *Catcher) Close() error { return c.srv.Close() }

// Refuse makes the server answer every message with a temporary failure (true) or accept
// them again (false).
func (c *Catcher) Refuse(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuse = nil
	if on {
		c.refuse = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailbox busy, try again later"}
	}
}

// Messages returns every message received, oldest first.
func (c *Catcher) Messages() []Caught {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Caught(nil), c.msgs...)
}

// Message returns the i-th message (0 is the oldest), if it exists.
func (c *Catcher) Message(i int) (Caught, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.msgs) {
		return Caught{}, false
	}
	return c.msgs[i], true
}

// WaitFor waits until at least n messages have arrived, or timeout; it returns them.
func (c *Catcher) WaitFor(n int, timeout time.Duration) []Caught {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if m := c.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-c.seen:
		case <-deadline.C:
			return c.Messages()
		}
	}
}

func (c *Catcher) add(m Caught) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse != nil {
		return c.refuse
	}
	c.msgs = append(c.msgs, m)
	if len(c.msgs) > c.cfg.Keep {
		c.msgs = c.msgs[len(c.msgs)-c.cfg.Keep:]
	}
	select {
	case c.seen <- struct{}{}:
	default:
	}
	return nil
}

type catcherSession struct {
	c      *Catcher
	tls    bool
	authed bool
	from   string
	to     []string
}

func (s *catcherSession) needAuth() error {
	if s.c.cfg.User != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *catcherSession) AuthMechanisms() []string {
	if s.c.cfg.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *catcherSession) Auth(mech string) (sasl.Server, error) {
	if s.c.cfg.User == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnsupported
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.c.cfg.User || pass != s.c.cfg.Password {
			return errors.New("invalid user name or password")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *catcherSession) Mail(from string, _ *smtp.MailOptions) error {
	if err := s.needAuth(); err != nil {
		return err
	}
	s.from = from
	return nil
}

func (s *catcherSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.needAuth(); err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *catcherSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Caught{At: time.Now(), From: s.from, To: s.to, Raw: raw, TLS: s.tls, Authed: s.authed}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		dec := new(mime.WordDecoder)
		m.Subject, _ = dec.DecodeHeader(msg.Header.Get("Subject"))
		m.MessageID = strings.Trim(msg.Header.Get("Message-ID"), "<> ")
		body, _ := io.ReadAll(msg.Body)
		m.Body = decodeBody(msg.Header.Get("Content-Transfer-Encoding"), body)
	}
	return s.c.add(m)
}

func (s *catcherSession) Reset()        { s.from, s.to = "", nil }
func (s *catcherSession) Logout() error { return nil }

// decodeBody undoes a text part's transfer encoding (go-mail writes quoted-printable).
func decodeBody(enc string, body []byte) string {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "quoted-printable":
		if b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body))); err == nil {
			return string(b)
		}
	case "base64":
		if b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), "")); err == nil {
			return string(b)
		}
	}
	return string(body)
}
