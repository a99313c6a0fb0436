// Package docspage serves the API documentation pages from assets embedded in the binary:
//
//	GET /docs                Swagger UI, every spec in the top bar's selector
//	GET /redoc[?spec=NAME]   ReDoc for one spec (the first by default), with a spec selector
//	GET /docs/assets/FILE    Swagger UI and ReDoc bundles (gen/docs) and this package's own files
//
// Nothing is loaded from a CDN. The pages carry no inline script: their configuration is a JSON
// data block read by a served init script, so the Content-Security-Policy allows scripts from
// 'self' only. (The package is named docspage because gen/docs, whose assets it serves, is docs.)
//
// Swagger UI's "Authorize" takes a pasted access token. The specs' bearer scheme is OAuth 2.0
// (client credentials), for which Swagger UI asks for a client id and secret only; a plugin
// (static/swagger-token.js) shows Swagger UI each spec with one more scheme, TokenSchemeName of
// type http bearer, as an alternative to every OAuth 2.0 requirement. It is a view for the docs
// page alone: the specs as served, which clients and the authorization middleware read, do not
// change, and ReDoc shows them as they are.
package docspage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	gendocs "github.com/saasplatform/saas/gen/docs"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Spec is one OpenAPI document shown by the pages.
type Spec struct {
	// Name labels the spec in the selectors and is the value of /redoc?spec=, e.g. "config-vault".
	Name string
	// URL is where the browser fetches the document, on the same origin (the policy allows
	// connections to 'self' only), e.g. "/config-vault/v1/openapi.json".
	URL string
}

// Paths the handler answers; mount it on each of them (it checks paths and methods itself).
const (
	DocsPath   = "/docs"
	AssetsPath = "/docs/assets/"
	RedocPath  = "/redoc"
)

// TokenSchemeName names the http bearer scheme that Swagger UI offers for a pasted access token.
const TokenSchemeName = "accessToken"

// tokenSchemeDescription is shown for it in Swagger UI's "Authorize" dialog (Markdown).
const tokenSchemeDescription = "An access token, pasted as it is (without `Bearer `): the `access_token` " +
	"that signing in (`POST /iam/v1/auth/login`) or the OAuth 2.0 token endpoint answers. It is sent as " +
	"`Authorization: Bearer <token>`; the permission each operation needs is listed under `bearer`. " +
	"This scheme exists on this page only: it stands for the same tokens as `bearer`."

// ContentSecurityPolicy is sent with every answer. Scripts come from 'self' only; styles need
// 'unsafe-inline' because Swagger UI (React) and ReDoc (styled-components) set style attributes
// and insert <style> elements at run time; images and fonts may be data: URIs (Swagger UI's CSS
// icons); ReDoc runs its search index in a Worker made from a blob: URL.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Cache-Control values: an asset requested with its current version (?v=, as the pages link
// them) never changes; anything else is revalidated with its ETag.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

//go:embed static
var static embed.FS

// Handler returns the handler of the documentation pages for specs, listed in the given order.
// It panics when specs is empty, a name or URL is empty, or a name repeats: those are
// programming errors of a fixed configuration, found by the first test that builds it.
func Handler(specs []Spec) http.Handler {
	if len(specs) == 0 {
		panic("docspage: no specs")
	}
	seen := make(map[string]bool, len(specs))
	for _, s := range specs {
		if s.Name == "" || s.URL == "" {
			panic(fmt.Sprintf("docspage: spec %+v needs a name and a URL", s))
		}
		if seen[s.Name] {
			panic(fmt.Sprintf("docspage: spec %q listed twice", s.Name))
		}
		seen[s.Name] = true
	}

	h := &handler{assets: map[string]*asset{}, redoc: map[string]*asset{}}
	h.addAssets(gendocs.Assets, "assets")
	h.addAssets(static, "static")

	tmpl := template.Must(template.New("").Funcs(template.FuncMap{"asset": h.assetURL}).Parse(pagesTemplate))
	h.swagger = h.render(tmpl, "swagger", struct {
		Specs  []Spec
		Config swaggerConfig
	}{specs, newSwaggerConfig(specs)})
	for _, s := range specs {
		h.redoc[s.Name] = h.render(tmpl, "redoc", struct {
			Specs   []Spec
			Current Spec
			Config  redocConfig
		}{specs, s, redocConfig{URL: s.URL}})
	}
	h.redocDefault = specs[0].Name
	return h
}

