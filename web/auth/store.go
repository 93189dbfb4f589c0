package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/sessions"

	"paydesk/storage"
)

// SessionRecords is where sessions are kept on the server: the database (*storage.DB
// implements it). Every method takes the SHA-256 of the cookie's id, never the id.
type SessionRecords interface {
	// Session reads one session; storage.ErrNotFound when there is none.
	Session(ctx context.Context, idHash []byte) (storage.Session, error)
	// InsertSession records a new session.
	InsertSession(ctx context.Context, s storage.Session) error
	// UpdateSession rewrites an existing session's data; storage.ErrNotFound when it
	// was ended meanwhile (it is not created again).
	UpdateSession(ctx context.Context, s storage.Session) error
	// TouchSession moves last_seen to seen if it is at or before notAfter, reporting
	// whether it wrote.
	TouchSession(ctx context.Context, idHash []byte, seen, expires, notAfter time.Time) (bool, error)
	// DeleteSession ends one session.
	DeleteSession(ctx context.Context, idHash []byte) (bool, error)
}

// sessionIDBytes is the size of a session id: 256 random bits from crypto/rand.
const sessionIDBytes = 32

// Grace for a database that does not answer (see dbStore.recent).
const (
	graceAfterRead = time.Minute
	maxRecent      = 4096
)

// dbStore is a gorilla sessions.Store that keeps the session on the server: the cookie
// carries only a random id (sessionIDBytes from crypto/rand, base64url), the record (in
// SessionRecords) is found by the id's SHA-256 — someone who reads the database, or a
// backup, learns no id a browser could send. Deleting the record ends the session
// wherever its cookie is, copies included.
//
// Reading is one point query on the primary key per request (gorilla's registry keeps
// the session for the rest of the request) — or none, on SQLite, when the database's data
// version has not moved since this process last read the record (nothing was committed
// since, by any process: an ended session moves it). On PostgreSQL the version hears other
// instances' commits only when their notification arrives, so the record is always read:
// a sign-out on one instance ends the session on every other at once. Nothing else about
// a session lives in one process: the record is the session, and the sign-in flow's
// cookie is sealed with keys every instance shares (PAYDESK_SESSION_HASH_KEY, _BLOCK_KEY). Saving an existing session updates its
// record and sends no cookie; a session without an id (a new one, or one renewed at
// sign-in) gets a new id, a new record and the cookie.
type dbStore struct {
	records SessionRecords
	options *sessions.Options // the cookie's attributes; MaxAge is the absolute expiry
	now     func() time.Time
	// idle and absolute are the expiries, to write expires_at (what the sweep deletes by).
	idle, absolute time.Duration
	// lagging: the data version learns of other instances' commits after them
	// (PostgreSQL's notifications), so it cannot prove a record unchanged: read it always.
	lagging bool

	// recent keeps, for each session read lately, the record and when it was read. It is
	// used only when the database fails to answer (an error, not "no such session"),
	// and only for a record read less than graceAfterRead ago: a database outage then
	// fails pages with the server error page, as it fails every other query, instead of
	// sending everyone to sign in (which cannot work either). Nothing can end a session
	// while the database is down, so this keeps no ended session alive for longer than
	// the minute.
	mu     sync.Mutex
	recent map[string]recentRecord
}

type recentRecord struct {
	rec    storage.Session
	readAt time.Time
	// version is the database's data version the record was read at (-1: unknown). While
	// the version stays the same nothing was committed, so the record is still what the
	// database holds and New uses it without a query.
	version int64
}

// versionReader is what SessionRecords may also offer: *storage.DB's DataVersion.
type versionReader interface {
	DataVersion(ctx context.Context) (int64, error)
}

// sessionMeta is what the store keeps, in the session's values, about the record behind
// it (not written anywhere).
type sessionMeta struct{}

// recordInfo is the record's timestamps and the request's user agent, for Save.
type recordInfo struct {
	signedIn, lastSeen time.Time
}

// Get returns the named session of this request, as gorilla's registry keeps them.
func (st *dbStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(st, name)
}

// New reads the session whose id the request's cookie carries. A missing, malformed or
// unknown id (ended, expired and swept, forged) reads as a new, empty session; a
// database error too, with the error, unless the grace above applies.
func (st *dbStore) New(r *http.Request, name string) (*sessions.Session, error) {
	s := sessions.NewSession(st, name)
	opts := *st.options
	s.Options = &opts
	s.IsNew = true
	c, err := r.Cookie(name)
	if err != nil || !validSessionID(c.Value) {
		return s, nil
	}
	h := hashSessionID(c.Value)
	version := int64(-1)
	if vr, ok := st.records.(versionReader); ok && !st.lagging {
		if v, err := vr.DataVersion(r.Context()); err == nil {
			version = v
		}
	}
	rec, ok := st.unchanged(h, version)
	if !ok {
		var err error
		rec, err = st.records.Session(r.Context(), h)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			st.forget(h)
			return s, nil
		case err != nil:
			if rec, ok = st.graceRecord(h); !ok {
				return s, err
			}
		default:
			st.remember(h, rec, version)
		}
	}
	var d sessionData
	if json.Unmarshal(rec.Data, &d) != nil {
		return s, nil
	}
	// The record's columns are the truth for its times: a renewal moves only them.
	d.SignedInAt, d.LastSeen = rec.SignedInAt.Unix(), rec.LastSeen.Unix()
	s.ID = c.Value
	s.IsNew = false
	s.Values[decodedKey{}] = d
	s.Values[sessionMeta{}] = recordInfo{signedIn: rec.SignedInAt, lastSeen: rec.LastSeen}
	return s, nil
}

