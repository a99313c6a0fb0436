package iam

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddressTrustsOnlyConfiguredProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		trusted    []netip.Prefix
		want       string
	}{
		{"no proxies: the peer, whatever the header says", "198.51.100.7:4000", []string{"203.0.113.9"}, nil, "198.51.100.7"},
		{"an untrusted peer's header is ignored", "198.51.100.7:4000", []string{"203.0.113.9"}, proxies, "198.51.100.7"},
		{"a trusted proxy names the client", "10.1.2.3:4000", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"the client's own entries on the left do not count", "10.1.2.3:4000", []string{"1.2.3.4, 203.0.113.9"}, proxies, "203.0.113.9"},
		{"a chain of trusted proxies is walked", "10.1.2.3:4000", []string{"203.0.113.9, 10.9.9.9"}, proxies, "203.0.113.9"},
		{"headers repeated are one list", "10.1.2.3:4000", []string{"1.2.3.4", "203.0.113.9"}, proxies, "203.0.113.9"},
		{"a garbled hop stops the walk", "10.1.2.3:4000", []string{"203.0.113.9, nonsense"}, proxies, "10.1.2.3"},
		{"only proxies: the farthest one", "10.1.2.3:4000", []string{"10.7.7.7"}, proxies, "10.7.7.7"},
		{"no header from a proxy: the proxy", "10.1.2.3:4000", nil, proxies, "10.1.2.3"},
		{"IPv6 and mapped IPv4", "[fd00::1]:4000", []string{"::ffff:203.0.113.9"}, proxies, "203.0.113.9"},
	} {
		r := httptest.NewRequest("POST", "/iam/v1/auth/login", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientAddress(r, tc.trusted); got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