type swaggerURL struct {
	URL  string `json:"url"`
	Name string `json:"name"`
}

type swaggerConfig struct {
	URLs        []swaggerURL `json:"urls"`
	PrimaryName string       `json:"primaryName"`
	// TokenScheme is the scheme swagger-token.js adds to the specs Swagger UI shows.
	TokenScheme tokenScheme `json:"tokenScheme"`
}

type tokenScheme struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func newSwaggerConfig(specs []Spec) swaggerConfig {
	c := swaggerConfig{PrimaryName: specs[0].Name,
		TokenScheme: tokenScheme{Name: TokenSchemeName, Description: tokenSchemeDescription}}
	for _, s := range specs {
		c.URLs = append(c.URLs, swaggerURL{URL: s.URL, Name: s.Name})
	}
	return c
}

type redocConfig struct {
	URL string `json:"url"`
}

type handler struct {
	assets       map[string]*asset // by file name under AssetsPath
	swagger      *asset
	redoc        map[string]*asset // by spec name
	redocDefault string
}

// asset is one file or page held in memory with its validators and, for text, a gzip variant
// made on first demand.
type asset struct {
	body        []byte
	contentType string
	etag        string // strong, from the content
	version     string // short content hash, the ?v= of asset links
	compress    bool

	gzipOnce sync.Once
	gzipBody []byte
}

func newAsset(body []byte, contentType string) *asset {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	return &asset{
		body:        body,
		contentType: contentType,
		etag:        `"` + hash[:32] + `"`,
		version:     hash[:12],
		compress:    compressible(contentType) && len(body) >= 1024,
	}
}

func (a *asset) gzipped() []byte {
	a.gzipOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level never fails
		_, _ = zw.Write(a.body)                                  // writes to a bytes.Buffer never fail
		_ = zw.Close()
		a.gzipBody = buf.Bytes()
	})
	return a.gzipBody
}

// addAssets loads every file under dir of fsys, by its path below dir.
func (h *handler) addAssets(fsys fs.FS, dir string) {
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, dir+"/")
		if _, dup := h.assets[name]; dup {
			return fmt.Errorf("asset %q exists twice", name)
		}
		h.assets[name] = newAsset(body, contentType(name))
		return nil
	})
	if err != nil {
		panic("docspage: loading assets: " + err.Error())
	}
}

// assetURL is the versioned link to an asset; the pages are rendered once, at construction, so a
// missing asset (gen/docs not generated) fails there.
func (h *handler) assetURL(name string) (string, error) {
	a, ok := h.assets[name]
	if !ok {
		return "", fmt.Errorf("docspage: asset %q missing (run make generate-docs)", name)
	}
	return AssetsPath + name + "?v=" + a.version, nil
}

func (h *handler) render(tmpl *template.Template, name string, data any) *asset {
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		panic("docspage: rendering " + name + ": " + err.Error())
	}
	return newAsset(buf.Bytes(), "text/html; charset=utf-8")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")

	p := r.URL.Path
	known := p == DocsPath || p == DocsPath+"/" || p == RedocPath || p == RedocPath+"/" ||
		(strings.HasPrefix(p, AssetsPath) && len(p) > len(AssetsPath))
	if !known {
		problem.Write(w, r, problem.NotFound("no documentation page at %s", p))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		problem.Write(w, r, problem.New(problem.KindMethodNotAllowed, "%s is not allowed on %s", r.Method, p))
		return
	}

	switch {
	case p == DocsPath+"/" || p == RedocPath+"/":
		target := strings.TrimSuffix(p, "/")
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
	case p == DocsPath:
		hdr.Set("Cache-Control", cacheRevalidate)
		serve(w, r, h.swagger, false)
	case p == RedocPath:
		name := r.URL.Query().Get("spec")
		if name == "" {
			name = h.redocDefault
		}
		page, ok := h.redoc[name]
		if !ok {
			problem.Write(w, r, problem.NotFound("no spec named %q", name))
			return
		}
		hdr.Set("Cache-Control", cacheRevalidate)
		serve(w, r, page, false)
	default:
		a, ok := h.assets[strings.TrimPrefix(p, AssetsPath)]
		if !ok {
			problem.Write(w, r, problem.NotFound("no asset at %s", p))
			return
		}
		if v := r.URL.Query().Get("v"); v == a.version {
			hdr.Set("Cache-Control", cacheImmutable)
		} else {
			hdr.Set("Cache-Control", cacheRevalidate)
		}
		serve(w, r, a, true)
	}
}

