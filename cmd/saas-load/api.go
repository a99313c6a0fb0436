package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// httpClient is shared by every scenario: keep-alive connections, as many
// idle ones as the largest scenario uses, no compression (the servers do not
// compress either).
var httpClient = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	},
}

// op is one request of a scenario.
type op struct {
	method, url string
	body        []byte
	form        bool   // body is application/x-www-form-urlencoded, not JSON
	token       string // bearer token ("" = none)
	user, pass  string // HTTP Basic credentials ("" = none)
	// answer, when set, reads a successful response's body (such as the
	// next refresh token of a worker's session).
	answer func(body []byte) error
}

func (o op) request(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if o.body != nil {
		body = bytes.NewReader(o.body)
	}
	req, err := http.NewRequestWithContext(ctx, o.method, o.url, body)
	if err != nil {
		return nil, err
	}
	switch {
	case o.body != nil && o.form:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case o.body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if o.token != "" {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	if o.user != "" {
		req.SetBasicAuth(url.QueryEscape(o.user), url.QueryEscape(o.pass)) // RFC 6749 section 2.3.1
	}
	return req, nil
}

// do sends o and returns the status and the body.
func (o op) do(ctx context.Context) (int, []byte, error) {
	req, err := o.request(ctx)
	if err != nil {
		return 0, nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// call sends o for seeding: a status other than 2xx is an error, and the
// JSON answer is decoded into out (when not nil).
func call(ctx context.Context, o op, out any) error {
	status, body, err := o.do(ctx)
	if err != nil {
		return fmt.Errorf("%s %s: %w", o.method, o.url, err)
	}
	if status/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", o.method, o.url, status, bytes.TrimSpace(body))
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s %s: %w", o.method, o.url, err)
		}
	}
	return nil
}

func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps and structs of strings here
	}
	return b
}

// tokens is the answer of login and refresh.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func login(ctx context.Context, base, email, password string) (tokens, error) {
	var t tokens
	err := call(ctx, op{method: "POST", url: base + "/iam/v1/auth/login",
		body: jsonBody(map[string]string{"email": email, "password": password})}, &t)
	return t, err
}

// claimsOf reads an access token's payload without verifying it: the
// generator only needs to know who it signed in as.
func claimsOf(token string) (sub, tenant string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", fmt.Errorf("the access token is not a JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", err
	}
	var c struct {
		Sub      string `json:"sub"`
		TenantID string `json:"tenant_id"`
	}
	err = json.Unmarshal(b, &c)
	return c.Sub, c.TenantID, err
}
