package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// API.RequestError answers every request Mount refuses before a handler:
// parameters, media type, body content. Handlers' answers do not pass it.
func TestRequestErrorAnswersRefusedRequests(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	var refused []problem.Kind
	hook := func(w http.ResponseWriter, r *http.Request, err error) {
		refused = append(refused, problem.KindOf(err))
		w.WriteHeader(http.StatusTeapot)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	h, err := Root([]API{{Name: "test", Prefix: "/test/v1", Spec: doc, Handler: ok, RequestError: hook}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, method, target, contentType, body string }{
		{"an unknown parameter", "GET", "/test/v1/things?nope=1", "", ""},
		{"another media type", "POST", "/test/v1/things", "text/plain", "name=x"},
		{"a body off its schema", "POST", "/test/v1/things", "application/json", `{"name":1}`},
	} {
		if rec := send(h, tc.method, tc.target, tc.contentType, tc.body); rec.Code != http.StatusTeapot {
			t.Errorf("%s: %d %s", tc.name, rec.Code, rec.Body)
		}
	}
	want := []problem.Kind{problem.KindInvalid, problem.KindUnsupportedMediaType, problem.KindInvalid}
	if len(refused) != len(want) {
		t.Fatalf("refused %v, want %v", refused, want)
	}
	for i := range want {
		if refused[i] != want[i] {
			t.Errorf("refusal %d: kind %v, want %v", i, refused[i], want[i])
		}
	}
	if rec := send(h, "GET", "/test/v1/things?limit=2", "", ""); rec.Code != http.StatusOK || len(refused) != len(want) {
		t.Errorf("a valid request: %d", rec.Code)
	}
}

// A body of another media type is told which ones the operation takes.
func TestUnsupportedMediaTypeNamesTheOperationsTypes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`
openapi: 3.0.3
info: {title: test, version: "1"}
paths:
  /form:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {a: {type: string}}}
      responses: {"200": {description: ok}}
`))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	h, err := Root([]API{{Name: "test", Prefix: "/test/v1", Spec: doc, Handler: ok}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := send(h, "POST", "/test/v1/form", "application/json", `{"a":"b"}`)
	if rec.Code != http.StatusUnsupportedMediaType || !strings.Contains(rec.Body.String(), "send the body as application/x-www-form-urlencoded") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// send is a request with one Content-Type (or none).
func send(h http.Handler, method, target, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
