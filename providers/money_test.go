package providers_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"paydesk/providers"
)

func TestExponent(t *testing.T) {
	tests := []struct {
		currency string
		want     int
	}{
		{"EUR", 2},
		{"USD", 2},
		{"UAH", 2},
		{"JPY", 0},
		{"KRW", 0},
		{"BHD", 3},
		{"KWD", 3},
		{"XTS", 2},
		{"CLF", 4},
		{"eur", 2},
		{"jpy", 0},
		{"bhd", 3},
		{"Jpy", 0},
		{"", 2},
		{"ZZZ", 2},
	}
	for _, tt := range tests {
		if got := providers.Exponent(tt.currency); got != tt.want {
			t.Errorf("Exponent(%q) = %d; want %d", tt.currency, got, tt.want)
		}
	}
}

func TestValidCurrency(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"EUR", true},
		{"XTS", true},
		{"eur", false},
		{"EU", false},
		{"EURO", false},
		{"", false},
		{"E1R", false},
		{"ÉUR", false},
	}
	for _, tt := range tests {
		if got := providers.ValidCurrency(tt.in); got != tt.want {
			t.Errorf("ValidCurrency(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

// parseMajorTests is shared with FuzzParseMajor as its seed corpus.
var parseMajorTests = []struct {
	in       string
	currency string
	want     int64
	wantErr  bool
}{
	{"50.90", "EUR", 5090, false},
	{"50.9", "EUR", 5090, false},
	{"250", "EUR", 25000, false},
	{"50.5", "EUR", 5050, false},
	{"50.50", "EUR", 5050, false},
	{"100.00", "XTS", 10000, false},
	{"0.01", "EUR", 1, false},
	{"0", "EUR", 0, false},
	{"0.00", "EUR", 0, false},
	{"-0", "EUR", 0, false},
	{"007.50", "EUR", 750, false},
	{"0.001", "EUR", 0, true},
	{"1.001", "EUR", 0, true},
	{"1.000", "EUR", 100, false},
	{"1.0000000000000000000000", "EUR", 100, false},
	{"1500", "JPY", 1500, false},
	{"1500.0", "JPY", 1500, false},
	{"15.5", "JPY", 0, true},
	{"15.5", "jpy", 0, true},
	{"12.345", "BHD", 12345, false},
	{"12.3", "BHD", 12300, false},
	{"12.3456", "BHD", 0, true},
	{"12.345", "EUR", 0, true},
	{"1.2345", "CLF", 12345, false},
	{"-1.5", "EUR", -150, false},
	{"-50.90", "EUR", -5090, false},
	{"-0.001", "EUR", 0, true},
	{"+1", "EUR", 100, false},
	{"+1.25", "EUR", 125, false},
	{"", "EUR", 0, true},
	{" ", "EUR", 0, true},
	{"-", "EUR", 0, true},
	{"+", "EUR", 0, true},
	{"--1", "EUR", 0, true},
	{"+-1", "EUR", 0, true},
	{"-+1", "EUR", 0, true},
	{".", "EUR", 0, true},
	{"-.", "EUR", 0, true},
	{"1.", "EUR", 0, true},
	{".5", "EUR", 50, false},
	{"-.5", "EUR", -50, false},
	{"1e2", "EUR", 0, true},
	{"1E2", "EUR", 0, true},
	{"1,5", "EUR", 0, true},
	{"1,000.00", "EUR", 0, true},
	{"1.5.5", "EUR", 0, true},
	{"1..5", "EUR", 0, true},
	{" 50.90 ", "EUR", 5090, false},
	{"\t12\n", "EUR", 1200, false},
	{"5 0", "EUR", 0, true},
	{"- 5", "EUR", 0, true},
	{"50 .90", "EUR", 0, true},
	{"0x10", "EUR", 0, true},
	{"NaN", "EUR", 0, true},
	{"Inf", "EUR", 0, true},
	{"١٢", "EUR", 0, true},
	{"12€", "EUR", 0, true},
	{"999999999999999999", "JPY", 999999999999999999, false},
	{"9999999999999999.99", "EUR", 999999999999999999, false},
	{"-9999999999999999.99", "EUR", -999999999999999999, false},
	{"9223372036854775808", "JPY", 0, true},
	{"-9223372036854775809", "JPY", 0, true},
	{"92233720368547758.08", "EUR", 0, true},
	{"99999999999999999999999999999", "EUR", 0, true},
	{"18446744073709551616", "JPY", 0, true},
	{"000000000000000000000000000001", "JPY", 1, false},
}

func TestParseMajor(t *testing.T) {
	for _, tt := range parseMajorTests {
		got, err := providers.ParseMajor(tt.in, tt.currency)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseMajor(%q, %s) = %d, nil; want an error", tt.in, tt.currency, got)
				continue
			}
			if !errors.Is(err, providers.ErrAmount) {
				t.Errorf("ParseMajor(%q, %s) error %v; want it to wrap ErrAmount", tt.in, tt.currency, err)
			}
			if got != 0 {
				t.Errorf("ParseMajor(%q, %s) = %d with an error; want 0", tt.in, tt.currency, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMajor(%q, %s) error %v; want %d", tt.in, tt.currency, err, tt.want)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseMajor(%q, %s) = %d; want %d", tt.in, tt.currency, got, tt.want)
		}
	}
}

func TestParseMajorJSON(t *testing.T) {
	tests := []struct {
		raw      string
		currency string
		want     int64
		wantErr  bool
	}{
		{`50.90`, "EUR", 5090, false},
		{`250`, "EUR", 25000, false},
		{`"50.90"`, "EUR", 5090, false},
		{`"250"`, "XTS", 25000, false},
		{` 12.345 `, "BHD", 12345, false},
		{`-1.5`, "EUR", -150, false},
		{`1500`, "JPY", 1500, false},
		{`15.5`, "JPY", 0, true},
		{`null`, "EUR", 0, true},
		{``, "EUR", 0, true},
		{`""`, "EUR", 0, true},
		{`"null"`, "EUR", 0, true},
		{`1e2`, "EUR", 0, true},
		{`"1e2"`, "EUR", 0, true},
		{`0.001`, "EUR", 0, true},
		{`"50.90`, "EUR", 0, true},
		{`"50.90\u0000"`, "EUR", 0, true},
		{`true`, "EUR", 0, true},
		{`{}`, "EUR", 0, true},
		{`[1]`, "EUR", 0, true},
	}
	for _, tt := range tests {
		got, err := providers.ParseMajorJSON(json.RawMessage(tt.raw), tt.currency)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseMajorJSON(%s, %s) = %d, nil; want an error", tt.raw, tt.currency, got)
			} else if !errors.Is(err, providers.ErrAmount) {
				t.Errorf("ParseMajorJSON(%s, %s) error %v; want it to wrap ErrAmount", tt.raw, tt.currency, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMajorJSON(%s, %s) error %v; want %d", tt.raw, tt.currency, err, tt.want)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseMajorJSON(%s, %s) = %d; want %d", tt.raw, tt.currency, got, tt.want)
		}
	}
}

// TestParseMajorJSONFromWire decodes a provider-like body the way clients do, keeping the
// amount as raw JSON, so that no float ever touches it.
func TestParseMajorJSONFromWire(t *testing.T) {
	body := `[{"amount": 100.10, "currency": "XTS"}, {"amount": "0.29", "currency": "EUR"}, {"amount": 0.07, "currency": "EUR"}, {"amount": null, "currency": "EUR"}]`
	var txs []struct {
		Amount   json.RawMessage `json:"amount"`
		Currency string          `json:"currency"`
	}
	if err := json.Unmarshal([]byte(body), &txs); err != nil {
		t.Fatal(err)
	}
	want := []int64{10010, 29, 7}
	for i, w := range want {
		got, err := providers.ParseMajorJSON(txs[i].Amount, txs[i].Currency)
		if err != nil || got != w {
			t.Errorf("transaction %d: ParseMajorJSON(%s) = %d, %v; want %d, nil", i, txs[i].Amount, got, err, w)
		}
	}
	if _, err := providers.ParseMajorJSON(txs[3].Amount, txs[3].Currency); err == nil {
		t.Errorf("null amount: got no error; want one")
	}
}

func TestFormatMajor(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{5090, "EUR", "50.90"},
		{25000, "EUR", "250.00"},
		{5, "EUR", "0.05"},
		{50, "EUR", "0.50"},
		{0, "EUR", "0.00"},
		{1, "EUR", "0.01"},
		{-1, "EUR", "-0.01"},
		{-5090, "EUR", "-50.90"},
		{10000, "XTS", "100.00"},
		{1500, "JPY", "1500"},
		{0, "JPY", "0"},
		{-1500, "JPY", "-1500"},
		{12345, "BHD", "12.345"},
		{5, "BHD", "0.005"},
		{1000, "BHD", "1.000"},
		{-5, "BHD", "-0.005"},
		{12345, "CLF", "1.2345"},
		{5090, "eur", "50.90"},
		{1500, "jpy", "1500"},
		{123456789, "EUR", "1234567.89"},
		{math.MaxInt64, "EUR", "92233720368547758.07"},
		{math.MinInt64, "EUR", "-92233720368547758.08"},
		{math.MinInt64, "JPY", "-9223372036854775808"},
	}
	for _, tt := range tests {
		if got := providers.FormatMajor(tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatMajor(%d, %s) = %q; want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{123450, "EUR", "1,234.50 EUR"},
		{5090, "EUR", "50.90 EUR"},
		{5, "EUR", "0.05 EUR"},
		{0, "EUR", "0.00 EUR"},
		{99999, "EUR", "999.99 EUR"},
		{100000, "EUR", "1,000.00 EUR"},
		{123456789, "EUR", "1,234,567.89 EUR"},
		{-123456789, "EUR", "-1,234,567.89 EUR"},
		{-5, "EUR", "-0.05 EUR"},
		{-100000, "EUR", "-1,000.00 EUR"},
		{1500, "JPY", "1,500 JPY"},
		{999, "JPY", "999 JPY"},
		{1000000, "JPY", "1,000,000 JPY"},
		{-1500, "JPY", "-1,500 JPY"},
		{0, "JPY", "0 JPY"},
		{12345, "BHD", "12.345 BHD"},
		{1234567, "BHD", "1,234.567 BHD"},
		{5, "BHD", "0.005 BHD"},
		{10000, "XTS", "100.00 XTS"},
		{math.MinInt64, "JPY", "-9,223,372,036,854,775,808 JPY"},
		{math.MaxInt64, "EUR", "92,233,720,368,547,758.07 EUR"},
	}
	for _, tt := range tests {
		if got := providers.FormatMoney(tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatMoney(%d, %s) = %q; want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

// maxParsable is the largest magnitude ParseMajor accepts: 18 significant digits of
// minor units.
const maxParsable = 999_999_999_999_999_999

func TestFormatMajorParseMajorRoundTrip(t *testing.T) {
	currencies := []string{"EUR", "JPY", "BHD", "XTS", "CLF", "eur", "jpy", "bhd", "ZZZ"}
	values := []int64{
		0, 1, -1, 5, -5, 9, 10, 99, 100, 101, 999, 1000, 1001, 5090, -5090, 12345,
		123456789, -123456789, 1e15, 1e17, maxParsable, -maxParsable, maxParsable - 1,
	}
	for p := int64(1); p < 1e18; p *= 10 {
		values = append(values, p, p-1, p+1, -p, -(p - 1))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		v := r.Int64N(maxParsable + 1)
		if r.IntN(2) == 0 {
			v = -v
		}
		values = append(values, v, v/1000, v/1e9)
	}
	for _, cur := range currencies {
		for _, v := range values {
			s := providers.FormatMajor(v, cur)
			got, err := providers.ParseMajor(s, cur)
			if err != nil || got != v {
				t.Fatalf("ParseMajor(FormatMajor(%d, %s) = %q) = %d, %v; want %d, nil", v, cur, s, got, err, v)
			}
			// FormatMoney is FormatMajor with grouping: without the commas and the code
			// it must read the same.
			m := providers.FormatMoney(v, cur)
			plain := stripGrouping(m, cur)
			if plain != s {
				t.Fatalf("FormatMoney(%d, %s) = %q; ungrouped %q, want %q", v, cur, m, plain, s)
			}
		}
	}
}

func stripGrouping(m, currency string) string {
	suffix := " " + currency
	if len(m) < len(suffix) || m[len(m)-len(suffix):] != suffix {
		return "missing currency suffix in " + m
	}
	m = m[:len(m)-len(suffix)]
	out := make([]byte, 0, len(m))
	for i := 0; i < len(m); i++ {
		if m[i] != ',' {
			out = append(out, m[i])
		}
	}
	return string(out)
}

func TestParseMajorCanonicalForm(t *testing.T) {
	// Whatever spelling a provider uses, formatting the parsed value gives the one
	// canonical form providers that take decimals expect.
	tests := []struct {
		in, currency, want string
	}{
		{"50.9", "EUR", "50.90"},
		{"250", "EUR", "250.00"},
		{"+007.500", "EUR", "7.50"},
		{".5", "EUR", "0.50"},
		{"-0", "EUR", "0.00"},
		{"1500.000", "JPY", "1500"},
		{"12.3", "BHD", "12.300"},
	}
	for _, tt := range tests {
		v, err := providers.ParseMajor(tt.in, tt.currency)
		if err != nil {
			t.Errorf("ParseMajor(%q, %s) error %v", tt.in, tt.currency, err)
			continue
		}
		if got := providers.FormatMajor(v, tt.currency); got != tt.want {
			t.Errorf("FormatMajor(ParseMajor(%q, %s)) = %q; want %q", tt.in, tt.currency, got, tt.want)
		}
	}
}
