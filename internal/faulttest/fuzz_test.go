package faulttest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	cvapi "github.com/saasplatform/saas/gen/api/configvault"
	contentapi "github.com/saasplatform/saas/gen/api/content"
	iamapi "github.com/saasplatform/saas/gen/api/iam"
	uamapi "github.com/saasplatform/saas/gen/api/uam"
	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/platform/contract"
	"github.com/saasplatform/saas/internal/platform/httpapi"
)

// Longer or other runs of the spec fuzz: -fuzzseed and -fuzzn after -args,
// or SAAS_FUZZ_SEED and SAAS_FUZZ_N.
var (
	fuzzSeed = flag.Uint64("fuzzseed", envUint("SAAS_FUZZ_SEED", 1), "seed of TestSpecFuzz's choices")
	fuzzN    = flag.Int("fuzzn", int(envUint("SAAS_FUZZ_N", 40)), "requests per operation in TestSpecFuzz")
)

func envUint(name string, def uint64) uint64 {
	if v, err := strconv.ParseUint(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

// fuzzSpecs are every service's contract with its path prefix, as the
// cross-tenant matrix (internal/app) lists them: a new operation cannot
// escape the fuzz either.
var fuzzSpecs = []struct {
	prefix string
	load   func() (*openapi3.T, error)
}{
	{"/config-vault/v1", cvapi.GetSwagger},
	{"/uam/v1", uamapi.GetSwagger},
	{"/iam/v1", iamapi.GetSwagger},
	{"/content/v1", contentapi.GetSwagger},
}

// genericStatuses are the refusals the platform may answer any operation
// with, whether the operation lists them or not (every operation documents
// a default problem response for them): a malformed request, no or a bad
// credential, a missing permission, an unknown resource or path, a method
// the path does not take, a body too large, a media type not taken.
var genericStatuses = []int{400, 401, 403, 404, 405, 413, 415}

// oauthOps answer RFC 6749 errors (application/json), not problem+json.
var oauthOps = map[string]bool{"/iam/v1/oauth2/token": true, "/iam/v1/oauth2/revoke": true, "/iam/v1/oauth2/introspect": true}

// writesWhenRefused are tables an operation writes to even when it refuses
// the request, by design: a failed sign-in is counted (login throttling,
// counted before the password is checked, kept when it fails).
var writesWhenRefused = map[string][]string{
	"POST /iam/v1/auth/login": {"iam.login_failures"},
}

// A fuzz over every operation of every spec, driven by the operation's
// schema: each gets up to -fuzzn requests (40; a fixed seed, -fuzzseed),
// chosen round-robin from these kinds of wrongness so each kind is tried:
//
//   - path parameters: invalid UUIDs (a letter too many, braces, urn:uuid:,
//     no hyphens, NUL, percent-encoded invalid UTF-8), odd Unicode, 4 KiB;
//   - query parameters: wrong types, out of range, unknown or repeated
//     parameters, garbage cursors;
//   - headers: malformed If-Match and Idempotency-Key;
//   - the body as a whole: not JSON, another JSON type, empty, truncated,
//     duplicate members, 10,000 levels deep, a byte-order mark, invalid
//     UTF-8, an escaped lone surrogate;
//   - each member: the wrong type, null, missing when required, a string
//     one past its maximum length, 1 MiB, odd Unicode (NUL, lone surrogate
//     bytes, bidirectional overrides, 500 combining marks, ...), invalid
//     formats (uuid, email, uri, date-time), an extra member;
//   - the media type: text/plain, XML, a form, none, a JSON charset that is
//     not UTF-8, gzip;
//   - credentials: none, a garbage bearer token, Basic;
//   - the method: one the path does not take;
//   - the request target in absolute form (http://host/path), otherwise
//     as valid as the generator can make it.
//
// Everything goes with the platform administrator's token unless the kind
// says otherwise, to the fixture tenant's resources (deletions last). Proven
// for every answer: no 5xx; a status the operation documents, or one of
// genericStatuses; a body the spec describes (the contract test's check,
// openapi3filter.ValidateResponse), so refusals are problem+json (the OAuth
// endpoints' RFC 6749 JSON errors); and a refused request (4xx) writes no
// row of any table of any service: the row versions of every table are
// hashed after each request, and a refusal must leave them as they were
// (an accepted request moves the baseline instead). Exempt by design: the
// sign-in failures a refused login counts (writesWhenRefused), and the
// idempotency record of a request with an Idempotency-Key whose refusal
// came from the operation itself (a retry gets the same answer).
func TestSpecFuzz(t *testing.T) {
	t.Parallel()
	p := apptest.Start(t)
	admin := p.AdminToken(t)
	fx := newTenantFixture(t, p, admin, "fuzzed")
	values := map[string]string{"tenant_id": fx.id, "site_id": fx.site, "key": fx.key, "user_id": fx.user,
		"role_id": fx.role, "permission": fx.permission, "client_id": fx.client, "item_id": fx.item,
		"revision": "1", "type": "page", "slug": fx.itemSlug}
	snap := newSnapshotter(t, p.Pool)
	baseline := snap.take(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	type opRef struct {
		prefix string
		doc    *openapi3.T
		router routers.Router
		path   string
		method string
		op     *openapi3.Operation
		item   *openapi3.PathItem
	}
	var ops []opRef
	for _, s := range fuzzSpecs {
		doc, err := s.load()
		if err != nil {
			t.Fatal(err)
		}
		doc.Servers = openapi3.Servers{{URL: s.prefix}}
		router, err := legacy.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range doc.Paths.InMatchingOrder() {
			item := doc.Paths.Find(path)
			for method, op := range item.Operations() {
				ops = append(ops, opRef{s.prefix, doc, router, path, method, op, item})
			}
		}
	}
	// Deletions last, the deepest first, so that the resources the other
	// operations address still exist for them; the rest in a fixed order.
	slices.SortStableFunc(ops, func(a, b opRef) int {
		ad, bd := a.method == "DELETE", b.method == "DELETE"
		switch {
		case ad != bd:
			if ad {
				return 1
			}
			return -1
		case ad:
			if c := strings.Count(b.path, "/") - strings.Count(a.path, "/"); c != 0 {
				return c
			}
		}
		return strings.Compare(a.prefix+a.path+a.method, b.prefix+b.path+b.method)
	})
	if len(ops) < 60 {
		t.Fatalf("only %d operations in the specs", len(ops))
	}

	rng := rand.New(rand.NewPCG(*fuzzSeed, 0x5eed))
	start := time.Now()
	var sent, refused, accepted int
	statuses := map[int]int{}
	byKind := map[string]map[int]int{}
	const maxFailuresPerOp = 5
	for _, o := range ops {
		name := o.method + " " + o.prefix + o.path
		reqs := generate(o.doc, o.prefix, o.path, o.method, o.item, o.op, values, rng, *fuzzN)
		failures := 0
		fail := func(format string, args ...any) {
			failures++
			if failures <= maxFailuresPerOp {
				t.Errorf(name+": "+format, args...)
			}
		}
		for _, fr := range reqs {
			req := fr.build(p.URL, admin)
			resp, err := client.Do(req)
			if err != nil {
				fail("%s: no answer: %v", fr, err)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			sent++
			statuses[resp.StatusCode]++
			if byKind[fr.kind] == nil {
				byKind[fr.kind] = map[int]int{}
			}
			byKind[fr.kind][resp.StatusCode]++
			for _, problem := range checkAnswer(o.router, o.op, name, fr, resp, body) {
				fail("%s: %s", fr, problem)
			}
			after := snap.take(t)
			if resp.StatusCode >= 400 {
				refused++
				exempt := writesWhenRefused[name]
				if fr.header.Get("Idempotency-Key") != "" {
					// The answer to a key is kept, refusals that reached
					// the operation included, so that a retry with the key
					// gets the same answer (ARCHITECTURE §5).
					exempt = append(slices.Clip(exempt), "platform.idempotency_keys")
				}
				if diff := baseline.diff(after, exempt); diff != "" {
					fail("%s was refused with %d, yet changed the database: %s", fr, resp.StatusCode, diff)
				}
			} else {
				accepted++
			}
			baseline = after
		}
		if failures > maxFailuresPerOp {
			t.Errorf("%s: %d more failures", name, failures-maxFailuresPerOp)
		}
	}
	t.Logf("seed %d: %d operations, %d requests (%d refused, %d accepted) in %s: %s",
		*fuzzSeed, len(ops), sent, refused, accepted, time.Since(start).Round(time.Millisecond), tally(statuses))
	for _, kind := range slices.Sorted(maps.Keys(byKind)) {
		t.Logf("  %-10s %s", kind, tally(byKind[kind]))
	}
}

// tally is "count×status ..." in status order.
func tally(statuses map[int]int) string {
	var out []string
	for _, c := range slices.Sorted(maps.Keys(statuses)) {
		out = append(out, fmt.Sprintf("%d×%d", statuses[c], c))
	}
	return strings.Join(out, " ")
}

// checkAnswer lists what is wrong with an answer to fr.
func checkAnswer(router routers.Router, op *openapi3.Operation, name string, fr fuzzRequest, resp *http.Response, body []byte) []string {
	var out []string
	code := resp.StatusCode
	ct := resp.Header.Get("Content-Type")
	if code >= 500 {
		out = append(out, fmt.Sprintf("answered %d: %s", code, truncate(body)))
		return out
	}
	documented := op.Responses.Status(code) != nil
	if !documented && !slices.Contains(genericStatuses, code) {
		out = append(out, fmt.Sprintf("answered %d, which the operation does not document: %s", code, truncate(body)))
	}
	if code >= 400 {
		want := "application/problem+json"
		if oauthOps[strings.TrimPrefix(name, "POST ")] && (code == 400 || code == 401) {
			want = "application/json"
		}
		if ct != want {
			out = append(out, fmt.Sprintf("answered %d as %q, want %s: %s", code, ct, want, truncate(body)))
		}
		if want == "application/problem+json" {
			var pr struct {
				Type, Title string
				Status      int
			}
			if json.Unmarshal(body, &pr) != nil || pr.Status != code || pr.Type == "" || pr.Title == "" {
				out = append(out, fmt.Sprintf("answered %d with no problem document of that status: %s", code, truncate(body)))
			}
		}
	}
	// The contract test's check: the spec describes the answer (status,
	// headers, body), for every request routed to one of its operations.
	routed, err := http.NewRequest(fr.method, fr.path+fr.queryString(), nil)
	if err != nil {
		return out
	}
	routed.Header = fr.header.Clone()
	route, params, err := httpapi.FindRoute(router, routed)
	if err != nil {
		return out // not this operation (another method, a path no longer matching): checked above
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: routed, PathParams: params, Route: route},
		Status:                 code,
		Header:                 resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{httpapi.FormatValidators}},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		out = append(out, fmt.Sprintf("answered %d, which the spec does not describe: %v; body %s", code, err, truncate(body)))
	}
	return out
}

func truncate(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

// fuzzRequest is one generated request.
type fuzzRequest struct {
	kind, what  string // the kind of wrongness and what exactly
	method      string
	path        string // prefix included, escaped as it is to be sent
	query       url.Values
	rawQuery    string // instead of query when set
	header      http.Header
	body        []byte
	auth        string // "admin" (default), "none", or a whole Authorization value
	contentType string
	absolute    bool // the request target in absolute form
}

func (f fuzzRequest) String() string {
	return fmt.Sprintf("[%s: %s]", f.kind, f.what)
}

func (f fuzzRequest) queryString() string {
	q := f.rawQuery
	if q == "" && len(f.query) > 0 {
		q = f.query.Encode()
	}
	if q == "" {
		return ""
	}
	return "?" + q
}

func (f fuzzRequest) build(base, admin string) *http.Request {
	var body io.Reader
	if f.body != nil {
		body = bytes.NewReader(f.body)
	}
	req, err := http.NewRequest(f.method, base+f.path+f.queryString(), body)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", f, err))
	}
	// The path goes as generated, escapes and all; in absolute form when
	// asked (the request line names scheme and host).
	req.URL.Opaque = f.path
	if f.absolute {
		req.URL.Opaque = "//" + req.URL.Host + f.path
	}
	for k, v := range f.header {
		req.Header[k] = v
	}
	if f.contentType != "" {
		req.Header.Set("Content-Type", f.contentType)
	}
	switch f.auth {
	case "", "admin":
		req.Header.Set("Authorization", "Bearer "+admin)
	case "none":
	default:
		req.Header.Set("Authorization", f.auth)
	}
	return req
}

// raw is JSON text put into a generated body as it is (invalid UTF-8, a
// number no float holds, a lone surrogate escape).
type raw string

// marshal encodes v, splicing raw values in.
func marshal(v any) []byte {
	var raws []raw
	var replace func(v any) any
	replace = func(v any) any {
		switch x := v.(type) {
		case raw:
			raws = append(raws, x)
			return fmt.Sprintf("\x01raw%d\x01", len(raws)-1)
		case map[string]any:
			m := make(map[string]any, len(x))
			for k, e := range x {
				m[k] = replace(e)
			}
			return m
		case []any:
			s := make([]any, len(x))
			for i, e := range x {
				s[i] = replace(e)
			}
			return s
		}
		return v
	}
	b, err := json.Marshal(replace(v))
	if err != nil {
		panic(err)
	}
	for i, r := range raws {
		marker, _ := json.Marshal(fmt.Sprintf("\x01raw%d\x01", i))
		b = bytes.Replace(b, marker, []byte(r), 1)
	}
	return b
}

// oddStrings are strings no validation should fail on with a 5xx: each
// either is refused (400) or stored and answered as sent.
var oddStrings = []any{
	"\x00", "a\x00b", // NUL: JSON allows it, PostgreSQL's text does not
	raw(`"\ud800"`), raw(`"a\udfffb"`), // escaped lone surrogates
	raw("\"\xed\xa0\x80\""), raw("\"\xff\xfe\""), // a lone surrogate's bytes, invalid UTF-8
	"\u202eevil\u202c", "\u200fright-to-left\u200e", // bidirectional overrides and marks
	"e" + strings.Repeat("\u0301", 500), // combining marks
	"👩\u200d👩\u200d👧\u200d👦", "\ufeffbom", "\uffff\U0010ffff",
	"\a\x1b[31mred\x1b[0m", "ａｄｍｉｎ", "пример.рф", "' OR 1=1 --", "../../etc/passwd", "%00%2e%2e%2f",
	"   ", "",
}

// badUUIDs are values that are not UUIDs, or barely.
var badUUIDs = []string{
	"not-a-uuid", "00000000-0000-0000-0000-00000000000g", "00000000-0000-0000-0000-0000000000000",
	"{00000000-0000-7000-8000-000000000001}", "urn:uuid:00000000-0000-7000-8000-000000000001",
	"00000000000070008000000000000001", "00000000-0000-0000-0000-000000000000", "0", "-1",
	"%00", "%ff%fe", "%ed%a0%80", url.PathEscape("\u202e00000000-0000-7000-8000-000000000001"),
}

// generate makes up to n requests to one operation.
func generate(doc *openapi3.T, prefix, path, method string, item *openapi3.PathItem, op *openapi3.Operation,
	values map[string]string, rng *rand.Rand, n int) []fuzzRequest {
	params := append(slices.Clone(item.Parameters), op.Parameters...)
	var bodySchema *openapi3.Schema
	mediaType := ""
	bodyRequired := false
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		bodyRequired = rb.Value.Required
		for _, mt := range []string{"application/json", "application/x-www-form-urlencoded"} {
			if c := rb.Value.Content.Get(mt); c != nil && c.Schema != nil {
				bodySchema, mediaType = c.Schema.Value, mt
				break
			}
		}
	}
	pathValues := map[string]string{}
	base := fuzzRequest{method: method, query: url.Values{}, header: http.Header{}}
	for _, ref := range params {
		p := ref.Value
		switch p.In {
		case "path":
			v, ok := values[p.Name]
			if !ok {
				v = fmt.Sprint(contract.Samples{Values: values, Fixed: contract.DefaultFixed}.Of(p.Schema.Value, p.Name))
			}
			pathValues[p.Name] = url.PathEscape(v)
		case "header":
			if p.Name == "If-Match" {
				base.header.Set("If-Match", "*")
			}
		}
	}
	var sampleBody map[string]any
	if bodySchema != nil {
		sampleBody, _ = contract.Samples{Values: values, Fixed: contract.DefaultFixed}.Of(bodySchema, "").(map[string]any)
		base.contentType = mediaType
		base.body = encodeBody(mediaType, sampleBody)
	}
	fill := func(pv map[string]string) string {
		return prefix + regexp.MustCompile(`\{([^}]+)\}`).ReplaceAllStringFunc(path, func(m string) string {
			return pv[m[1:len(m)-1]]
		})
	}
	base.path = fill(pathValues)
	with := func(kind, what string, change func(*fuzzRequest)) fuzzRequest {
		r := base
		r.kind, r.what = kind, what
		r.query = url.Values{}
		maps.Copy(r.query, base.query)
		r.header = base.header.Clone()
		change(&r)
		return r
	}
	byKind := map[string][]fuzzRequest{}
	add := func(r fuzzRequest) { byKind[r.kind] = append(byKind[r.kind], r) }

	// Path parameters.
	for _, ref := range params {
		p := ref.Value
		if p.In != "path" {
			continue
		}
		var bad []string
		if p.Schema != nil && p.Schema.Value.Format == "uuid" {
			bad = badUUIDs
		} else {
			bad = []string{"%00", "%ff", url.PathEscape("e" + strings.Repeat("\u0301", 50)), url.PathEscape("\u202eevil"),
				strings.Repeat("x", 4096), "-1", "99999999999999999999", "1.5", "%20", url.PathEscape("' OR 1=1 --")}
		}
		for _, v := range bad {
			pv := maps.Clone(pathValues)
			pv[p.Name] = v
			add(with("path", p.Name+"="+short(v), func(r *fuzzRequest) { r.path = fill(pv) }))
		}
	}
	// Query parameters.
	for _, ref := range params {
		p := ref.Value
		if p.In != "query" {
			continue
		}
		for _, v := range badParamValues(p.Schema.Value) {
			add(with("query", p.Name+"="+short(v), func(r *fuzzRequest) { r.query.Set(p.Name, v) }))
		}
		add(with("query", p.Name+" twice", func(r *fuzzRequest) {
			v := fmt.Sprint(contract.Samples{Values: values, Fixed: contract.DefaultFixed}.Of(p.Schema.Value, p.Name))
			r.query[p.Name] = []string{v, v}
		}))
	}
	add(with("query", "an undeclared parameter", func(r *fuzzRequest) { r.query.Set("x_extra", "1") }))
	add(with("query", "a query string that does not parse", func(r *fuzzRequest) { r.rawQuery = "a=%zz&;=" }))
	// Headers.
	for _, ref := range params {
		p := ref.Value
		if p.In != "header" {
			continue
		}
		for _, v := range []string{`"unterminated`, `W/`, `*, *`, strings.Repeat(`"x",`, 200), "\u202e", "é", strings.Repeat("k", 4096)} {
			add(with("header", p.Name+"="+short(v), func(r *fuzzRequest) { r.header.Set(p.Name, v) }))
		}
		if p.Name == "If-Match" {
			add(with("header", "no If-Match", func(r *fuzzRequest) { r.header.Del("If-Match") }))
		}
		add(with("header", p.Name+" twice", func(r *fuzzRequest) { r.header[http.CanonicalHeaderKey(p.Name)] = []string{`"a"`, `"b"`} }))
	}
	add(with("target", "the request target in absolute form", func(r *fuzzRequest) { r.absolute = true }))
	// Credentials.
	add(with("auth", "no credentials", func(r *fuzzRequest) { r.auth = "none" }))
	add(with("auth", "a garbage bearer token", func(r *fuzzRequest) { r.auth = "Bearer x.y.z" }))
	add(with("auth", "Basic", func(r *fuzzRequest) { r.auth = "Basic YWRtaW46YWRtaW4=" }))
	// The method.
	other := map[string]string{"GET": "PATCH", "POST": "PATCH", "PUT": "PATCH", "DELETE": "PATCH"}[method]
	if item.GetOperation(other) == nil {
		add(with("method", other, func(r *fuzzRequest) { r.method = other }))
	}
	// The body.
	if bodySchema == nil {
		add(with("body", "a body where none is taken", func(r *fuzzRequest) {
			r.body, r.contentType = []byte(`{"a":1}`), "application/json"
		}))
	} else if mediaType == "application/x-www-form-urlencoded" {
		for _, b := range []string{"", "a=%zz", "grant_type=client_credentials&grant_type=client_credentials", "=&=&&",
			"grant_type=" + strings.Repeat("x", 10000), "token=" + url.QueryEscape("\x00\u202e"), "client_id=%ff%fe",
			`{"grant_type":"client_credentials"}`} {
			add(with("body", "form "+short(b), func(r *fuzzRequest) { r.body = []byte(b) }))
		}
		add(with("body", "form as JSON", func(r *fuzzRequest) {
			r.body, r.contentType = marshal(sampleBody), "application/json"
		}))
	} else {
		for what, b := range map[string]string{
			"not JSON": "{", "a trailing comma": `{"a":1,}`, "an array": "[]", "null": "null", "a string": `"x"`,
			"a number": "123", "trailing garbage": `{} x`, "two documents": `{}{}`,
			"10,000 levels deep": strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
			"a byte-order mark":  "\ufeff{}",
		} {
			add(with("body", what, func(r *fuzzRequest) { r.body = []byte(b) }))
		}
		add(with("body", "empty", func(r *fuzzRequest) { r.body = []byte{} }))
		add(with("body", "invalid UTF-8 outside strings", func(r *fuzzRequest) { r.body = []byte("{\xff:1}") }))
		// Members.
		for _, m := range members(bodySchema, sampleBody, "") {
			for _, v := range badValues(m.schema) {
				add(with("member", m.path+"="+shortAny(v), func(r *fuzzRequest) { r.body = marshal(setAt(sampleBody, m.path, v)) }))
			}
			if m.schema.Type.Is("string") && len(m.schema.Enum) == 0 {
				for _, v := range oddStrings {
					add(with("unicode", m.path+"="+shortAny(v), func(r *fuzzRequest) { r.body = marshal(setAt(sampleBody, m.path, v)) }))
				}
				add(with("huge", m.path+" of 1 MiB", func(r *fuzzRequest) {
					r.body = marshal(setAt(sampleBody, m.path, strings.Repeat("a", 1<<20)))
				}))
			}
			if m.required {
				add(with("missing", m.path, func(r *fuzzRequest) { r.body = marshal(setAt(sampleBody, m.path, nil, true)) }))
			}
		}
		add(with("member", "an extra member", func(r *fuzzRequest) {
			b := maps.Clone(sampleBody)
			b["x_extra"] = 1
			r.body = marshal(b)
		}))
		add(with("member", "a duplicate member", func(r *fuzzRequest) {
			b := marshal(sampleBody)
			if len(b) > 2 {
				r.body = append([]byte(`{"x":1,"x":2,`), b[1:]...)
			} else {
				r.body = []byte(`{"x":1,"x":2}`)
			}
		}))
		add(with("member", "an id and timestamps the server owns", func(r *fuzzRequest) {
			b := maps.Clone(sampleBody)
			b["id"], b["created_at"], b["tenant_id"] = values["user_id"], "2000-01-01T00:00:00Z", values["tenant_id"]
			r.body = marshal(b)
		}))
		// Media types.
		for _, ct := range []string{"text/plain", "application/xml", "application/x-www-form-urlencoded", "",
			"application/json; charset=iso-8859-1", "multipart/form-data; boundary=x", "application/json-patch+json"} {
			add(with("media type", "Content-Type "+ct, func(r *fuzzRequest) { r.contentType = ct }))
		}
		add(with("media type", "gzip", func(r *fuzzRequest) { r.header.Set("Content-Encoding", "gzip") }))
	}
	if !bodyRequired && bodySchema != nil {
		add(with("body", "no body", func(r *fuzzRequest) { r.body, r.contentType = nil, "" }))
	}

	// Round-robin over the kinds, each shuffled, so that every kind is
	// tried before any is tried twice.
	kinds := slices.Sorted(maps.Keys(byKind))
	for _, k := range kinds {
		rng.Shuffle(len(byKind[k]), func(i, j int) { byKind[k][i], byKind[k][j] = byKind[k][j], byKind[k][i] })
	}
	var out []fuzzRequest
	for round := 0; len(out) < n; round++ {
		added := false
		for _, k := range kinds {
			if round < len(byKind[k]) && len(out) < n {
				out = append(out, byKind[k][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out
}

func encodeBody(mediaType string, v map[string]any) []byte {
	if mediaType == "application/json" {
		return marshal(v)
	}
	form := url.Values{}
	for k, e := range v {
		form.Set(k, fmt.Sprint(e))
	}
	return []byte(form.Encode())
}

func short(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q…(%d bytes)", s[:40], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func shortAny(v any) string {
	if s, ok := v.(string); ok {
		return short(s)
	}
	if r, ok := v.(raw); ok {
		return short(string(r))
	}
	b, _ := json.Marshal(v)
	return short(string(b))
}

// member is a place in a body: a top-level member or one of an object
// member's, with its schema.
type member struct {
	path     string // "name" or "profile.locale"
	schema   *openapi3.Schema
	required bool
}

func members(s *openapi3.Schema, sampleBody map[string]any, prefix string) []member {
	s = contract.Flatten(s)
	var out []member
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		ps := contract.Flatten(s.Properties[name].Value)
		m := member{path: prefix + name, schema: ps, required: slices.Contains(s.Required, name)}
		out = append(out, m)
		if ps.Type.Is("object") && prefix == "" {
			out = append(out, members(ps, nil, name+".")...)
		}
	}
	return out
}

// setAt returns a copy of body with the member at path set to v (or
// removed when del is given).
func setAt(body map[string]any, path string, v any, del ...bool) map[string]any {
	out := maps.Clone(body)
	if out == nil {
		out = map[string]any{}
	}
	head, rest, nested := strings.Cut(path, ".")
	if nested {
		inner, _ := out[head].(map[string]any)
		out[head] = setAt(inner, rest, v, del...)
		return out
	}
	if len(del) > 0 {
		delete(out, head)
	} else {
		out[head] = v
	}
	return out
}

// badValues are values of the wrong type or shape for s.
func badValues(s *openapi3.Schema) []any {
	var out []any
	switch {
	case s.Type.Is("string"):
		out = append(out, 123, true, map[string]any{}, []any{}, nil)
		if s.MaxLength != nil && *s.MaxLength < 100_000 {
			out = append(out, strings.Repeat("y", int(*s.MaxLength)+1))
		} else {
			out = append(out, strings.Repeat("y", 70_000))
		}
		if len(s.Enum) > 0 {
			out = append(out, "not-one-of-them", strings.ToUpper(fmt.Sprint(s.Enum[0])))
		}
		switch s.Format {
		case "uuid":
			for _, u := range badUUIDs[:9] {
				out = append(out, u)
			}
		case "email":
			out = append(out, "not-an-email", "a@b@c", "x@"+strings.Repeat("a", 300)+".com", "<a@b.c>")
		case "uri":
			out = append(out, "javascript:alert(1)", "http://", "://x", "/relative", "http://[::1")
		case "date-time":
			out = append(out, "2030-13-45T99:99:99Z", "yesterday", "2030-01-01", "0000-00-00T00:00:00Z")
		}
	case s.Type.Is("integer"), s.Type.Is("number"):
		out = append(out, "1", 1.5, -1, 0, raw("1e400"), raw("9223372036854775808"), true, nil)
	case s.Type.Is("boolean"):
		out = append(out, "true", 1, nil)
	case s.Type.Is("array"):
		out = append(out, "x", map[string]any{}, []any{nil}, []any{123}, []any{map[string]any{}})
		many := make([]any, 2000)
		for i := range many {
			many[i] = "x"
		}
		out = append(out, many, nil)
	case s.Type.Is("object"):
		out = append(out, []any{}, "x", 1, nil, map[string]any{"x_extra": true})
	}
	return out
}

// badParamValues are query parameter values of the wrong type or range.
func badParamValues(s *openapi3.Schema) []string {
	switch {
	case s.Type.Is("integer"), s.Type.Is("number"):
		return []string{"abc", "-1", "0", "501", "1e400", "1.5", "99999999999999999999", ""}
	case s.Type.Is("boolean"):
		return []string{"yes", "1", "TRUE", ""}
	case s.Type.Is("array"):
		return []string{strings.Repeat("x,", 500), "\x00"}
	}
	out := []string{"", "\x00", "\u202eevil", "%zz", strings.Repeat("c", 4096), "e" + strings.Repeat("\u0301", 200)}
	switch s.Format {
	case "uuid":
		out = append(out, badUUIDs[:9]...)
	case "date-time":
		out = append(out, "2030-13-45T99:99:99Z", "yesterday")
	}
	if len(s.Enum) > 0 {
		out = append(out, "not-one-of-them")
	}
	return out
}

// snapshotter hashes the row versions of every table of every service's
// schema.
type snapshotter struct {
	pool  *pgxpool.Pool
	query string
}

type snapshot map[string]string // table -> "rows:hash"

func newSnapshotter(t testing.TB, pool *pgxpool.Pool) *snapshotter {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_schema IN ('configvault', 'uam', 'iam', 'content', 'platform') AND table_type = 'BASE TABLE'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 10 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
	var parts []string
	for _, tb := range tables {
		// Row versions, not contents: any write to a row, even one that
		// leaves its values as they were, makes a new version (a new ctid
		// and xmin), and reading versions costs nothing however large the
		// rows (content items reach 1 MiB).
		parts = append(parts, fmt.Sprintf(`SELECT %s, count(*) || ':' || coalesce(md5(string_agg(ctid::text || '/' || xmin::text, ',' ORDER BY ctid)), '') FROM %s`,
			quoteLiteral(tb), tb))
	}
	return &snapshotter{pool: pool, query: strings.Join(parts, " UNION ALL ")}
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (s *snapshotter) take(t testing.TB) snapshot {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), s.query)
	if err != nil {
		t.Fatal(err)
	}
	out := snapshot{}
	var table, state string
	_, err = pgx.ForEachRow(rows, []any{&table, &state}, func() error {
		out[table] = state
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diff names the tables whose rows differ, but those in exempt.
func (s snapshot) diff(other snapshot, exempt []string) string {
	var changed []string
	for table, state := range s {
		if other[table] != state && !slices.Contains(exempt, table) {
			changed = append(changed, fmt.Sprintf("%s (%s -> %s)", table, state, other[table]))
		}
	}
	slices.Sort(changed)
	return strings.Join(changed, ", ")
}
