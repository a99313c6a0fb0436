package httpapi

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/saasplatform/saas/internal/platform/problem"
)

type authKey struct{}

// API.Authorize runs once per routed request, after routing and before the
// parameters and the body are checked; its answer stands, and the request it
// returns is the one served on.
func TestAuthorizeRunsBetweenRoutingAndValidation(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	authorize := func(w http.ResponseWriter, r *http.Request, route *routers.Route, params map[string]string) (*http.Request, bool) {
		calls = append(calls, route.Method+" "+route.Path+" "+params["id"])
		if r.Header.Get("X-Allow") == "" {
			problem.Write(w, r, problem.New(problem.KindUnauthorized, "no"))
			return nil, false
		}
		return r.WithContext(context.WithValue(r.Context(), authKey{}, "caller")), true
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, _ := r.Context().Value(authKey{}).(string)
		_, _ = io.WriteString(w, who)
	})
	h, err := Root([]API{{Name: "test", Prefix: "/test/v1", Spec: doc, Handler: handler, Authorize: authorize}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const id = "0191e4d2-7c1a-7def-8a2b-1c2d3e4f5a6b"
	for _, tc := range []struct {
		method, target, body string
		allow                bool
		status               int
		call                 string // "" none
		answer               string
	}{
		{"GET", "/test/v1/things/" + id, "", false, 401, "GET /things/{id} " + id, ""},
		{"GET", "/test/v1/things/" + id, "", true, 200, "GET /things/{id} " + id, "caller"},
		{"HEAD", "/test/v1/things/" + id, "", false, 401, "GET /things/{id} " + id, ""},
		// Refused before the unknown parameter, the invalid id or the bad body is noticed.
		{"GET", "/test/v1/things?nope=1", "", false, 401, "GET /things ", ""},
		{"GET", "/test/v1/things/not-a-uuid", "", false, 401, "GET /things/{id} not-a-uuid", ""},
		{"POST", "/test/v1/things", `{"name": 1}`, false, 401, "POST /things ", ""},
		{"POST", "/test/v1/things", `{"name": 1}`, true, 400, "POST /things ", ""},
		// Not routed: not authorized.
		{"GET", "/test/v1/elsewhere", "", false, 404, "", ""},
		{"PATCH", "/test/v1/things", "", false, 405, "", ""},
		{"GET", "/test/v1/openapi.json", "", false, 200, "", ""},
	} {
		calls = nil
		var header []string
		if tc.allow {
			header = []string{"X-Allow", "1"}
		}
		rec := do(h, tc.method, tc.target, tc.body, header...)
		if rec.Code != tc.status {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.target, rec.Code, tc.status, rec.Body)
		}
		if (tc.call == "" && len(calls) != 0) || (tc.call != "" && (len(calls) != 1 || calls[0] != tc.call)) {
			t.Errorf("%s %s: Authorize calls %q, want %q", tc.method, tc.target, calls, tc.call)
		}
		if tc.status == 200 && tc.answer != "" && rec.Body.String() != tc.answer {
			t.Errorf("%s %s: the handler saw %q", tc.method, tc.target, rec.Body)
		}
	}
}
