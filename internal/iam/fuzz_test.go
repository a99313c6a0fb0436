package iam

import (
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// Seeds stay small (well under 1 KiB) so that minimising a finding fits in
// the 10 s CI run.

// decodeBasic returns what client_secret_basic encoded, for any id and
// secret, and never panics on anything else.
func FuzzDecodeBasic(f *testing.F) {
	f.Add("0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b", "s3cr:et%+/", "")
	f.Add("", "", "Og==")
	f.Add("a", "b", "not base64")
	f.Add("a:b", "c", "YTpi")
	f.Fuzz(func(t *testing.T, id, secret, raw string) {
		encoded := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
		gotID, gotSecret, ok := decodeBasic(encoded)
		if !ok || gotID != id || gotSecret != secret {
			t.Errorf("decodeBasic(encoded %q, %q) = %q, %q, %v", id, secret, gotID, gotSecret, ok)
		}
		if gotID, gotSecret, ok := decodeBasic(raw); !ok && (gotID != "" || gotSecret != "") {
			t.Errorf("decodeBasic(%q) failed but returned %q, %q", raw, gotID, gotSecret)
		}
	})
}

// parseOAuthRequest takes each field once, refuses repeated ones and two
// ways of authenticating (HTTP Basic beside the same client_id is one), and
// answers every refusal as an RFC 6749 error.
func FuzzOAuthForm(f *testing.F) {
	f.Add("grant_type=client_credentials&scope=a+b", "")
	f.Add("client_id=x&client_secret=y", "")
	f.Add("scope=a&scope=b", "Basic eDp5")
	f.Add("client_id=x", "basic eDp5")
	f.Add("a=%zz&b", "Bearer t")
	f.Fuzz(func(t *testing.T, body, authorization string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // the server refuses the body before (an invalid_request too)
		}
		req, err := parseOAuthRequest(authorization, form)
		if err != nil {
			var oe *OAuthError
			if !errors.As(err, &oe) || (oe.Code != errInvalidRequest && oe.Code != errInvalidClient) {
				t.Fatalf("%q, %q: %v", body, authorization, err)
			}
			return
		}
		if len(req.Params) != len(form) {
			t.Errorf("%q: params %v", body, req.Params)
		}
		for name, values := range form {
			if len(values) != 1 || req.Params[name] != values[0] {
				t.Errorf("%q: %s is %v, params %q", body, name, values, req.Params[name])
			}
		}
		scheme, _, _ := strings.Cut(authorization, " ")
		basic := strings.EqualFold(scheme, "Basic")
		_, posted := form["client_id"]
		if (req.Client != nil) != (basic || posted) {
			t.Errorf("%q, %q: client %+v", body, authorization, req.Client)
		}
		if basic && posted && (req.Client.ID != form.Get("client_id") || form.Has("client_secret")) {
			t.Errorf("%q, %q: two authentications accepted", body, authorization)
		}
	})
}

// clientAddress is the peer or an address some X-Forwarded-For hop names,
// and the peer whenever no proxy is trusted.
func FuzzClientAddress(f *testing.F) {
	f.Add("10.1.2.3:4000", "203.0.113.9, 10.9.9.9", "10.0.0.0/8")
	f.Add("[fd00::1]:4000", "::ffff:203.0.113.9", "fd00::/8")
	f.Add("198.51.100.7:4000", "nonsense", "")
	f.Add("garbage", "1.2.3.4", "0.0.0.0/0")
	f.Fuzz(func(t *testing.T, peer, xff, prefix string) {
		var trusted []netip.Prefix
		if p, err := netip.ParsePrefix(prefix); err == nil {
			trusted = append(trusted, p)
		}
		r := httptest.NewRequest("POST", "/iam/v1/auth/login", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		got := clientAddress(r, trusted)
		ap, err := netip.ParseAddrPort(peer)
		if err != nil {
			if got.IsValid() {
				t.Errorf("peer %q: %v", peer, got)
			}
			return
		}
		if got == ap.Addr().Unmap() {
			return
		}
		if len(trusted) == 0 {
			t.Fatalf("no trusted proxy, yet %v for peer %q", got, peer)
		}
		for _, hop := range strings.Split(xff, ",") {
			if a, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && a.Unmap() == got {
				return
			}
		}
		t.Errorf("%v is neither the peer %q nor a hop of %q", got, peer, xff)
	})
}