// Save writes the session: with a negative MaxAge it deletes the record and the cookie;
// without an id it creates a record under a new id and sends the cookie; otherwise it
// updates the record (never creating it again: a session ended meanwhile stays ended,
// and Save returns storage.ErrNotFound).
func (st *dbStore) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	ctx := r.Context()
	if s.Options != nil && s.Options.MaxAge < 0 {
		var err error
		if s.ID != "" {
			h := hashSessionID(s.ID)
			st.forget(h)
			_, err = st.records.DeleteSession(ctx, h)
		}
		s.ID = ""
		http.SetCookie(w, sessions.NewCookie(s.Name(), "", s.Options))
		return err
	}
	d, _ := s.Values[decodedKey{}].(sessionData)
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	now := st.now()
	rec := storage.Session{
		Subject: d.Subject, Email: d.Email, Name: d.Name,
		SignedInAt: unixOr(d.SignedInAt, now), LastSeen: unixOr(d.LastSeen, now), Data: raw,
	}
	rec.ExpiresAt = st.expiry(rec.SignedInAt, rec.LastSeen)
	if s.ID != "" {
		rec.IDHash = hashSessionID(s.ID)
		st.forget(rec.IDHash)
		return st.records.UpdateSession(ctx, rec)
	}
	id := randomString(sessionIDBytes)
	rec.IDHash = hashSessionID(id)
	rec.UserAgent = r.UserAgent()
	if err := st.records.InsertSession(ctx, rec); err != nil {
		return err
	}
	s.ID = id
	s.IsNew = false
	http.SetCookie(w, sessions.NewCookie(s.Name(), id, s.Options))
	return nil
}

// touch renews the session's idle expiry at now if it was last renewed at least
// touchEvery ago, with one conditional write (concurrent requests of the session renew
// it once). It reports whether this request wrote.
func (st *dbStore) touch(ctx context.Context, s *sessions.Session, now time.Time) (bool, error) {
	if s.ID == "" {
		return false, nil
	}
	info, _ := s.Values[sessionMeta{}].(recordInfo)
	h := hashSessionID(s.ID)
	ok, err := st.records.TouchSession(ctx, h, now, st.expiry(info.signedIn, now), now.Add(-touchEvery))
	if ok {
		st.forget(h)
	}
	return ok, err
}

// expiry is when a session signed in at signedIn and last seen at seen expires: the
// earlier of the idle and the absolute expiry.
func (st *dbStore) expiry(signedIn, seen time.Time) time.Time {
	idle, abs := seen.Add(st.idle), signedIn.Add(st.absolute)
	if abs.Before(idle) {
		return abs
	}
	return idle
}

func (st *dbStore) remember(h []byte, rec storage.Session, version int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k := range st.recent {
		if len(st.recent) < maxRecent {
			break
		}
		delete(st.recent, k) // an arbitrary one: map order
	}
	st.recent[string(h)] = recentRecord{rec: rec, readAt: st.now(), version: version}
}

// unchanged returns the record read for h at data version version, when one was and
// the version is known: nothing was committed since, so it is what a query would return.
func (st *dbStore) unchanged(h []byte, version int64) (storage.Session, bool) {
	if version < 0 {
		return storage.Session{}, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.recent[string(h)]
	if !ok || r.version != version {
		return storage.Session{}, false
	}
	return r.rec, true
}

func (st *dbStore) forget(h []byte) {
	st.mu.Lock()
	delete(st.recent, string(h))
	st.mu.Unlock()
}

func (st *dbStore) graceRecord(h []byte) (storage.Session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.recent[string(h)]
	if !ok || st.now().Sub(r.readAt) > graceAfterRead {
		return storage.Session{}, false
	}
	return r.rec, true
}

// validSessionID reports whether v looks like an id this store issued, before any query.
func validSessionID(v string) bool {
	if len(v) != base64.RawURLEncoding.EncodedLen(sessionIDBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// hashSessionID is what the database keeps of a session id.
func hashSessionID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// unixOr is Unix seconds s as a time, or def when s is 0.
func unixOr(s int64, def time.Time) time.Time {
	if s == 0 {
		return def
	}
	return time.Unix(s, 0)
}

// RecordSessionID returns the session id (User.SessionID) a session record's data holds,
// "" when it holds none: the managers' page uses it to mark the session it is seen in.
func RecordSessionID(data []byte) string {
	var d struct {
		SID string `json:"sid"`
	}
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	return d.SID
}

// SessionTimeouts returns the idle and the absolute expiry of sessions (for pages that
// say when a session ends by itself).
func (a *Auth) SessionTimeouts() (idle, absolute time.Duration) {
	return a.cfg.IdleTimeout, a.cfg.AbsoluteTimeout
}
