package ops

import (
	"context"
	"errors"
	"fmt"

	"paydesk/storage"
)

// VerdictConflict: the webhook links two payments Paydesk holds as separate rows (a
// session and its payment stored apart). Paydesk never merges rows by itself, so nothing
// is changed; the anomaly is recorded on both payments and the webhook is answered 200:
// sent again, it could never apply.
const VerdictConflict = "conflict"

// linkedPayments reports whether err is storage's refusal of an answer linking two stored
// payments and, when it is, records the anomaly on both (actor brought the answer). A
// non-nil error means the anomaly could not be recorded.
func (d *Desk) linkedPayments(ctx context.Context, err error, actor string) (*storage.TwoPaymentsError, error) {
	var two *storage.TwoPaymentsError
	if !errors.As(err, &two) {
		return nil, nil
	}
	if rerr := d.db.RecordLinkedPayments(ctx, two, actor); rerr != nil {
		return two, rerr
	}
	return two, nil
}

// linkedDetail is a webhook's recorded detail when it links two payments.
func linkedDetail(two *storage.TwoPaymentsError) string {
	return fmt.Sprintf("links %s and %s (%s), which Paydesk holds as two separate payments: nothing was merged or changed; "+
		"an anomaly is recorded on both, check both with %s", two.First.PublicID, two.Second.PublicID, two.IDs(), two.First.Provider.Label())
}

// linkedMessage says to the person refreshing p that the provider linked it with another
// payment Paydesk holds separately.
func linkedMessage(p storage.Payment, two *storage.TwoPaymentsError) string {
	other := two.First.PublicID
	if other == p.PublicID {
		other = two.Second.PublicID
	}
	who := p.Provider.Label()
	return fmt.Sprintf("%s says this payment and %s are one payment (%s), but Paydesk holds them as two separate payments, so nothing was changed. "+
		"Paydesk does not merge them by itself: the money and the history stay on both. Check both with %s before acting on either; "+
		"both payments show this as a provider anomaly.", who, other, two.IDs(), who)
}
