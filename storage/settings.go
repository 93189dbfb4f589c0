// The settings table: small values the process keeps across restarts (the demo's
// generated session keys, its seed).

package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Setting returns a stored setting, or ErrNotFound.
func (db *DB) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := db.db.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("storage: setting %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting stores a setting, replacing any previous value.
func (db *DB) SetSetting(ctx context.Context, key string, value []byte) error {
	_, err := db.db.ExecContext(ctx, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	if err != nil {
		return fmt.Errorf("storage: set setting %s: %w", key, err)
	}
	return nil
}
