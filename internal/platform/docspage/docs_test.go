package docspage

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	gendocs "github.com/saasplatform/saas/gen/docs"
)

var testSpecs = []Spec{
	{Name: "config-vault", URL: "/config-vault/v1/openapi.yaml"},
	{Name: "iam", URL: "/iam/v1/openapi.yaml"},
}

func do(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var configRe = regexp.MustCompile(`(?s)<script id="docs-config" type="application/json">(.*?)</script>`)

// pageConfig decodes the page's JSON configuration block into v.
func pageConfig(t *testing.T, page string, v any) {
	t.Helper()
	m := configRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no docs-config block in page:\n%s", page)
	}
	if err := json.Unmarshal([]byte(m[1]), v); err != nil {
		t.Fatalf("docs-config is not JSON: %v\n%s", err, m[1])
	}
}

var linkRe = regexp.MustCompile(`(?:src|href)="([^"]*)"`)

func links(page string) []string {
	var out []string
	for _, m := range linkRe.FindAllStringSubmatch(page, -1) {
		out = append(out, strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	return out
}

func checkPageHeaders(t *testing.T, res *http.Response) {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q does not limit scripts to 'self'", csp)
	}
	if res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("ETag") == "" {
		t.Errorf("page caching headers: Cache-Control %q, ETag %q", res.Header.Get("Cache-Control"), res.Header.Get("ETag"))
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no X-Content-Type-Options: nosniff")
	}
}

// checkLinks fetches every same-origin asset a page links to and fails on external links.
func checkLinks(t *testing.T, h http.Handler, page string, specs []Spec) {
	t.Helper()
	specURLs := map[string]bool{}
	for _, s := range specs {
		specURLs[s.URL] = true
	}
	var assets int
	for _, l := range links(page) {
		switch {
		case !strings.HasPrefix(l, "/") || strings.HasPrefix(l, "//"):
			t.Errorf("page links outside the origin: %q", l)
		case strings.HasPrefix(l, AssetsPath):
			assets++
			if !strings.Contains(l, "?v=") {
				t.Errorf("asset link %q is not versioned", l)
			}
			res := do(t, h, http.MethodGet, l, nil)
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET %s: status %d", l, res.StatusCode)
			}
			if cc := res.Header.Get("Cache-Control"); cc != cacheImmutable {
				t.Errorf("GET %s: Cache-Control %q, want %q", l, cc, cacheImmutable)
			}
		case specURLs[l], l == DocsPath, strings.HasPrefix(l, RedocPath+"?spec="):
		default:
			t.Errorf("unexpected link %q", l)
		}
	}
	if assets < 3 {
		t.Errorf("page links %d assets, want at least 3", assets)
	}
}

