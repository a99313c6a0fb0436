package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/saasplatform/saas/internal/platform/problem"
)

const testSpec = `
openapi: 3.0.3
info: {title: test, version: "1"}
paths:
  /things:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1}}
        - {name: tag, in: query, schema: {type: array, items: {type: string}}}
        - {name: on, in: query, schema: {type: boolean}}
      responses: {"200": {description: ok}}
    post:
      parameters:
        - {name: Idempotency-Key, in: header, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name]
              properties:
                name: {type: string}
                count: {type: integer}
                on: {type: boolean, default: true}
      responses: {"201": {description: created}}
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    get:
      responses: {"200": {description: ok}}
    put:
      parameters:
        - {name: If-Match, in: header, schema: {type: string}}
        - {name: X-Single, in: header, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {name: {type: string}}}
      responses: {"200": {description: ok}}
`

// echo answers with what reached the handler, and which chain served it.
func testServer(t *testing.T) http.Handler {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	echo := func(via string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Via", via)
			_, _ = w.Write(body)
		})
	}
	h, err := Root([]API{{Name: "test", Prefix: "/test/v1", Spec: doc, Handler: echo("plain"), Idempotent: echo("idempotent"), MaxBody: 4096}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(h http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func problemFields(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("status %d with %q, want a problem: %s", rec.Code, ct, rec.Body)
	}
	var p problem.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

func TestRequestsAreRefusedWithTheirField(t *testing.T) {
	h := testServer(t)
	id := "0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b"
	for _, tc := range []struct {
		name, method, target, body string
		header                     []string
		status                     int
		field                      string
	}{
		{"null where a default exists", "POST", "/test/v1/things", `{"name":"a","on":null}`, nil, 400, "body.on"},
		{"missing member", "POST", "/test/v1/things", `{"count":1}`, nil, 400, "body.name"},
		{"unknown member", "POST", "/test/v1/things", `{"name":"a","nme":1}`, nil, 400, "body.nme"},
		{"duplicate member", "POST", "/test/v1/things", `{"name":1,"name":"a"}`, nil, 400, "body.name"},
		{"duplicate spelt with an escape", "POST", "/test/v1/things", `{"name":"a","count":[{"x":1},{"y":{"b":1,"\u0062":2}}]}`, nil, 400, "body.count.1.y.b"},
		{"invalid UTF-8", "POST", "/test/v1/things", "{\"name\":\"a\xff\"}", nil, 400, "body"},
		{"lone high surrogate", "POST", "/test/v1/things", `{"name":"a\ud800"}`, nil, 400, "body"},
		{"lone low surrogate", "POST", "/test/v1/things", `{"name":"\udc00a"}`, nil, 400, "body"},
		{"reversed pair", "POST", "/test/v1/things", `{"name":"\udc00\ud800"}`, nil, 400, "body"},
		{"malformed JSON", "POST", "/test/v1/things", `{"name":`, nil, 400, "body"},
		{"malformed query", "GET", "/test/v1/things?limit=%zz", "", nil, 400, "query"},
		{"semicolon query", "GET", "/test/v1/things?limit=1;x=2", "", nil, 400, "query"},
		{"unknown parameter", "GET", "/test/v1/things?limt=1", "", nil, 400, "query.limt"},
		{"repeated parameter", "GET", "/test/v1/things?limit=1&limit=2", "", nil, 400, "query.limit"},
		{"repeated header", "PUT", "/test/v1/things/" + id, `{}`, []string{"X-Single", "a", "X-Single", "b"}, 400, "header.X-Single"},
		{"loose boolean", "GET", "/test/v1/things?on=0", "", nil, 400, "query.on"},
		{"upper-case boolean", "GET", "/test/v1/things?on=TRUE", "", nil, 400, "query.on"},
		{"spec with a query", "GET", "/test/v1/openapi.json?x=1", "", nil, 400, "query"},
		{"bad uuid", "GET", "/test/v1/things/nope", "", nil, 400, "path.id"},
		{"body where none is taken", "GET", "/test/v1/things", `{"a":1}`, nil, 400, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, tc.method, tc.target, tc.body, tc.header...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			fields := problemFields(t, rec)
			if !strings.Contains(strings.Join(fields, " "), tc.field) {
				t.Fatalf("errors %v do not name %s", fields, tc.field)
			}
		})
	}
}

func TestAcceptedRequestsReachTheHandlerUnchanged(t *testing.T) {
	h := testServer(t)
	for _, tc := range []struct{ method, target, body, via string }{
		// No default is written into the body: the handler sees the client's bytes.
		{"POST", "/test/v1/things", `{"name":"a"}`, "idempotent"},
		{"POST", "/test/v1/things", `{"name":"pair \ud83d\ude00 ok","count":2}`, "idempotent"},
		{"GET", "/test/v1/things?tag=a&tag=b&limit=3&on=false", "", "plain"},
		{"HEAD", "/test/v1/things", "", "plain"},
		// The absolute form of the request target (RFC 9112 §3.2.2).
		{"GET", "http://api.example.com/test/v1/things?limit=3", "", "plain"},
		{"POST", "http://api.example.com:8000/test/v1/things", `{"name":"a"}`, "idempotent"},
	} {
		rec := do(h, tc.method, tc.target, tc.body)
		if rec.Code != 200 || rec.Body.String() != map[bool]string{true: "", false: tc.body}[tc.method == "HEAD"] || rec.Header().Get("X-Via") != tc.via {
			t.Errorf("%s %s: %d via %q: %s", tc.method, tc.target, rec.Code, rec.Header().Get("X-Via"), rec.Body)
		}
	}
	// Lines of a list header arrive as one list.
	joined := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Header.Get("If-Match")) })
	doc, _ := openapi3.NewLoader().LoadFromData([]byte(testSpec))
	jh, _ := Root([]API{{Name: "test", Prefix: "/test/v1", Spec: doc, Handler: joined}}, nil)
	rec := do(jh, "PUT", "/test/v1/things/0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b", `{}`, "If-Match", `"v1"`, "If-Match", `"v2"`)
	if rec.Code != 200 || rec.Body.String() != `"v1", "v2"` {
		t.Fatalf("If-Match lines: %d %q", rec.Code, rec.Body)
	}
	// A compressed body is not decoded here: 415.
	rec = do(h, "POST", "/test/v1/things", `{"name":"a"}`, "Content-Encoding", "gzip")
	if rec.Code != 415 {
		t.Fatalf("Content-Encoding: %d", rec.Code)
	}
	// Only operations declaring Idempotency-Key run behind the idempotent chain.
	rec = do(h, "PUT", "/test/v1/things/0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b", `{}`)
	if rec.Header().Get("X-Via") != "plain" {
		t.Fatalf("PUT: via %q", rec.Header().Get("X-Via"))
	}
}

