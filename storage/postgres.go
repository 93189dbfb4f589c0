package storage

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // database/sql over pgx
)

// openPostgres opens the PostgreSQL database at url (postgres://…) and applies pending
// migrations. The pool holds pool_max_conns connections (a URL parameter Paydesk reads and
// removes; 16 by default): each instance of several counts against max_connections.
func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	dsn, pool, err := poolSize(dsn)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("storage: postgres url: %w", err)
	}
	sdb := stdlib.OpenDB(*cfg)
	sdb.SetMaxOpenConns(pool)
	sdb.SetMaxIdleConns(pool)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	changes := &pgChanges{cfg: cfg}
	db := &DB{db: &handle{DB: sdb, engine: Postgres, wrote: changes.bump}, changes: changes, Now: time.Now}
	if err := db.Ping(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	if err := db.ready(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	changes.start()
	return db, nil
}

// poolSize takes Paydesk's pool_max_conns parameter out of a PostgreSQL URL.
func poolSize(dsn string) (string, int, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", 0, fmt.Errorf("storage: postgres url: %w", err)
	}
	q := u.Query()
	n := 16
	if v := q.Get("pool_max_conns"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			return "", 0, fmt.Errorf("storage: postgres url: pool_max_conns must be a number of at least 2, not %q", v)
		}
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
	}
	return u.String(), n, nil
}

// changesChannel is the channel every commit notifies (the schema's statement triggers
// call pg_notify on it; docs/postgres.md).
const changesChannel = "paydesk_changes"

// pgChanges turns commits, of this instance and of every other, into DataVersion's number.
// This instance's own commits count at once (bump, called after each commit): the page
// that follows a refund never comes from before it. Other instances' commits arrive as
// notifications on a connection of its own that LISTENs. While that connection is down,
// every read of the version is a new number, so nothing is kept until it listens again.
type pgChanges struct {
	cfg       *pgx.ConnConfig
	version   atomic.Int64
	listening atomic.Bool
	stop      context.CancelFunc
	done      chan struct{}
	once      sync.Once

	mu      sync.Mutex
	markers map[string]chan struct{} // Settle's markers, closed when heard
}

// bump counts one change.
func (c *pgChanges) bump() { c.version.Add(1) }

// current returns the version, or a new one each time while not listening.
func (c *pgChanges) current() int64 {
	if !c.listening.Load() {
		return c.version.Add(1)
	}
	return c.version.Load()
}

// start listens until close, reconnecting after a lost connection.
func (c *pgChanges) start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop, c.done = cancel, make(chan struct{})
	go func() {
		defer close(c.done)
		wait := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := c.listen(ctx)
			c.listening.Store(false)
			if ctx.Err() != nil {
				return
			}
			slog.Warn("storage: change notifications lost; pages are not kept until they return", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, 5*time.Second)
		}
	}()
}

// listen holds one LISTEN connection until it fails or ctx ends.
func (c *pgChanges) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, c.cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return err
	}
	// Whatever was committed while nobody listened counts as a change.
	c.bump()
	c.listening.Store(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		c.bump()
		if n.Payload != "" {
			c.heard(n.Payload)
		}
	}
}

// heard closes the channel of the Settle marker payload, if one waits for it.
func (c *pgChanges) heard(payload string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.markers[payload]; ok {
		close(ch)
		delete(c.markers, payload)
	}
}

// Settle returns once every change committed before it was called has reached this
// instance's DataVersion. On PostgreSQL, other commits' notifications arrive on their
// own connection a moment after the commit; Settle sends a marker of its own and waits to
// hear it (PostgreSQL delivers notifications in commit order, so everything committed
// earlier has been heard by then). On SQLite the version is read from the file: nothing
// to wait for. Tests use it before asserting that a page is served from the cache.
func (db *DB) Settle(ctx context.Context) error {
	c := db.changes
	if c == nil {
		return nil
	}
	marker := fmt.Sprintf("settle:%p:%d", c, time.Now().UnixNano())
	ch := make(chan struct{})
	c.mu.Lock()
	if c.markers == nil {
		c.markers = map[string]chan struct{}{}
	}
	c.markers[marker] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.markers, marker)
		c.mu.Unlock()
	}()
	if _, err := db.db.ExecContext(ctx, `SELECT pg_notify('`+changesChannel+`', ?)`, marker); err != nil {
		return fmt.Errorf("storage: settle: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops listening.
func (c *pgChanges) close() {
	c.once.Do(func() {
		if c.stop != nil {
			c.stop()
			<-c.done
		}
	})
}

// Listening tells whether this instance hears other instances' commits (PostgreSQL; on
// SQLite always true). Readiness reports it.
func (db *DB) Listening() bool {
	if db.changes == nil {
		return true
	}
	return db.changes.listening.Load()
}
