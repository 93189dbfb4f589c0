package ops

import (
	"sync"
	"time"

	"paydesk/providers"
)

// payerReturnReuse is how long the provider's answer read on a payer's return is reused
// for the next returns on the same link: within it they read nothing and write nothing,
// so reloading the return page (or a script doing so 200 times) costs one provider read.
const payerReturnReuse = time.Minute

// payerReturns remembers, per payer link, the last provider read a return made and the
// last note written for it. It lives in this process's memory (each instance reads at
// most once a minute per link) and forgets links not returned to for two minutes.
type payerReturns struct {
	mu    sync.Mutex
	links map[int64]*payerReturnMemo
	swept time.Time
}

// payerReturnMemo is one link's last read. Its mutex is held for a whole return, so
// concurrent returns on one link wait for the first one's read and reuse it.
type payerReturnMemo struct {
	mu      sync.Mutex
	used    time.Time        // the last return on the link
	readAt  time.Time        // the last provider read (zero: none yet)
	status  providers.Status // what it found
	outcome PayerOutcome     // and how it ended (checking, confirmed, received, not_cancelled)
	noted   time.Time        // the last timeline note about a return that read nothing
	// renewedAt is when a payer going back to confirm last got a fresh scoped token.
	renewedAt time.Time
}

// lock returns the link's memo, locked; the caller unlocks it.
func (r *payerReturns) lock(linkID int64, now time.Time) *payerReturnMemo {
	r.mu.Lock()
	if r.links == nil {
		r.links = map[int64]*payerReturnMemo{}
	}
	if now.Sub(r.swept) >= time.Minute || now.Before(r.swept) {
		r.swept = now
		for id, m := range r.links {
			if now.Sub(m.used) >= 2*payerReturnReuse {
				delete(r.links, id)
			}
		}
	}
	m := r.links[linkID]
	if m == nil {
		m = &payerReturnMemo{}
		r.links[linkID] = m
	}
	m.used = now
	r.mu.Unlock()
	m.mu.Lock()
	return m
}

// fresh reports whether the memo's read may be reused at now.
func (m *payerReturnMemo) fresh(now time.Time) bool {
	return !m.readAt.IsZero() && now.Sub(m.readAt) < payerReturnReuse && !now.Before(m.readAt)
}

// noteDue reports whether a return that reads nothing may leave a note at now (one a
// minute per link), and if so counts it as left.
func (m *payerReturnMemo) noteDue(now time.Time) bool {
	if !m.noted.IsZero() && now.Sub(m.noted) < payerReturnReuse && !now.Before(m.noted) {
		return false
	}
	m.noted = now
	return true
}

// told is what the payer sees after a read that found status and ended in outcome: their
// own browser saying they stopped (error=cancelled) only changes the page they see — "not
// confirmed" — while the payment still waits; it never changes the link.
func told(outcome PayerOutcome, status providers.Status, ret PayerReturn) PayerOutcome {
	if outcome == PayerReceived && status == providers.StatusCancelling && ret.Error == "cancelled" {
		return PayerAbandoned
	}
	return outcome
}
