package tranzzo

import (
	"fmt"
	"strings"

	"paydesk/providers"
)

// words is how Tranzzo's facts read for people: cards, no expire action, its codes in
// words.
var words = providers.Words{Means: "card", Actions: []providers.Action{providers.ActionCancel, providers.ActionRefund}, Explain: explain}

// codeWords are Tranzzo's status codes in plain words (docs/providers.md).
var codeWords = map[string]string{
	"1000": "purchase or capture succeeded",
	"1002": "authorisation succeeded",
	"6007": "payment cancelled",
}

// methodWords are Tranzzo's transaction methods in plain words, modeWords its modes
// (docs/providers.md).
var (
	methodWords = map[string]string{
		"purchase": "purchase: charged at once",
		"auth":     "authorisation: held on the card, captured later",
		"capture":  "capture of a held authorisation",
		"void":     "void of a held authorisation",
		"refund":   "refund of a payment",
	}
	modeWords = map[string]string{
		"hosted": "on Tranzzo's payment page",
		"direct": "card details sent by the merchant",
	}
)

func explain(field, value string) string {
	switch field {
	case "method":
		return methodWords[value]
	case "mode":
		return modeWords[value]
	case "error_code":
		return codeWords[value]
	case "status":
		switch value {
		case "init":
			return "unpaid"
		case "pending":
			return "processing"
		case "success":
			return "successful"
		case "failure":
			return "failed"
		}
	}
	return ""
}

// what names a payment's main transaction for a reason: in words, the raw method and
// status beside them ("a held authorisation (auth, success)").
func what(s providers.Snapshot) string {
	raw := fmt.Sprintf("(%s, %s)", s.Method, s.RawStatus)
	method := map[string]string{"purchase": "purchase", "auth": "authorisation", "capture": "capture"}[s.Method]
	if method == "" {
		return s.Method + " " + s.RawStatus
	}
	switch s.RawStatus {
	case "init":
		return "an unpaid " + method + " " + raw
	case "pending":
		return article(method) + " " + method + " still processing " + raw
	case "success":
		if s.Method == "auth" {
			return "a held authorisation " + raw
		}
		return "a successful " + method + " " + raw
	case "failure":
		return "a failed " + method + " " + raw
	}
	return s.Method + " " + s.RawStatus
}

// Eligible is Tranzzo's rules (docs/providers.md): "cancel" cancels an unpaid hosted
// payment or voids a held authorisation; there is no expire action; successful purchases
// and captures are refunded up to what is left. providers.Eligible calls it once the
// status is known.
func Eligible(s providers.Snapshot) providers.Eligibility {
	return providers.Eligibility{
		Cancel: cancelDecision(s),
		Expire: providers.Refuse(providers.ActionExpire, "Tranzzo has no expire action; an unpaid hosted payment is cancelled instead."),
		Refund: refundDecision(s),
	}
}

func cancelDecision(s providers.Snapshot) providers.Decision {
	if s.Voided {
		return providers.Refuse(providers.ActionCancel, "This authorisation is already voided.")
	}
	switch {
	case s.RawStatus == "init" && s.Mode == "hosted" && (s.Method == "purchase" || s.Method == "auth"):
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpCancel, Reason: "Tranzzo will cancel the unpaid hosted payment."}
	case s.RawStatus == "success" && s.Method == "auth":
		return providers.Decision{Action: providers.ActionCancel, Allowed: true, Op: providers.OpVoid, Reason: "Tranzzo will void the authorisation; the full held amount goes back to the customer."}
	case s.RawStatus == "init" && s.Mode != "hosted":
		return providers.Refuse(providers.ActionCancel, fmt.Sprintf("Tranzzo cancels only unpaid payments made on its hosted page; this one was not (mode %s).", s.Mode))
	}
	return providers.Refuse(providers.ActionCancel, fmt.Sprintf("Tranzzo cancels only unpaid hosted payments or voids held authorisations; this one is %s.", what(s)))
}

func refundDecision(s providers.Snapshot) providers.Decision {
	if s.Voided {
		// Normalise calls a voided payment cancelled whatever its method says.
		return providers.Refuse(providers.ActionRefund, "Tranzzo refunds only successful purchases or captures; this one is a voided authorisation.")
	}
	if s.RawStatus != "success" || (s.Method != "purchase" && s.Method != "capture") {
		next := ""
		if s.RawStatus == "success" && s.Method == "auth" {
			next = " To give the money back, cancel it: the held amount is released."
		}
		return providers.Refuse(providers.ActionRefund, fmt.Sprintf("Tranzzo refunds only successful purchases or captures; this one is %s.%s", what(s), next))
	}
	return providers.RefundLeft(s, "Tranzzo")
}

// article is "a" or "an" before a word.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}
