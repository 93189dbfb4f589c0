package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"paydesk/storage"
)

// Saved views: a named state of the payments list (its search and filters), private to
// the person who saved it or shared with the team (docs/saved-views.md).
//
// Who may do what:
//   - anyone who sees payments saves private views and changes or deletes their own;
//   - sharing a view, and changing, unsharing or deleting a shared one (the four Paydesk
//     ships with included), is for those who act on payments (support and managers): a
//     shared view is in everyone's navigation, so finance reads them without changing them;
//   - a shared view made private becomes the private view of whoever unshared it;
//   - every change to a shared view (and every share or unshare) is in the audit log,
//     with the view before and after.

// Saved view limits.
const (
	// MaxViewName is the longest name of a saved view, in characters.
	MaxViewName = 60
	// maxViewQuery bounds a saved view's query string (the list's own filters are far
	// shorter: a 200-character search and a dozen small values).
	maxViewQuery = 2000
)

// ViewChange is a change to a saved view; nil fields are left as they are.
type ViewChange struct {
	Name   *string
	Query  *string
	Shared *bool
}

// MayChangeView reports whether who may change or delete v: their own private view, or
// a shared one when they act on payments.
func MayChangeView(who Person, v storage.SavedView) bool {
	if v.Shared {
		return who.mayAct()
	}
	return who.Key != "" && v.OwnerKey == who.Key && who.mayView()
}

// MayShareViews reports whether who may share a view with the team.
func MayShareViews(who Person) bool { return who.mayAct() }

// viewName checks and tidies a saved view's name.
func viewName(raw string) (string, error) {
	name := strings.Join(strings.Fields(raw), " ")
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", refuse(ErrInvalid, "Give the view a name.")
	case n > MaxViewName:
		return "", refuse(ErrInvalid, fmt.Sprintf("The name is %d characters long: shorten it to %d at most.", n, MaxViewName))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", refuse(ErrInvalid, "The name holds characters that cannot be shown: type it again.")
	}
	return name, nil
}

func viewQuery(q string) (string, error) {
	if len(q) > maxViewQuery {
		return "", refuse(ErrInvalid, "This list's filters are too long to save: shorten the search.")
	}
	return q, nil
}

// nameTaken words a name already in use.
func nameTaken(name string, shared bool, cause error) error {
	msg := fmt.Sprintf("You already have a view named %q: choose another name.", name)
	if shared {
		msg = fmt.Sprintf("The team already shares a view named %q: choose another name.", name)
	}
	return &Refusal{Reason: ErrConflict, Message: msg, Cause: cause}
}

// SaveView saves the list state query (the list's canonical filter query) as a view
// named name, private to who or shared with the team. Sharing is audited.
func (d *Desk) SaveView(ctx context.Context, who Person, name, query string, shared bool) (storage.SavedView, error) {
	var v storage.SavedView
	if !who.mayView() {
		return v, refuse(ErrNotAllowed, "Only people who see payments save views of them.")
	}
	if shared && !who.mayAct() {
		return v, refuse(ErrNotAllowed, "Only support and managers share views with the team: save it as private.")
	}
	if !shared && who.Key == "" {
		return v, refuse(ErrNotAllowed, "Paydesk cannot tell who you are to keep a private view: sign in again.")
	}
	name, err := viewName(name)
	if err != nil {
		return v, err
	}
	if query, err = viewQuery(query); err != nil {
		return v, err
	}
	v = storage.SavedView{Name: name, OwnerKey: who.Key, OwnerEmail: who.Email, Shared: shared, Query: query, UpdatedBy: who.Email}
	v, err = d.db.CreateSavedView(ctx, v)
	if errors.Is(err, storage.ErrNameTaken) {
		return v, nameTaken(name, shared, err)
	}
	if err != nil {
		return v, &Refusal{Reason: ErrUnavailable, Message: "The view could not be saved. Try again in a moment.", Cause: err}
	}
	if shared {
		d.Audit(ctx, who, "saved_view", 0, fmt.Sprintf("shared a new view %q (%s)", v.Name, queryWords(v.Query)),
			map[string]any{"view": v.ID, "after": viewAudit(v)})
	}
	return v, nil
}