func TestSwaggerPageListsEverySpec(t *testing.T) {
	h := Handler(testSpecs)
	res := do(t, h, http.MethodGet, "/docs", nil)
	checkPageHeaders(t, res)
	page := body(t, res)

	var cfg struct {
		URLs []struct {
			URL  string `json:"url"`
			Name string `json:"name"`
		} `json:"urls"`
		PrimaryName string `json:"primaryName"`
	}
	pageConfig(t, page, &cfg)
	if len(cfg.URLs) != len(testSpecs) {
		t.Fatalf("config lists %d specs, want %d: %+v", len(cfg.URLs), len(testSpecs), cfg.URLs)
	}
	for i, s := range testSpecs {
		if cfg.URLs[i].Name != s.Name || cfg.URLs[i].URL != s.URL {
			t.Errorf("urls[%d] = %+v, want %+v", i, cfg.URLs[i], s)
		}
		if !strings.Contains(page, `<a href="`+s.URL+`">`+s.Name+`</a>`) {
			t.Errorf("no-script list misses %s", s.Name)
		}
	}
	if cfg.PrimaryName != "config-vault" {
		t.Errorf("primaryName %q, want the first spec", cfg.PrimaryName)
	}
	for _, want := range []string{"swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "swagger-token.js", "swagger-init.js"} {
		if !strings.Contains(page, AssetsPath+want+"?v=") {
			t.Errorf("page does not load %s", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<style") || strings.Contains(page, " style=") {
		t.Error("page has inline script or style")
	}
	checkLinks(t, h, page, testSpecs)
}

func TestRedocPageShowsOneSpecWithSelector(t *testing.T) {
	h := Handler(testSpecs)
	for _, tc := range []struct {
		target string
		want   Spec
	}{
		{"/redoc", testSpecs[0]},
		{"/redoc?spec=config-vault", testSpecs[0]},
		{"/redoc?spec=iam", testSpecs[1]},
	} {
		t.Run(tc.target, func(t *testing.T) {
			res := do(t, h, http.MethodGet, tc.target, nil)
			checkPageHeaders(t, res)
			page := body(t, res)
			var cfg struct {
				URL string `json:"url"`
			}
			pageConfig(t, page, &cfg)
			if cfg.URL != tc.want.URL {
				t.Errorf("ReDoc loads %q, want %q", cfg.URL, tc.want.URL)
			}
			for _, s := range testSpecs {
				link := `<a href="/redoc?spec=` + s.Name + `"`
				if !strings.Contains(page, link) {
					t.Errorf("selector misses %s", s.Name)
				}
				current := strings.Contains(page, link+` aria-current="page">`)
				if current != (s.Name == tc.want.Name) {
					t.Errorf("%s marked current: %v", s.Name, current)
				}
			}
			for _, want := range []string{"redoc.standalone.js", "redoc-init.js", "docs.css"} {
				if !strings.Contains(page, AssetsPath+want+"?v=") {
					t.Errorf("page does not load %s", want)
				}
			}
			checkLinks(t, h, page, testSpecs)
		})
	}

	res := do(t, h, http.MethodGet, "/redoc?spec=nope", nil)
	if res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown spec: status %d, Content-Type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestPageConfigIsEscaped(t *testing.T) {
	evil := Spec{Name: `x"</script><script>alert(1)</script>`, URL: `/a?b=1&c="2"`}
	res := do(t, Handler([]Spec{evil}), http.MethodGet, "/docs", nil)
	page := body(t, res)
	if strings.Contains(page, "<script>alert(1)") {
		t.Fatal("spec name breaks out of the configuration block")
	}
	var cfg struct {
		URLs []struct{ URL, Name string } `json:"urls"`
	}
	pageConfig(t, page, &cfg)
	if len(cfg.URLs) != 1 || cfg.URLs[0].Name != evil.Name || cfg.URLs[0].URL != evil.URL {
		t.Errorf("config round trip: %+v", cfg.URLs)
	}
}

func TestAssetsServedWithTypesAndCaching(t *testing.T) {
	h := Handler(testSpecs).(*handler)
	for _, tc := range []struct {
		name, contentType string
		generated         bool
	}{
		{"swagger-ui-bundle.js", "text/javascript; charset=utf-8", true},
		{"swagger-ui-standalone-preset.js", "text/javascript; charset=utf-8", true},
		{"swagger-ui.css", "text/css; charset=utf-8", true},
		{"favicon-32x32.png", "image/png", true},
		{"redoc.standalone.js", "text/javascript; charset=utf-8", true},
		{"swagger-ui-dist.LICENSE.txt", "text/plain; charset=utf-8", true},
		{"swagger-init.js", "text/javascript; charset=utf-8", false},
		{"swagger-token.js", "text/javascript; charset=utf-8", false},
		{"redoc-init.js", "text/javascript; charset=utf-8", false},
		{"docs.css", "text/css; charset=utf-8", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []byte
			var err error
			if tc.generated {
				want, err = fs.ReadFile(gendocs.Assets, "assets/"+tc.name)
			} else {
				want, err = fs.ReadFile(static, "static/"+tc.name)
			}
			if err != nil {
				t.Fatal(err)
			}

			res := do(t, h, http.MethodGet, AssetsPath+tc.name, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			if got := body(t, res); got != string(want) {
				t.Errorf("body differs from the embedded file (%d vs %d bytes)", len(got), len(want))
			}
			if cc := res.Header.Get("Cache-Control"); cc != cacheRevalidate {
				t.Errorf("unversioned: Cache-Control %q, want %q", cc, cacheRevalidate)
			}
			etag := res.Header.Get("ETag")
			if !strings.HasPrefix(etag, `"`) {
				t.Fatalf("ETag %q is not a strong tag", etag)
			}

			versioned := do(t, h, http.MethodGet, AssetsPath+tc.name+"?v="+h.assets[tc.name].version, nil)
			if cc := versioned.Header.Get("Cache-Control"); cc != cacheImmutable {
				t.Errorf("versioned: Cache-Control %q, want %q", cc, cacheImmutable)
			}
			stale := do(t, h, http.MethodGet, AssetsPath+tc.name+"?v=0000", nil)
			if cc := stale.Header.Get("Cache-Control"); cc != cacheRevalidate {
				t.Errorf("other version: Cache-Control %q, want %q", cc, cacheRevalidate)
			}

			notModified := do(t, h, http.MethodGet, AssetsPath+tc.name, http.Header{"If-None-Match": {`"other", ` + etag}})
			if notModified.StatusCode != http.StatusNotModified || body(t, notModified) != "" {
				t.Errorf("If-None-Match with the ETag: status %d", notModified.StatusCode)
			}
			if notModified.Header.Get("ETag") != etag {
				t.Errorf("304 without the ETag")
			}
			changed := do(t, h, http.MethodGet, AssetsPath+tc.name, http.Header{"If-None-Match": {`"other"`}})
			if changed.StatusCode != http.StatusOK {
				t.Errorf("If-None-Match with another ETag: status %d", changed.StatusCode)
			}
		})
	}
}

func TestAssetsGzip(t *testing.T) {
	h := Handler(testSpecs)
	plain := do(t, h, http.MethodGet, AssetsPath+"swagger-ui-bundle.js", nil)
	want := body(t, plain)
	if plain.Header.Get("Content-Encoding") != "" || plain.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("identity: Content-Encoding %q, Vary %q", plain.Header.Get("Content-Encoding"), plain.Header.Get("Vary"))
	}

	res := do(t, h, http.MethodGet, AssetsPath+"swagger-ui-bundle.js", http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	if res.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Error("gzip and identity share an ETag")
	}
	raw := body(t, res)
	if len(raw) >= len(want) {
		t.Errorf("gzip body %d bytes, identity %d", len(raw), len(want))
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(raw)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("gzip body does not decode to the asset")
	}

	refused := do(t, h, http.MethodGet, AssetsPath+"swagger-ui-bundle.js", http.Header{"Accept-Encoding": {"gzip;q=0, *"}})
	if refused.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent although refused with q=0")
	}
	png := do(t, h, http.MethodGet, AssetsPath+"favicon-32x32.png", http.Header{"Accept-Encoding": {"gzip"}})
	if png.Header.Get("Content-Encoding") != "" {
		t.Error("PNG compressed")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                      false,
		"gzip":                  true,
		"GZIP":                  true,
		"deflate, gzip":         true,
		"gzip;q=0.5":            true,
		"gzip; q=0":             false,
		"gzip;q=0.000":          false,
		"*":                     true,
		"*;q=0":                 false,
		"br":                    false,
		"gzip;q=0, *":           false,
		"*, gzip;q=0":           false,
		"identity, *;q=0, gzip": true,
		"x-gzip":                false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestNotFoundMethodsAndRedirects(t *testing.T) {
	h := Handler(testSpecs)
	for _, target := range []string{
		AssetsPath + "nope.js",
		AssetsPath,
		AssetsPath + "../docs.go",
		AssetsPath + "swagger-ui-bundle.js.map",
		"/docs/other",
		"/redocs",
		"/",
	} {
		res := do(t, h, http.MethodGet, target, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("GET %s: Content-Type %q", target, ct)
		}
	}

	for _, target := range []string{"/docs", "/redoc", AssetsPath + "swagger-init.js"} {
		res := do(t, h, http.MethodPost, target, nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: status %d, Allow %q", target, res.StatusCode, res.Header.Get("Allow"))
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("POST %s: Content-Type %q", target, ct)
		}
	}

	head := do(t, h, http.MethodHead, "/docs", nil)
	get := do(t, h, http.MethodGet, "/docs", nil)
	if head.StatusCode != http.StatusOK || body(t, head) != "" || head.Header.Get("Content-Length") != get.Header.Get("Content-Length") {
		t.Errorf("HEAD /docs: status %d, Content-Length %q vs %q", head.StatusCode, head.Header.Get("Content-Length"), get.Header.Get("Content-Length"))
	}

	for target, want := range map[string]string{
		"/docs/":           "/docs",
		"/redoc/":          "/redoc",
		"/redoc/?spec=iam": "/redoc?spec=iam",
	} {
		res := do(t, h, http.MethodGet, target, nil)
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
			t.Errorf("GET %s: status %d, Location %q, want 301 to %s", target, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
}

func TestHandlerRejectsBadSpecs(t *testing.T) {
	for name, specs := range map[string][]Spec{
		"none":      nil,
		"no name":   {{URL: "/a.yaml"}},
		"no URL":    {{Name: "a"}},
		"duplicate": {{Name: "a", URL: "/a.yaml"}, {Name: "a", URL: "/b.yaml"}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Handler did not panic")
				}
			}()
			Handler(specs)
		})
	}
}

// The pages must work offline: no bundle may load anything from a CDN at run time.
func TestAssetsLoadNothingRemote(t *testing.T) {
	b, err := fs.ReadFile(gendocs.Assets, "assets/redoc.standalone.js")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("cdn.redoc.ly")) {
		t.Error("redoc.standalone.js still loads its logo from cdn.redoc.ly (see generate-docs in make/npm.mk)")
	}
	for _, name := range []string{"swagger-init.js", "swagger-token.js", "redoc-init.js", "docs.css"} {
		b, err := fs.ReadFile(static, "static/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("http://")) || bytes.Contains(b, []byte("https://")) {
			t.Errorf("%s refers to a remote URL", name)
		}
	}
}
