package views

// FiltersSet reports whether a filter besides the search box is set: the list's
// "Filters" disclosure then starts open on a phone, so a person sees what narrows the list.
func (v PaymentsList) FiltersSet() bool {
	return v.Provider != "" || v.Status != "" || v.Currency != "" || v.Min != "" || v.Max != "" ||
		v.From != "" || v.To != "" || v.Attention || v.Anomaly || v.Account != "" || v.Refund != "" || v.Refunded != ""
}
