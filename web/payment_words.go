package web

import (
	"strings"

	"paydesk/ops"
	"paydesk/providers"
	"paydesk/storage"
	"paydesk/views"
)

// amountRows labels a payment's amounts by what they are, and shows only those that
// apply: the order amount always; what is held on an authorisation not captured; what
// was captured, refunded and is still refundable once money was taken (refundable only
// where the provider refunds); what is in flight or awaiting approval.
func amountRows(p storage.Payment, st ops.PaymentState) []views.AmountRow {
	money := func(v int64) string { return providers.FormatMoney(v, p.Currency) }
	rows := []views.AmountRow{{Label: "Amount", Value: money(p.Amount), TestID: "amount"}}
	switch {
	case p.Status == providers.StatusAuthorized:
		rows = append(rows, views.AmountRow{Label: "Authorised", Value: money(p.Amount), TestID: "authorised",
			Note: "held on the customer's card, not captured: nothing was taken yet"})
	case p.Voided:
		rows = append(rows, views.AmountRow{Label: "Authorised", Value: money(p.Amount), TestID: "authorised",
			Note: "voided: the hold was released, nothing was taken"})
	}
	if p.Captured > 0 {
		rows = append(rows, views.AmountRow{Label: "Captured", Value: money(p.Captured), TestID: "captured"})
	}
	if st.Balance.Succeeded > 0 {
		rows = append(rows, views.AmountRow{Label: "Refunded", Value: money(st.Balance.Succeeded), TestID: "refunded"})
	}
	if p.Captured > 0 && p.Provider.Has(providers.ActionRefund) {
		rows = append(rows, views.AmountRow{Label: "Refundable", Value: money(st.Refundable()), TestID: "refundable"})
	}
	if reserved := st.Balance.InFlight + st.Balance.Reserved; reserved > 0 {
		rows = append(rows, views.AmountRow{Label: "In flight or awaiting approval", Value: money(reserved), TestID: "reserved"})
	}
	return rows
}

// cancellingNextStep tells staff what to do with a cancellation waiting for the payer:
// send the live link, or make one first when there is none.
func cancellingNextStep(links []storage.PayerLink) string {
	for _, l := range links {
		if l.State == "active" || l.State == "abandoned" {
			return "The payer must confirm the cancellation: send them the payer link below (copy it, or the ready message). If it no longer works for them, make a new one."
		}
	}
	return "The payer must confirm the cancellation, and there is no live payer link: make a payer link below (“Make a new link”), then send it to them."
}

// journalKindWords names a provider call for people.
func journalKindWords(kind string) string {
	switch kind {
	case "cancel":
		return "Cancel"
	case "void":
		return "Void (cancel a held authorisation)"
	case "expire":
		return "Expire session"
	case "refund":
		return "Refund"
	}
	return providers.SplitCode(kind)
}

// journalStateWords says a provider call's state in words (docs/states.md).
func journalStateWords(state string) string {
	switch state {
	case "pending":
		return "in progress"
	case "needs_payer":
		return "waiting for the payer"
	case "unknown":
		return "outcome unknown"
	}
	return providers.SplitCode(state)
}

// refundStatusWords says a refund's status in words.
func refundStatusWords(status string) string {
	switch status {
	case "awaiting_approval":
		return "awaiting a manager's approval"
	case "pending":
		return "in progress"
	case "unknown":
		return "outcome unknown"
	}
	return strings.ReplaceAll(status, "_", " ")
}

// payerLinkStateWords says a payer link's state in words (docs/states.md, "Payer link").
func payerLinkStateWords(state string) string {
	switch state {
	case "active":
		return "waiting for the payer"
	case "abandoned":
		return "the payer stopped before confirming"
	case "superseded":
		return "replaced by a newer link"
	case "expired":
		return "expired before the payer confirmed"
	case "confirmed":
		return "confirmed by the payer"
	}
	return providers.SplitCode(state)
}