// serve answers with a's body, gzip-encoded when it is worth it and accepted, or 304 when the
// request's If-None-Match names the representation's ETag.
func serve(w http.ResponseWriter, r *http.Request, a *asset, mayCompress bool) {
	hdr := w.Header()
	body, etag := a.body, a.etag
	if mayCompress && a.compress {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body = a.gzipped()
			etag = strings.TrimSuffix(a.etag, `"`) + `-gzip"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, etag) {
		hdr.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// etagListMatches applies If-None-Match's weak comparison: "*" or any listed tag equal to etag
// once W/ is ignored.
func etagListMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding value accepts gzip (explicitly or through "*")
// with a non-zero quality.
func acceptsGzip(header string) bool {
	accepted := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		ok := true
		for _, param := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(k, "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				ok = err == nil && q > 0
			}
		}
		if coding == "gzip" {
			return ok // an explicit gzip entry decides
		}
		accepted = ok
	}
	return accepted
}

// contentType by file extension; fixed for the types served here so that the machine's
// mime.types cannot change them.
func contentType(name string) string {
	switch ext := strings.ToLower(path.Ext(name)); ext {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.HasPrefix(contentType, "application/json") ||
		strings.HasPrefix(contentType, "image/svg+xml")
}

// pagesTemplate holds both pages. Their configuration is a JSON data block (html/template
// escapes it for the script context), read by the served init scripts.
const pagesTemplate = `
{{- define "swagger" -}}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API documentation · Swagger UI</title>
<link rel="icon" type="image/png" href="{{asset "favicon-32x32.png"}}">
<link rel="stylesheet" href="{{asset "swagger-ui.css"}}">
<link rel="stylesheet" href="{{asset "docs.css"}}">
</head>
<body>
<noscript><div class="docs-noscript"><p>Swagger UI needs JavaScript. The OpenAPI documents:</p>
<ul>{{range .Specs}}
<li><a href="{{.URL}}">{{.Name}}</a></li>{{end}}
</ul></div></noscript>
<div id="swagger-ui"></div>
<script id="docs-config" type="application/json">{{.Config}}</script>
<script src="{{asset "swagger-ui-bundle.js"}}"></script>
<script src="{{asset "swagger-ui-standalone-preset.js"}}"></script>
<script src="{{asset "swagger-token.js"}}"></script>
<script src="{{asset "swagger-init.js"}}"></script>
</body>
</html>
{{end}}

{{- define "redoc" -}}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Current.Name}} · API reference</title>
<link rel="icon" type="image/png" href="{{asset "favicon-32x32.png"}}">
<link rel="stylesheet" href="{{asset "docs.css"}}">
</head>
<body class="redoc-page">
<nav class="docs-nav" aria-label="API specifications">
<span class="docs-nav-title">API reference</span>
{{- range .Specs}}
<a href="/redoc?spec={{.Name}}"{{if eq .Name $.Current.Name}} aria-current="page"{{end}}>{{.Name}}</a>
{{- end}}
<span class="docs-nav-spacer"></span>
<a href="/docs">Swagger UI</a>
</nav>
<noscript><div class="docs-noscript"><p>ReDoc needs JavaScript. The OpenAPI document: <a href="{{.Current.URL}}">{{.Current.Name}}</a></p></div></noscript>
<div id="redoc"></div>
<script id="docs-config" type="application/json">{{.Config}}</script>
<script src="{{asset "redoc.standalone.js"}}"></script>
<script src="{{asset "redoc-init.js"}}"></script>
</body>
</html>
{{end}}
`
