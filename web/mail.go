package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"paydesk/ops"
	"paydesk/ops/mailer"
	"paydesk/storage"
	"paydesk/views"
	"paydesk/web/auth"
)

// E-mail's pages (docs/email.md): the managers' outbox, the person's choice of e-mails on
// /settings, e-mailing a payer link, and the demo's caught mail.

// RecordSignIn is auth.Config.OnSignIn: it records who signed in — their e-mail and
// whether they are a manager, whom approval requests go to. A failure is logged: the
// sign-in goes on.
func RecordSignIn(db *storage.DB, log *slog.Logger) func(context.Context, auth.User) {
	return func(ctx context.Context, u auth.User) {
		if u.Key == "" {
			return
		}
		if err := db.RecordPerson(ctx, u.Key, u.Email, u.Name, u.Has(auth.RoleManager)); err != nil {
			log.Error("record person", "err", err)
		}
	}
}

// MailBox is what the demo's /mail page reads: the messages its SMTP catcher received
// (*mailer.Catcher).
type MailBox interface {
	Messages() []mailer.Caught
	Addr() string
}

// outboxStates are the states /outbox may list.
var outboxStates = []string{storage.MailQueued, storage.MailSending, storage.MailFailed, storage.MailSent}

// outboxPage lists the messages not sent yet (or of one state), with the last error and
// "Retry now" on failed ones.
func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request) {
	f := storage.OutboxFilter{States: []string{storage.MailQueued, storage.MailSending, storage.MailFailed}, Limit: 200}
	state := r.URL.Query().Get("state")
	if slices.Contains(outboxStates, state) {
		f.States = []string{state}
	} else {
		state = ""
	}
	list, err := s.db.Outbox(r.Context(), f)
	if err == nil {
		var counts map[string]int
		if counts, err = s.db.OutboxCounts(r.Context()); err == nil {
			v := views.Outbox{Enabled: s.desk.MailEnabled(), Counts: counts, Filter: state}
			if v.Enabled {
				v.Server = fmt.Sprint(s.desk.MailConfig().Sender)
			}
			for _, m := range list {
				v.Mails = append(v.Mails, views.OutboxMail{ID: strconv.FormatInt(m.ID, 10), Kind: m.Kind, To: m.To, Subject: m.Subject,
					State: m.State, Attempts: m.Attempts, CreatedAt: m.CreatedAt, NextAttempt: m.NextAttemptAt, SentAt: m.SentAt,
					LastError: m.LastError, Retry: m.State == storage.MailFailed})
			}
			s.render(w, r, s.page(w, r, "Outbox", "outbox"), views.OutboxView(v))
			return
		}
	}
	s.fail(w, r, http.StatusInternalServerError, "Outbox unavailable", "The outbox could not be read. Try again in a moment.", err)
}

// outboxRetry queues a failed message again (audited by the Desk).
func (s *Server) outboxRetry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return
	}
	res, err := s.desk.RetryMail(r.Context(), s.person(r), id)
	if err != nil {
		s.refused(w, r, err, "/outbox")
		return
	}
	s.flash(w, r, res.Tone, res.Message)
	http.Redirect(w, r, "/outbox?state=queued", http.StatusSeeOther)
}

// mailSettings fills the settings page's e-mail section for the signed-in person.
func (s *Server) mailSettings(r *http.Request) views.MailSettings {
	u := userFrom(r.Context())
	v := views.MailSettings{Enabled: s.desk.MailEnabled(), Manager: u.Has(auth.RoleManager)}
	if strings.Contains(u.Email, "@") {
		v.Address = u.Email
	}
	p, err := s.db.MailPrefsOf(r.Context(), u.Key)
	if err != nil {
		s.log.Error("mail preferences", append(logAttrs(r), "err", err)...)
		p = storage.AllMail
	}
	v.Approvals, v.Decisions, v.PayerLinks = p.Approvals, p.Decisions, p.PayerLinks
	return v
}

// settingsMail stores the person's choice of e-mails (checkboxes: absent is off).
func (s *Server) settingsMail(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("sent") != "1" {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again; nothing was changed.", err)
		return
	}
	u := userFrom(r.Context())
	if u.Key == "" {
		s.flash(w, r, "error", "Sign in again to choose your e-mails: this session is older than Paydesk's person keys. Nothing was changed.")
		http.Redirect(w, r, "/settings", http.StatusSeeOther)
		return
	}
	on := func(k string) bool { return r.PostForm.Get(k) == "1" }
	p := storage.MailPrefs{Approvals: on("approvals"), Decisions: on("decisions"), PayerLinks: on("payer_links")}
	if err := s.db.SetMailPrefs(r.Context(), u.Key, p); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Not saved", "Your choice of e-mails could not be saved. Try again.", err)
		return
	}
	s.audit(r, "settings", 0, fmt.Sprintf("e-mail choices: approval requests %s, decisions %s, payer-link confirmations %s", onOff(p.Approvals), onOff(p.Decisions), onOff(p.PayerLinks)), nil)
	s.flash(w, r, "success", "Your choice of e-mails is saved.")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// payerLinkEmail e-mails a live payer link to the payer, with the text as edited.
func (s *Server) payerLinkEmail(w http.ResponseWriter, r *http.Request) {
	p, ok := s.postedPayment(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("link"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return
	}
	back := "/payments/" + p.PublicID
	res, err := s.desk.EmailPayerLink(r.Context(), s.person(r), p, ops.PayerMailArgs{LinkID: id, To: r.PostForm.Get("to"), Text: r.PostForm.Get("text")})
	if err != nil {
		s.refused(w, r, err, back)
		return
	}
	s.flash(w, r, res.Tone, res.Message)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// mailPage is the demo's caught e-mail, newest first (404 outside the demo).
func (s *Server) mailPage(w http.ResponseWriter, r *http.Request) {
	if s.cfg.MailBox == nil {
		s.notFound(w, r)
		return
	}
	v := views.MailBox{Server: s.cfg.MailBox.Addr()}
	msgs := s.cfg.MailBox.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		v.Mails = append(v.Mails, views.CaughtMail{At: m.At, From: m.From, To: strings.Join(m.To, ", "), Subject: m.Subject,
			MessageID: m.MessageID, Body: m.Body})
	}
	s.render(w, r, s.page(w, r, "Demo mail", "mail"), views.MailBoxView(v))
}

// outboxCollector reports the outbox's messages by state at each scrape.
type outboxCollector struct {
	db   *storage.DB
	desc *prometheus.Desc
}

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.db.OutboxCounts(ctx)
	if err != nil {
		return
	}
	for _, st := range outboxStates {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), st)
	}
}
