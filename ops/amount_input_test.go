package ops_test

import (
	"errors"
	"strings"
	"testing"

	"paydesk/ops"
	"paydesk/providers"
)

func TestParseTypedAmount(t *testing.T) {
	ok := []struct {
		in, currency string
		want         int64
	}{
		{"100.50", "EUR", 10050},
		{"100,50", "EUR", 10050}, // the decimal comma of most of Europe
		{"100,5", "EUR", 10050},
		{"0,5", "EUR", 50},
		{",5", "EUR", 50},
		{".50", "EUR", 50},
		{"0,500", "EUR", 50}, // a thousands group never follows a lone 0
		{"250", "EUR", 25000},
		{"1 234,50", "EUR", 123450},
		{"1\u00a0234,50", "EUR", 123450}, // no-break space, as browsers and spreadsheets write it
		{"1\u202f234,50", "EUR", 123450}, // narrow no-break space (French)
		{"1 234.50", "GBP", 123450},
		{"1'234.50", "CHF", 123450}, // Swiss
		{"1’234.50", "CHF", 123450},
		{"1,234.50", "USD", 123450},
		{"1.234,50", "EUR", 123450},
		{"1,234,567.89", "USD", 123456789},
		{"1.234.567,89", "EUR", 123456789},
		{"1,234,567", "USD", 123456700},
		{"1.234.567", "EUR", 123456700},
		{"1 234", "EUR", 123400},
		{"1 234 567", "JPY", 1234567},
		{"12,3456", "CLF", 123456}, // four decimals
		{"1234,567", "BHD", 1234567},
		{"1,234.567", "BHD", 1234567},
		{"12.345,678", "KWD", 12345678},
		{"100,50 EUR", "EUR", 10050},
		{"eur 100,50", "EUR", 10050},
		{"100.50EUR", "EUR", 10050},
		{"  42  ", "EUR", 4200},
		{"-12,34", "EUR", -1234},
		{"−12,34", "EUR", -1234}, // the minus sign character
		{"+12,34", "EUR", 1234},
		{"100,00", "JPY", 100}, // zeros are not decimals
		{"15000", "JPY", 15000},
		{"1,234.00", "JPY", 1234}, // both kinds: unambiguous
	}
	for _, tt := range ok {
		got, err := ops.ParseTypedAmount(tt.in, tt.currency)
		if err != nil || got != tt.want {
			t.Errorf("ParseTypedAmount(%q, %s) = %d, %v; want %d", tt.in, tt.currency, got, err, tt.want)
		}
	}

	refused := []struct {
		in, currency, says string
	}{
		{"", "EUR", "Enter an amount."},
		{"   ", "EUR", "Enter an amount."},
		// Read two ways: 1234 or 1.234. Never guessed.
		{"1,234", "EUR", `"1,234" could mean 1234 or 1.234: write it without a thousands separator, for example 1234 or 1234.00.`},
		{"1.234", "EUR", `"1.234" could mean 1234 or 1.234`},
		{"1.000", "EUR", `could mean 1000 or 1.000`},
		{"12,345", "BHD", `could mean 12345 or 12.345: write it without a thousands separator, for example 12345 or 12345.000.`},
		{"1,000", "JPY", `"1,000" could mean 1000 or 1.000: write it without a thousands separator, for example 1000.`},
		{"-1,234", "EUR", "could mean 1234 or 1.234"},
		{"1234,567", "EUR", `"1234,567" has more decimals than EUR has (2).`},
		{"100,505", "EUR", "could mean"},
		{"0.001", "EUR", "has more decimals than EUR has (2)"},
		{"12,5", "JPY", `"12,5" has decimals, and JPY has none: write a whole amount.`},
		{"1,23,456.78", "INR", "must come in threes"},
		{"12 34", "EUR", "must come in threes"},
		{"1 2345,00", "EUR", "must come in threes"},
		{"1234 567", "EUR", "must come in threes"},
		{"1,234.567,89", "EUR", "mixes points and commas"},
		{"1.234,567.89", "EUR", "mixes points and commas"},
		{"1 234.567.890", "EUR", "mixes thousands separators"},
		{"1'234 567", "EUR", "mixes thousands separators"},
		{"1,5 000", "EUR", "digits after its decimals"},
		{"100,", "EUR", "ends with a separator"},
		{"100.", "EUR", "ends with a separator"},
		{"1,,5", "EUR", "is not an amount"},
		{"1.,5", "EUR", "is not an amount"},
		{"€100", "EUR", "is not an amount"},
		{"100 USD", "EUR", "is not an amount"},
		{"1e2", "EUR", "is not an amount"},
		{"0x10", "EUR", "is not an amount"},
		{"abc", "EUR", "is not an amount"},
		{"-", "EUR", "is not an amount"},
		{"١٢٣", "EUR", "is not an amount"}, // other scripts' digits are not read (yet)
		{"99999999999999999999", "EUR", "is too large"},
		{strings.Repeat("1", 70), "EUR", "too long"},
	}
	for _, tt := range refused {
		got, err := ops.ParseTypedAmount(tt.in, tt.currency)
		if err == nil {
			t.Errorf("ParseTypedAmount(%q, %s) = %d; want it refused", tt.in, tt.currency, got)
			continue
		}
		if !errors.Is(err, providers.ErrAmount) {
			t.Errorf("ParseTypedAmount(%q): %v does not wrap ErrAmount", tt.in, err)
		}
		if msg := ops.AmountMessage(err, tt.currency); !strings.Contains(msg, tt.says) {
			t.Errorf("ParseTypedAmount(%q, %s) says %q; want %q", tt.in, tt.currency, msg, tt.says)
		}
	}
}

