package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// behindProxy returns r with RemoteAddr set to the client's address when the request
// came through one of Config.TrustedProxies (docs/deployment.md): the X-Forwarded-For
// hops are read from the right, skipping trusted proxies, and the first other address is
// the client. A header from anyone else is ignored (it is the sender's word), as is one
// that cannot be read. The audit log, the sign-in limits and the webhooks' limits all
// read RemoteAddr, so all of them see the person rather than the proxy.
func (s *Server) behindProxy(r *http.Request) *http.Request {
	if len(s.cfg.TrustedProxies) == 0 {
		return r
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return r
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !s.trusted(client) {
			break
		}
	}
	if client == peer {
		return r
	}
	r2 := r.WithContext(r.Context()) // a shallow copy: the header stays shared
	r2.RemoteAddr = netip.AddrPortFrom(client, 0).String()
	return r2
}

// trusted reports whether a is one of the configured reverse proxies.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a.Unmap()) || p.Contains(a) {
			return true
		}
	}
	return false
}
