// Package demo generates Paydesk's demo payments: realistic, deterministic, spread over
// the three providers and every state each one documents. It decides who paid, how much
// and when; each provider's DemoMaker shapes the payment as its own JSON, so demo data,
// the import format and the simulators share one wire format.
package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"paydesk/providers"
)

var firstNames = []string{
	"Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Manon", "Jules", "Emma", "Arthur",
	"Olivia", "George", "Amelia", "Harry", "Isla", "Oliver", "Ava", "Jack", "Freya", "Noah",
	"Olena", "Andriy", "Iryna", "Taras", "Sofiia", "Dmytro", "Kateryna", "Oleksandr", "Yulia", "Bohdan",
	"Sophie", "Max", "Marie", "Paul", "Mia", "Felix", "Hannah", "Jonas", "Lena", "Elias",
	"Lucía", "Mateo", "Martina", "Hugo", "Valentina", "Diego", "Aiko", "Haruto", "Yui", "Sota",
}

var lastNames = []string{
	"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
	"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Evans",
	"Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk", "Boyko", "Koval", "Oliynyk", "Lysenko",
	"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "García", "Fernández", "López", "Sato", "Tanaka",
}

var domains = []string{"example.com", "example.org", "example.net", "mail.example", "post.example"}

// amountFor picks a plausible amount in minor units for a currency: small baskets most of
// the time, some large ones (so approval thresholds are reached).
func amountFor(r *rand.Rand, currency string) int64 {
	var major int64
	switch x := r.IntN(100); {
	case x < 60:
		major = 5 + r.Int64N(120)
	case x < 90:
		major = 120 + r.Int64N(600)
	default:
		major = 700 + r.Int64N(4000)
	}
	switch currency {
	case "UAH":
		major *= 40
	case "JPY":
		major *= 160
	}
	exp := providers.Exponent(currency)
	minor := major
	for i := 0; i < exp; i++ {
		minor *= 10
	}
	if exp > 0 && r.IntN(3) > 0 { // most amounts have cents
		unit := int64(1)
		for i := 0; i < exp; i++ {
			unit *= 10
		}
		minor += r.Int64N(unit)
	}
	return minor
}

// Options controls a generation run.
type Options struct {
	Count int       // how many payments
	Seed  uint64    // same seed, same payments
	Now   time.Time // payments are spread over the 180 days before Now
	// Makers shape each provider's payments; the providers present share the count.
	Makers map[providers.Name]providers.DemoMaker
}

// Generate calls fn with Count import envelopes (one JSON object each). Each provider's
// variants are cycled in order, so every documented state appears as soon as Count allows.
func Generate(opt Options, fn func(line []byte) error) error {
	if opt.Count < 0 {
		return fmt.Errorf("demo: negative count %d", opt.Count)
	}
	var names []providers.Name
	for _, n := range providers.Names {
		if _, ok := opt.Makers[n]; ok {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("demo: no provider to generate for")
	}
	r := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))
	perProvider := map[providers.Name]int{}
	span := int64(180 * 24 * time.Hour / time.Second)
	for i := 0; i < opt.Count; i++ {
		name := names[i%len(names)]
		maker := opt.Makers[name]
		k := perProvider[name]
		perProvider[name]++
		first := firstNames[r.IntN(len(firstNames))]
		last := lastNames[r.IntN(len(lastNames))]
		currencies := maker.Currencies()
		cur := currencies[r.IntN(len(currencies))]
		// Newer payments have higher sequence numbers; a few share a timestamp to the
		// second, as real traffic does.
		offset := span - span*int64(i)/int64(max(opt.Count, 1)) - r.Int64N(3600)
		spec := providers.DemoSpec{
			Seq:       i,
			Name:      first + " " + last,
			Email:     emailFor(first, last, i, r),
			Amount:    amountFor(r, cur),
			Currency:  cur,
			CreatedAt: opt.Now.Add(-time.Duration(max(offset, 0)) * time.Second).UTC().Truncate(time.Second),
			Variant:   k % maker.Variants(),
			Reference: fmt.Sprintf("ORD-%07d", 100000+i),
			Now:       opt.Now,
		}
		line, err := maker.Envelope(spec)
		if err != nil {
			return fmt.Errorf("demo: %s payment %d: %w", name, i, err)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return nil
}

func emailFor(first, last string, i int, r *rand.Rand) string {
	clean := func(s string) string {
		s = strings.ToLower(s)
		repl := strings.NewReplacer("é", "e", "è", "e", "ü", "u", "í", "i", "ó", "o", "á", "a", "ñ", "n", "ï", "i", "ç", "c")
		return repl.Replace(s)
	}
	local := clean(first) + "." + clean(last)
	if r.IntN(3) == 0 {
		local += fmt.Sprint(i % 97)
	}
	return local + "@" + domains[r.IntN(len(domains))]
}
