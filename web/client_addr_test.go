package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// Behind a trusted proxy the client is the last address its X-Forwarded-For names that
// is not a trusted proxy; from anyone else the header is ignored.
func TestBehindProxy(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.10/32")}}}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy configured is no proxy", "203.0.113.5:4000", nil, "203.0.113.5:4000"},
		{"a trusted proxy names the client", "10.1.2.3:5555", []string{"198.51.100.7"}, "198.51.100.7:0"},
		{"two proxies in a row", "10.1.2.3:5555", []string{"198.51.100.7, 192.0.2.10"}, "198.51.100.7:0"},
		{"a forged hop left of the client is not believed", "10.1.2.3:5555", []string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7:0"},
		{"several header lines", "10.1.2.3:5555", []string{"1.1.1.1", "198.51.100.8"}, "198.51.100.8:0"},
		{"an untrusted peer's header is its own word", "203.0.113.5:4000", []string{"198.51.100.7"}, "203.0.113.5:4000"},
		{"an unreadable hop stops the walk", "10.1.2.3:5555", []string{"198.51.100.7, junk"}, "10.1.2.3:5555"},
		{"no header: the proxy itself", "10.1.2.3:5555", nil, "10.1.2.3:5555"},
		{"IPv6 client", "10.1.2.3:5555", []string{"2001:db8::7"}, "[2001:db8::7]:0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := s
			if c.name == "no proxy configured is no proxy" {
				srv = &Server{}
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := srv.behindProxy(r).RemoteAddr; got != c.want {
				t.Errorf("RemoteAddr = %q, want %q", got, c.want)
			}
			if got, want := clientIP(srv.behindProxy(r)), c.want[:len(c.want)-len(":0")]; c.want[len(c.want)-2:] == ":0" && got != want && "["+got+"]" != want {
				t.Errorf("clientIP = %q, want %q", got, want)
			}
		})
	}
}
