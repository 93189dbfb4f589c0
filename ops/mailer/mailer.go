// Package mailer sends Paydesk's e-mail through an SMTP server (github.com/wneessen/go-mail)
// configured by one URL, PAYDESK_SMTP_URL (docs/email.md):
//
//	smtp://user:pass@host:587?starttls=1   STARTTLS required before anything is sent
//	smtps://user:pass@host:465             TLS from the first byte (implicit TLS)
//	smtp://host:25                         plain, no TLS (a relay on the same host or network)
//
// With a user in the URL the client authenticates (PLAIN, or ?auth=login / cram-md5 /
// scram-sha-256); credentials are refused over a plain connection to another host.
package mailer

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"paydesk/storage"
)

// Security is how the connection to the SMTP server is protected.
type Security string

// The three ways PAYDESK_SMTP_URL can say.
const (
	Plain    Security = "plain"
	StartTLS Security = "starttls"
	TLS      Security = "tls"
)

// Config is a parsed PAYDESK_SMTP_URL, with the sender's address.
type Config struct {
	Host     string
	Port     int
	Security Security
	User     string
	Password string
	// Auth is the SASL mechanism ("plain" by default when User is set).
	Auth string
	// From is the envelope and header sender (PAYDESK_MAIL_FROM).
	From string
	// TLS, when set, is the TLS configuration (tests trust their own certificate with it).
	TLS *tls.Config
	// Timeout bounds one connection (default 30 s).
	Timeout time.Duration
}

// Parse reads an SMTP URL and the sender's address, saying what is wrong in words.
func Parse(rawURL, from string) (Config, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Host == "" {
		return Config{}, fmt.Errorf("%q is not an SMTP URL: write smtp://user:password@host:587?starttls=1, smtps://user:password@host:465 or smtp://host:25", redact(rawURL))
	}
	c := Config{Host: u.Hostname(), Timeout: 30 * time.Second}
	q := u.Query()
	switch u.Scheme {
	case "smtp":
		c.Security, c.Port = Plain, 25
		switch q.Get("starttls") {
		case "", "0", "false":
		case "1", "true":
			c.Security, c.Port = StartTLS, 587
		default:
			return Config{}, fmt.Errorf("starttls=%q: write starttls=1 (or leave it out for no TLS)", q.Get("starttls"))
		}
	case "smtps":
		c.Security, c.Port = TLS, 465
	default:
		return Config{}, fmt.Errorf("the scheme %q is not smtp or smtps", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port <= 0 || c.Port > 65535 {
			return Config{}, fmt.Errorf("the port %q is not a port number", p)
		}
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.User == "" {
			return Config{}, errors.New("a password without a user name")
		}
	}
	c.Auth = strings.ToLower(q.Get("auth"))
	switch c.Auth {
	case "":
		if c.User != "" {
			c.Auth = "plain"
		}
	case "plain", "login", "cram-md5", "scram-sha-256":
		if c.User == "" {
			return Config{}, fmt.Errorf("auth=%s needs a user and password in the URL", c.Auth)
		}
	default:
		return Config{}, fmt.Errorf("auth=%q: write plain, login, cram-md5 or scram-sha-256", c.Auth)
	}
	if c.User != "" && c.Security == Plain && !loopback(c.Host) {
		return Config{}, fmt.Errorf("the password would travel in clear to %s: add ?starttls=1 or use smtps://", c.Host)
	}
	for k := range q {
		if k != "starttls" && k != "auth" {
			return Config{}, fmt.Errorf("unknown parameter %q (only starttls and auth)", k)
		}
	}
	a, err := mail.ParseAddress(strings.TrimSpace(from))
	if err != nil || strings.ContainsAny(a.Address, "\r\n") {
		return Config{}, fmt.Errorf("the sender %q (PAYDESK_MAIL_FROM) is not an e-mail address", from)
	}
	c.From = a.String()
	return c, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact hides the password of an SMTP URL in messages.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unreadable URL)"
}

// String is the configuration fit for a log: no password.
func (c Config) String() string {
	user := ""
	if c.User != "" {
		user = c.User + "@"
	}
	return fmt.Sprintf("%s%s:%d (%s)", user, c.Host, c.Port, c.Security)
}

// Sender sends messages of the outbox with one Config; it implements ops.MailSender.
type Sender struct{ cfg Config }

// New returns a Sender.
func New(c Config) *Sender {
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	return &Sender{cfg: c}
}

// MessageID is the Message-ID a message of the outbox always carries: made from its key,
// so that a message sent twice (docs/email.md) is recognisably the same.
func MessageID(key, from string) string {
	domain := "paydesk.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16]) + "@" + domain
}

// Send sends one message: one connection, the message, QUIT.
func (s *Sender) Send(ctx context.Context, m storage.Mail) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("sender %q: %w", s.cfg.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(MessageID(m.Key, s.cfg.From))
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader("X-Paydesk-Kind", m.Kind)
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)

	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout)}
	switch s.cfg.Security {
	case TLS:
		opts = append(opts, gomail.WithSSL())
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.TLS != nil {
		opts = append(opts, gomail.WithTLSConfig(s.cfg.TLS))
	}
	if s.cfg.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthType(strings.ToUpper(s.cfg.Auth))),
			gomail.WithUsername(s.cfg.User), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", s.cfg, err)
	}
	return nil
}

// String names the server, without the password (the outbox page shows it).
func (s *Sender) String() string { return s.cfg.String() }