// View returns the saved view id as who may see it: shared, or their own private one
// (another's private view is ErrNotFound, as if it did not exist).
func (d *Desk) View(ctx context.Context, who Person, id int64) (storage.SavedView, error) {
	v, err := d.db.SavedView(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || err == nil && !v.Shared && (who.Key == "" || v.OwnerKey != who.Key) {
		return storage.SavedView{}, refuse(ErrNotFound, "There is no such view: it may have been deleted.")
	}
	if err != nil {
		return v, &Refusal{Reason: ErrUnavailable, Message: "The view could not be loaded. Try again in a moment.", Cause: err}
	}
	return v, nil
}

// ChangeView renames a saved view, replaces its filters, or shares or unshares it, as
// who. A change to a shared view, or one that shares or unshares it, is audited with the
// view before and after.
func (d *Desk) ChangeView(ctx context.Context, who Person, id int64, c ViewChange) (storage.SavedView, error) {
	before, err := d.View(ctx, who, id)
	if err != nil {
		return before, err
	}
	if !MayChangeView(who, before) {
		return before, refuse(ErrNotAllowed, "Only support and managers change the views shared with the team.")
	}
	after := before
	if c.Name != nil {
		if after.Name, err = viewName(*c.Name); err != nil {
			return before, err
		}
	}
	if c.Query != nil {
		if after.Query, err = viewQuery(*c.Query); err != nil {
			return before, err
		}
	}
	if c.Shared != nil && *c.Shared != before.Shared {
		if !who.mayAct() {
			return before, refuse(ErrNotAllowed, "Only support and managers share views with the team.")
		}
		after.Shared = *c.Shared
		if !after.Shared {
			if who.Key == "" {
				return before, refuse(ErrNotAllowed, "Paydesk cannot tell who you are to keep a private view: sign in again.")
			}
			// Made private: it becomes the view of whoever took it out of the team's.
			after.OwnerKey, after.OwnerEmail = who.Key, who.Email
		}
	}
	if after == before {
		return before, nil
	}
	after.UpdatedBy = who.Email
	after, err = d.db.UpdateSavedView(ctx, after)
	switch {
	case errors.Is(err, storage.ErrNameTaken):
		return before, nameTaken(after.Name, after.Shared, err)
	case errors.Is(err, storage.ErrNotFound):
		return before, refuse(ErrNotFound, "There is no such view: it may have been deleted.")
	case err != nil:
		return before, &Refusal{Reason: ErrUnavailable, Message: "The view could not be changed. Try again in a moment.", Cause: err}
	}
	if before.Shared || after.Shared {
		d.Audit(ctx, who, "saved_view", 0, viewChangeWords(before, after),
			map[string]any{"view": before.ID, "before": viewAudit(before), "after": viewAudit(after)})
	}
	return after, nil
}

// DeleteView deletes a saved view as who; deleting a shared one is audited.
func (d *Desk) DeleteView(ctx context.Context, who Person, id int64) (storage.SavedView, error) {
	v, err := d.View(ctx, who, id)
	if err != nil {
		return v, err
	}
	if !MayChangeView(who, v) {
		return v, refuse(ErrNotAllowed, "Only support and managers delete the views shared with the team.")
	}
	err = d.db.DeleteSavedView(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return v, refuse(ErrNotFound, "There is no such view: it may have been deleted.")
	}
	if err != nil {
		return v, &Refusal{Reason: ErrUnavailable, Message: "The view could not be deleted. Try again in a moment.", Cause: err}
	}
	if v.Shared {
		d.Audit(ctx, who, "saved_view", 0, fmt.Sprintf("deleted the shared view %q (%s)", v.Name, queryWords(v.Query)),
			map[string]any{"view": v.ID, "before": viewAudit(v)})
	}
	return v, nil
}

// viewAudit is what the audit entry keeps of a view.
func viewAudit(v storage.SavedView) map[string]any {
	return map[string]any{"name": v.Name, "query": v.Query, "shared": v.Shared, "owner": v.OwnerEmail}
}

// viewChangeWords says what changed, for the audit log's message.
func viewChangeWords(before, after storage.SavedView) string {
	var parts []string
	if before.Name != after.Name {
		parts = append(parts, fmt.Sprintf("renamed it %q", after.Name))
	}
	if before.Query != after.Query {
		parts = append(parts, fmt.Sprintf("changed its filters from %s to %s", queryWords(before.Query), queryWords(after.Query)))
	}
	switch {
	case !before.Shared && after.Shared:
		parts = append(parts, "shared it with the team")
	case before.Shared && !after.Shared:
		parts = append(parts, "made it private")
	}
	return fmt.Sprintf("changed the view %q: %s", before.Name, strings.Join(parts, ", "))
}

// queryWords shows a view's query in a message ("all payments" for none).
func queryWords(q string) string {
	if q == "" {
		return "all payments"
	}
	return "?" + q
}
