// Package contract holds API tests to their spec: an http.RoundTripper that
// validates every response a generated client receives against the service's
// OpenAPI document, failing the test on anything the spec does not describe.
package contract

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/saasplatform/saas/internal/platform/httpapi"
)

// Transport validates responses; requests pass unchanged, so tests can send
// invalid ones on purpose.
type Transport struct {
	t      testing.TB
	router routers.Router
	base   http.RoundTripper
}

// NewTransport routes requests by spec, whose servers are reduced to prefix
// so any host matches.
func NewTransport(t testing.TB, spec *openapi3.T, prefix string) *Transport {
	t.Helper()
	spec.Servers = openapi3.Servers{{URL: prefix}}
	router, err := legacy.NewRouter(spec)
	if err != nil {
		t.Fatalf("contract: routing the spec: %v", err)
	}
	return &Transport{t: t, router: router, base: http.DefaultTransport}
}

// Client is an *http.Client using the transport.
func (c *Transport) Client() *http.Client { return &http.Client{Transport: c} }

func (c *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	// The router matches the spec's path-only server URL, as the server
	// sees requests; a client's request also names scheme and host.
	routed := req.Clone(req.Context())
	routed.URL.Scheme, routed.URL.Host = "", ""
	route, params, rerr := httpapi.FindRoute(c.router, routed)
	if rerr != nil {
		// Not an operation of the spec (a probe of an unknown path or method):
		// it cannot succeed, and every answer must be a problem document.
		if resp.StatusCode < 400 && !strings.HasSuffix(req.URL.Path, "/openapi.json") {
			c.t.Errorf("contract: %s %s is no operation of the spec, yet answered %d", req.Method, req.URL.Path, resp.StatusCode)
		}
		if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
			c.t.Errorf("contract: %s %s answered %d with %q, want application/problem+json", req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: routed, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus:   true,
			MultiError:              true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{httpapi.FormatValidators},
		},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.t.Errorf("contract: %s %s answered %d, which the spec does not describe: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, truncate(body))
	}
	return resp, nil
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}