func TestPathsThatAreNoRouteAreProblems(t *testing.T) {
	h := testServer(t)
	for _, tc := range []struct {
		method, target string
		status         int
		allow          string
	}{
		{"GET", "/test/v1/things/", 404, ""},
		{"POST", "/test/v1/things/", 404, ""},
		{"GET", "/test/v1//things", 404, ""},
		{"GET", "/test/v1/./things", 404, ""},
		{"GET", "/test/v1/x/../things", 404, ""},
		{"GET", "/test/v1", 404, ""},
		{"GET", "/elsewhere", 404, ""},
		{"DELETE", "/test/v1/things", 405, "GET, HEAD, POST"},
		{"POST", "/test/v1/things/0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b", 405, "GET, HEAD, PUT"},
	} {
		rec := do(h, tc.method, tc.target, "")
		problemFields(t, rec)
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q, want %d %q", tc.method, tc.target, rec.Code, rec.Header().Get("Allow"), tc.status, tc.allow)
		}
	}
}

func TestOversizedBodiesAndErrorListsAreBounded(t *testing.T) {
	h := testServer(t)
	rec := do(h, "POST", "/test/v1/things", `{"name":"`+strings.Repeat("x", 5000)+`"}`)
	if rec.Code != 413 {
		t.Fatalf("%d", rec.Code)
	}
	var members []string
	for i := range 300 {
		members = append(members, fmt.Sprintf(`"m%d":1`, i))
	}
	rec = do(h, "POST", "/test/v1/things", `{"name":"a",`+strings.Join(members, ",")+`}`)
	if n := len(problemFields(t, rec)); rec.Code != 400 || n != problem.MaxFieldErrors+1 {
		t.Fatalf("%d with %d errors, want 400 with %d", rec.Code, n, problem.MaxFieldErrors+1)
	}
}

func TestBindingErrorsNameTheFieldAndNoGoTypes(t *testing.T) {
	var target struct {
		Days int `json:"expires_in_days"`
	}
	err := json.Unmarshal([]byte(`{"expires_in_days":30.0}`), &target)
	rec := httptest.NewRecorder()
	RequestErrorHandler(rec, httptest.NewRequest("POST", "/x", nil), fmt.Errorf("can't decode JSON body: %w", err))
	fields := problemFields(t, rec)
	if rec.Code != 400 || len(fields) != 1 || fields[0] != "body.expires_in_days" {
		t.Fatalf("%d %v", rec.Code, fields)
	}
	rec = httptest.NewRecorder()
	RequestErrorHandler(rec, httptest.NewRequest("GET", "/x", nil), fmt.Errorf("Invalid format for parameter limit: struct configvaultapi.Thing"))
	if rec.Code != 400 || strings.Contains(rec.Body.String(), "configvaultapi") {
		t.Fatalf("Go internals reach the client: %s", rec.Body)
	}
}

func BenchmarkCheckJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := 0; sb.Len() < 1<<20; i++ {
		fmt.Fprintf(&sb, `{"id":%d,"name":"item \u00e9 %d","tags":["a","b"]},`, i, i)
	}
	body := []byte(strings.TrimSuffix(sb.String(), ",") + "]")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":"\ud83d\ude00"}`, `{"a":"\ud800"}`, `[{"a":1,"a":2}]`, `"\\u"`, `{"a\\"":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkJSON(body)
		if err != nil {
			if !problem.Is(err, problem.KindInvalid) {
				t.Fatalf("%q: %v is not a client error", body, err)
			}
			return
		}
		// Accepted means: valid JSON whose re-encoding loses nothing.
		// Numbers stay text: a huge one is valid JSON even if no float holds it.
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			t.Fatalf("accepted %q, which does not decode", body)
		}
		again, _ := json.Marshal(v)
		if strings.ContainsRune(string(again), '\uFFFD') && !strings.ContainsRune(string(body), '\uFFFD') && !strings.Contains(string(body), `\ufffd`) && !strings.Contains(string(body), `\uFFFD`) {
			t.Fatalf("accepted %q, which decodes with replacement characters", body)
		}
	})
}
