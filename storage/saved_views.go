// The saved_views table: named states of the payments list (migration 0022).

package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SavedView is a named state of the payments list: its search and filters as the list's
// canonical query string, private to its owner or shared with the team.
type SavedView struct {
	ID   int64
	Name string
	// OwnerKey is the owner's person key (issuer + subject); OwnerEmail names them. Both
	// are "" for the views Paydesk ships with (Builtin).
	OwnerKey, OwnerEmail string
	// Shared views are everyone's; a private one is its owner's alone.
	Shared bool
	// Query is the list's filter query ("link=none&status=cancelling"), without paging.
	Query     string
	Position  int
	CreatedAt time.Time
	UpdatedAt time.Time
	// UpdatedBy names who changed it last ("Paydesk" for a view as shipped).
	UpdatedBy string
}

// Builtin reports whether v is one of the views Paydesk ships with (no owner).
func (v SavedView) Builtin() bool { return v.OwnerKey == "" && v.OwnerEmail == "" }

// ErrNameTaken is wrapped by a saved view's write that would give it the name of another
// view of the same owner (private) or of another shared view.
var ErrNameTaken = errors.New("name taken")

const savedViewColumns = `id, name, owner_key, owner_email, shared, query, position, created_at, updated_at, updated_by`

func scanSavedView(row scannable) (SavedView, error) {
	var v SavedView
	var shared int
	var created, updated int64
	err := row.Scan(&v.ID, &v.Name, &v.OwnerKey, &v.OwnerEmail, &shared, &v.Query, &v.Position, &created, &updated, &v.UpdatedBy)
	v.Shared, v.CreatedAt, v.UpdatedAt = shared == 1, fromMS(created), fromMS(updated)
	return v, err
}

// SavedViews returns the views ownerKey may use: every shared view and their private
// ones, in position order (the shipped views first). An empty ownerKey gets the shared
// views alone.
func (db *DB) SavedViews(ctx context.Context, ownerKey string) ([]SavedView, error) {
	query := "SELECT " + savedViewColumns + " FROM saved_views WHERE shared = 1"
	args := []any{}
	if ownerKey != "" {
		query += " OR (shared = 0 AND owner_key = ?)"
		args = append(args, ownerKey)
	}
	return queryAll(ctx, db, "saved views", scanSavedView, query+" ORDER BY position, id", args...)
}

// SavedView returns one saved view, or ErrNotFound.
func (db *DB) SavedView(ctx context.Context, id int64) (SavedView, error) {
	return queryOne(ctx, db, fmt.Sprintf("saved view %d", id), scanSavedView, "SELECT "+savedViewColumns+" FROM saved_views WHERE id = ?", id)
}

// CreateSavedView stores a new view after every other (its Position and times are set
// here) and returns it. A name the owner (private) or the team (shared) already uses
// gives ErrNameTaken.
func (db *DB) CreateSavedView(ctx context.Context, v SavedView) (SavedView, error) {
	now := db.Now().UTC().Truncate(time.Millisecond)
	v.CreatedAt, v.UpdatedAt = now, now
	err := db.db.QueryRowContext(ctx, `INSERT INTO saved_views (name, owner_key, owner_email, shared, query, position, created_at, updated_at, updated_by)
		VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(position), 0) + 1 FROM saved_views), ?, ?, ?) RETURNING id, position`,
		v.Name, v.OwnerKey, v.OwnerEmail, boolInt(v.Shared), v.Query, ms(now), ms(now), v.UpdatedBy).Scan(&v.ID, &v.Position)
	if isUniqueConstraint(err) {
		return v, fmt.Errorf("storage: save view %q: %w", v.Name, ErrNameTaken)
	}
	if err != nil {
		return v, fmt.Errorf("storage: save view %q: %w", v.Name, err)
	}
	return v, nil
}

// UpdateSavedView writes v's name, owner, sharing and query over the stored view (its
// UpdatedAt set here), or gives ErrNotFound, or ErrNameTaken for a name in use.
func (db *DB) UpdateSavedView(ctx context.Context, v SavedView) (SavedView, error) {
	v.UpdatedAt = db.Now().UTC().Truncate(time.Millisecond)
	res, err := db.db.ExecContext(ctx, `UPDATE saved_views SET name = ?, owner_key = ?, owner_email = ?, shared = ?, query = ?,
		updated_at = ?, updated_by = ? WHERE id = ?`,
		v.Name, v.OwnerKey, v.OwnerEmail, boolInt(v.Shared), v.Query, ms(v.UpdatedAt), v.UpdatedBy, v.ID)
	if isUniqueConstraint(err) {
		return v, fmt.Errorf("storage: saved view %d: %w", v.ID, ErrNameTaken)
	}
	if err != nil {
		return v, fmt.Errorf("storage: saved view %d: %w", v.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return v, fmt.Errorf("storage: saved view %d: %w", v.ID, ErrNotFound)
	}
	return v, nil
}

// DeleteSavedView removes a saved view, or gives ErrNotFound.
func (db *DB) DeleteSavedView(ctx context.Context, id int64) error {
	res, err := db.db.ExecContext(ctx, "DELETE FROM saved_views WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("storage: delete saved view %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("storage: delete saved view %d: %w", id, ErrNotFound)
	}
	return nil
}
