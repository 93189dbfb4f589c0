-- Any registered provider may be stored: the payments table no longer lists the provider
-- names in a CHECK (0001 did), so adding a provider is its own package and one line of
-- wiring, with no migration (docs/architecture.md, "Adding a fourth provider"). Which
-- names are valid is the registry's to say (providers.Register), checked before any
-- write (storage.ErrInvalidSnapshot).
--
-- SQLite cannot drop a constraint with ALTER TABLE, and rebuilding a table of a million
-- payments (with its indexes, its full-text index and their triggers) would take minutes.
-- Removing a CHECK changes nothing stored on disk, so SQLite documents doing it by
-- editing the table's CREATE statement in sqlite_schema (sqlite.org/lang_altertable.html,
-- "Making other kinds of table schema changes"). The constraint is cut from its opening
-- " CHECK (provider IN (" to the "))" that closes it; writable_schema=RESET makes this
-- connection read the schema again, and the table created and dropped after it moves
-- schema_version, so that every other connection does too.
-- A test checks the constraint is gone and the database intact.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = substr(sql, 1, instr(sql, ' CHECK (provider IN (') - 1)
          || substr(sql, instr(sql, ' CHECK (provider IN (')
                         + instr(substr(sql, instr(sql, ' CHECK (provider IN (')), '))') + 1)
 WHERE type = 'table' AND name = 'payments' AND instr(sql, ' CHECK (provider IN (') > 0;
PRAGMA writable_schema = RESET;
CREATE TABLE schema_reload (x INTEGER);
DROP TABLE schema_reload;
