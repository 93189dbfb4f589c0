-- One signed state per cancellation, short payer links, what the payer's browser said
-- (docs/states.md, payer link).
--
-- state_nonce is the nonce inside the signed state a link's webview carries: the
-- cancellation's, shared by every link made for it, so a payer coming back with the state
-- sent with the cancel request finds the cancellation's current link. Links made before
-- this migration carried their own nonce, which becomes their state nonce.
-- token is the random part of the short Paydesk address (/p/{token}) shared with the payer
-- (NULL for links made before: they are shared by the provider's address as before).
-- payer_said is what the payer's browser last brought back (id_payment, bank_message…),
-- shown to staff and never trusted.
-- actions.payer_nonce is the nonce of the state sent with a cancel request, kept so a link
-- made later (the first one failed) carries the same state.
-- payer_links and actions are small beside payments; the ALTERs with constant defaults are
-- instant and the backfills touch only those tables.
ALTER TABLE payer_links ADD COLUMN state_nonce TEXT NOT NULL DEFAULT '';
ALTER TABLE payer_links ADD COLUMN token TEXT;
ALTER TABLE payer_links ADD COLUMN payer_said TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN payer_nonce TEXT NOT NULL DEFAULT '';
UPDATE payer_links SET state_nonce = nonce;
UPDATE actions SET payer_nonce = (SELECT l.nonce FROM payer_links l WHERE l.action_id = actions.id ORDER BY l.id LIMIT 1)
 WHERE id IN (SELECT action_id FROM payer_links WHERE action_id IS NOT NULL);
CREATE INDEX payer_links_state_nonce ON payer_links (state_nonce);
CREATE UNIQUE INDEX payer_links_token ON payer_links (token) WHERE token IS NOT NULL;