// FuzzParseTypedAmount: whatever is typed, the parser answers without panicking; what it
// accepts holds exactly the digits typed (none invented, none lost but zeros), and every
// amount Paydesk writes itself reads back to the same minor units.
func FuzzParseTypedAmount(f *testing.F) {
	for _, s := range []string{"100,50", "1 234,50", "1,234.50", "1.234,50", "1,234", "1'234.50", ",5", "-1", "1e2", "100,50 EUR", "1\u00a0234", "٣"} {
		f.Add(s, int64(0))
	}
	f.Add("", int64(123456789))
	f.Fuzz(func(t *testing.T, s string, minor int64) {
		for _, cur := range []string{"EUR", "JPY", "BHD"} {
			v, err := ops.ParseTypedAmount(s, cur)
			if err != nil {
				msg := ops.AmountMessage(err, cur)
				if msg == "" || strings.Contains(msg, "%!") || !errors.Is(err, providers.ErrAmount) {
					t.Fatalf("ParseTypedAmount(%q, %s): bad error %v", s, cur, err)
				}
			} else {
				typed := strings.TrimLeft(onlyDigits(s), "0")
				abs := v
				if abs < 0 {
					abs = -abs
				}
				read := strings.TrimLeft(onlyDigits(providers.FormatMajor(abs, cur)), "0")
				if strings.TrimRight(typed, "0") != strings.TrimRight(read, "0") {
					t.Fatalf("ParseTypedAmount(%q, %s) = %d: the digits typed (%s) are not the digits read (%s)", s, cur, v, typed, read)
				}
			}
			if minor < 0 || minor > 1e17 {
				continue
			}
			for _, written := range []string{providers.FormatMajor(minor, cur), strings.Replace(providers.FormatMajor(minor, cur), ".", ",", 1), providers.FormatMajor(minor, cur) + " " + cur} {
				got, err := ops.ParseTypedAmount(written, cur)
				if err != nil && cur == "BHD" && strings.Contains(ops.AmountMessage(err, cur), "could mean") {
					continue // "1.234" is 1.234 BHD or 1234 BHD: refused, never guessed
				}
				if err != nil || got != minor {
					t.Fatalf("ParseTypedAmount(%q, %s) = %d, %v; want %d", written, cur, got, err, minor)
				}
			}
		}
	})
}

// onlyDigits keeps the ASCII digits of s.
func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestParseRefundAmount: Paydesk's own "all that is left" is read as it wrote it; an
// amount read two ways is read the small way only when the large one could not be
// refunded anyway; otherwise it is refused.
func TestParseRefundAmount(t *testing.T) {
	for _, tt := range []struct {
		in, currency string
		max, want    int64
		refused      bool
	}{
		{"1.234", "BHD", 1234, 1234, false},       // the form's default, as Paydesk wrote it
		{"100.499", "BHD", 300000, 100499, false}, // 100499 BHD is more than is left: 100.499
		{"100,499", "BHD", 300000, 100499, false},
		{"1.000", "BHD", 5000000, 0, true}, // 1 or 1000 BHD: both could be refunded
		{"1,234", "EUR", 5000, 0, true},    // 1234 EUR is too much, and 1.234 is not euros
		{"1,234", "EUR", 500000, 0, true},  // 1234 EUR could be refunded: asked, not guessed
		{"100,50", "EUR", 500000, 10050, false},
	} {
		got, err := ops.ParseRefundAmount(tt.in, tt.currency, tt.max)
		switch {
		case tt.refused && err == nil:
			t.Errorf("ParseRefundAmount(%q, %s, %d) = %d; want it refused", tt.in, tt.currency, tt.max, got)
		case tt.refused && !strings.Contains(ops.AmountMessage(err, tt.currency), "could mean"):
			t.Errorf("ParseRefundAmount(%q): %v; want the two readings named", tt.in, err)
		case !tt.refused && (err != nil || got != tt.want):
			t.Errorf("ParseRefundAmount(%q, %s, %d) = %d, %v; want %d", tt.in, tt.currency, tt.max, got, err, tt.want)
		}
	}
}
