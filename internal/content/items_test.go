package content_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/content"
	"github.com/saasplatform/saas/internal/platform/etag"
)

// Editing changes the draft only: delivery serves the live version until
// the draft is published, and nothing once it is unpublished.
func TestDraftAndLiveAreSeparate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	it := e.create(client.ItemCreate{Type: "page", Slug: "about", Title: "About us", Body: ptr("First words."),
		Data: ptr(json.RawMessage(`{"hero":{"image":"a.png"},"order":1.50}`)), Tags: ptr([]string{"company"})})
	if it.Status != client.Draft || it.Revision != 1 || it.LiveRevision != nil || !it.HasUnpublishedChanges ||
		it.Locale != "en" || it.Summary != "" {
		t.Fatalf("created %+v", it)
	}
	if string(it.Data) != `{"hero":{"image":"a.png"},"order":1.50}` {
		t.Errorf("data came back as %s: numbers must be kept exactly", it.Data)
	}
	if _, code := e.live("about"); code != http.StatusNotFound {
		t.Fatalf("an unpublished draft is delivered: %d", code)
	}

	pub := e.publish(it.Id, nil)
	if pub.Status != client.Published || pub.LiveRevision == nil || *pub.LiveRevision != 1 || pub.HasUnpublishedChanges ||
		pub.PublishedAt == nil {
		t.Fatalf("published %+v", pub)
	}
	live, code := e.live("about")
	if code != http.StatusOK || live.Title != "About us" || live.Body != "First words." || live.Revision != 1 {
		t.Fatalf("delivered %d %+v", code, live)
	}

	// A new draft, with a new slug: delivery still serves the old version under the old slug.
	e.update(it.Id, client.ItemUpdate{Title: ptr("About the company"), Slug: ptr("company"), Body: ptr("Second words.")})
	draft, _ := e.get(it.Id)
	if draft.Title != "About the company" || draft.Revision != 2 || !draft.HasUnpublishedChanges ||
		draft.Status != client.Published || *draft.LiveRevision != 1 {
		t.Fatalf("draft %+v", draft)
	}
	if live, _ := e.live("about"); live == nil || live.Title != "About us" || live.Body != "First words." {
		t.Fatalf("editing the draft changed the live version: %+v", live)
	}
	if _, code := e.live("company"); code != http.StatusNotFound {
		t.Fatalf("the draft's new slug is delivered before publishing: %d", code)
	}
	list, err := e.c.ListPublishedWithResponse(ctx(), e.site, nil)
	if err != nil || list.JSON200 == nil || len(list.JSON200.Items) != 1 || list.JSON200.Items[0].Title != "About us" {
		t.Fatalf("delivery list: %v %s", err, list.Body)
	}

	// Publishing makes the draft live in one step; publishing again is a no-op.
	pub = e.publish(it.Id, nil)
	if *pub.LiveRevision != 2 || pub.HasUnpublishedChanges {
		t.Fatalf("republished %+v", pub)
	}
	if again := e.publish(it.Id, nil); again.Revision != pub.Revision || !again.PublishedAt.Equal(*pub.PublishedAt) {
		t.Errorf("publishing the live revision again published it again: %+v", again)
	}
	if _, code := e.live("about"); code != http.StatusNotFound {
		t.Errorf("the old slug is still delivered: %d", code)
	}
	if live, _ := e.live("company"); live == nil || live.Title != "About the company" || live.Revision != 2 {
		t.Fatalf("delivered %+v", live)
	}

	un, err := e.c.UnpublishItemWithResponse(ctx(), e.tenant, e.site, it.Id, nil)
	if err != nil || un.JSON200 == nil || un.JSON200.Status != client.Archived || un.JSON200.LiveRevision != nil {
		t.Fatalf("unpublish: %v %s", err, un.Body)
	}
	if _, code := e.live("company"); code != http.StatusNotFound {
		t.Errorf("an unpublished item is delivered: %d", code)
	}
	if d, _ := e.get(it.Id); d.Body != "Second words." {
		t.Errorf("unpublishing lost the draft: %+v", d)
	}
}

// Lists filter by every parameter, and refuse filters they do not know.
func TestListFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.create(client.ItemCreate{Type: "post", Slug: "a", Title: "A", Tags: ptr([]string{"go", "news"})})
	b := e.create(client.ItemCreate{Type: "post", Slug: "b", Title: "B", Locale: ptr("DE-de"), Tags: ptr([]string{"go"})})
	c := e.create(client.ItemCreate{Type: "page", Slug: "c", Title: "C"})
	if b.Locale != "de-DE" {
		t.Errorf("locale stored as %q, want the canonical de-DE", b.Locale)
	}
	e.publish(c.Id, nil)
	since := time.Now().Add(time.Hour)

	ids := func(p *client.ListItemsParams) []uuid.UUID {
		t.Helper()
		r, err := e.c.ListItemsWithResponse(ctx(), e.tenant, e.site, p)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("list: %v %d %s", err, r.StatusCode(), r.Body)
		}
		var out []uuid.UUID
		for _, it := range r.JSON200.Items {
			out = append(out, it.Id)
		}
		return out
	}
	st := client.Published
	for name, tc := range map[string]struct {
		p    client.ListItemsParams
		want []uuid.UUID
	}{
		"all":            {client.ListItemsParams{}, []uuid.UUID{a.Id, b.Id, c.Id}},
		"type":           {client.ListItemsParams{Type: ptr("post")}, []uuid.UUID{a.Id, b.Id}},
		"tag":            {client.ListItemsParams{Tag: ptr("news")}, []uuid.UUID{a.Id}},
		"locale":         {client.ListItemsParams{Locale: ptr("de-de")}, []uuid.UUID{b.Id}},
		"status":         {client.ListItemsParams{Status: &st}, []uuid.UUID{c.Id}},
		"author":         {client.ListItemsParams{AuthorId: &a.AuthorId, Type: ptr("page")}, []uuid.UUID{c.Id}},
		"other author":   {client.ListItemsParams{AuthorId: ptr(uuid.New())}, nil},
		"updated since":  {client.ListItemsParams{UpdatedSince: &since}, nil},
		"type and tag":   {client.ListItemsParams{Type: ptr("post"), Tag: ptr("go")}, []uuid.UUID{a.Id, b.Id}},
		"no such status": {client.ListItemsParams{Type: ptr("page"), Tag: ptr("go")}, nil},
	} {
		if got := ids(&tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}

	// Pages: two, then one, with the cursor.
	r, _ := e.c.ListItemsWithResponse(ctx(), e.tenant, e.site, &client.ListItemsParams{Limit: ptr(2)})
	if len(r.JSON200.Items) != 2 || r.JSON200.NextCursor == nil {
		t.Fatalf("first page %s", r.Body)
	}
	if got := ids(&client.ListItemsParams{Limit: ptr(2), Cursor: r.JSON200.NextCursor}); !slices.Equal(got, []uuid.UUID{c.Id}) {
		t.Errorf("second page %v", got)
	}

	// Unknown filters, bad values and a cursor of another list are named.
	for query, field := range map[string]string{
		"?author=x":                            "query.author",
		"?locale=en-":                          "query.locale",
		"?status=live":                         "query.status",
		"?tag=Not%20A%20Tag":                   "query.tag",
		"?cursor=bm9wZQ":                       "query.cursor",
		"?q=x&cursor=" + *r.JSON200.NextCursor: "query.cursor",
	} {
		req, _ := http.NewRequest("GET", e.itemsURL(e.site)+query, nil)
		resp, body := e.raw(e.token, req)
		if resp.StatusCode != http.StatusBadRequest || !slices.Contains(fields(t, body), field) {
			t.Errorf("GET items%s: %d %s, want 400 naming %s", query, resp.StatusCode, body, field)
		}
	}
}

// Bad input is refused with the field that is bad, before anything is
// stored: 400 for values, 409 for a slug clash, 412 for a stale If-Match,
// 413 for an oversized body.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	post := func(body string) (int, []string, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.itemsURL(e.site), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, raw := e.raw(e.token, req)
		var names []string
		if resp.StatusCode == http.StatusBadRequest {
			names = fields(t, raw)
		}
		return resp.StatusCode, names, raw
	}
	big := strings.Repeat("x", 1<<20+1)
	for name, tc := range map[string]struct{ body, field string }{
		"slug with capitals":   {`{"type":"page","slug":"Hello","title":"t"}`, "body.slug"},
		"slug with a slash":    {`{"type":"page","slug":"a/b","title":"t"}`, "body.slug"},
		"bad locale":           {`{"type":"page","slug":"a","title":"t","locale":"english please"}`, "body.locale"},
		"ill-formed locale":    {`{"type":"page","slug":"a","title":"t","locale":"en-"}`, "body.locale"},
		"data not an object":   {`{"type":"page","slug":"a","title":"t","data":"{}"}`, "body.data"},
		"data with exponent":   {`{"type":"page","slug":"a","title":"t","data":{"n":1e400}}`, "body.data"},
		"data with NUL":        {`{"type":"page","slug":"a","title":"t","data":{"k":"\u0000"}}`, "body.data"},
		"duplicate data key":   {`{"type":"page","slug":"a","title":"t","data":{"k":1,"k":2}}`, "body.data.k"},
		"malformed JSON":       {`{"type":"page","slug":"a",`, "body"},
		"blank title":          {`{"type":"page","slug":"a","title":"   "}`, "body.title"},
		"title with a newline": {`{"type":"page","slug":"a","title":"a\nb"}`, "body.title"},
		"control in body":      {`{"type":"page","slug":"a","title":"t","body":"a\u0002b"}`, "body.body"},
		"body over 1 MiB":      {`{"type":"page","slug":"a","title":"t","body":"` + big + `"}`, "body.body"},
		"bad tag":              {`{"type":"page","slug":"a","title":"t","tags":["Go Lang"]}`, "body.tags.0"},
		"repeated tag":         {`{"type":"page","slug":"a","title":"t","tags":["go","go"]}`, "body.tags"},
		"bad type":             {`{"type":"Page","slug":"a","title":"t"}`, "body.type"},
		"unknown field":        {`{"type":"page","slug":"a","title":"t","author_id":"x"}`, "body.author_id"},
		"missing slug":         {`{"type":"page","title":"t"}`, "body.slug"},
	} {
		code, names, raw := post(tc.body)
		if code != http.StatusBadRequest || !slices.Contains(names, tc.field) {
			t.Errorf("%s: %d %v %.300s, want 400 naming %s", name, code, names, raw, tc.field)
		}
	}
	if r, _ := e.c.ListItemsWithResponse(ctx(), e.tenant, e.site, nil); len(r.JSON200.Items) != 0 {
		t.Fatalf("refused requests stored items: %s", r.Body)
	}

	// A body of exactly 1 MiB is fine (and one over the request limit is 413, below).
	it := e.create(client.ItemCreate{Type: "page", Slug: "big", Title: "Big", Body: ptr(big[1:])})
	if got, _ := e.get(it.Id); len(got.Body) != 1<<20 {
		t.Fatalf("body of %d bytes", len(got.Body))
	}

	// 409: a slug clash, at create and at update; 412: a stale If-Match, which overwrites nothing.
	e.create(client.ItemCreate{Type: "page", Slug: "home", Title: "Home"})
	if code, _, raw := post(`{"type":"page","slug":"home","title":"Another home"}`); code != http.StatusConflict {
		t.Errorf("slug clash: %d %s", code, raw)
	}
	if code, _, raw := post(`{"type":"post","slug":"home","title":"A post"}`); code != http.StatusCreated {
		t.Errorf("the same slug for another type: %d %s", code, raw)
	}
	if code, _, raw := post(`{"type":"page","slug":"home","title":"Startseite","locale":"de"}`); code != http.StatusCreated {
		t.Errorf("the same slug in another locale: %d %s", code, raw)
	}
	other := e.create(client.ItemCreate{Type: "page", Slug: "other", Title: "Other"})
	clash, _ := e.c.UpdateItemWithResponse(ctx(), e.tenant, e.site, other.Id, nil, client.ItemUpdate{Slug: ptr("home")})
	if clash.StatusCode() != http.StatusConflict {
		t.Errorf("renaming onto a taken slug: %d %s", clash.StatusCode(), clash.Body)
	}
	_, tag := e.get(other.Id)
	e.update(other.Id, client.ItemUpdate{Title: ptr("Other, changed")})
	stale, _ := e.c.UpdateItemWithResponse(ctx(), e.tenant, e.site, other.Id, &client.UpdateItemParams{IfMatch: &tag},
		client.ItemUpdate{Title: ptr("Lost update")})
	if stale.StatusCode() != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d %s", stale.StatusCode(), stale.Body)
	}
	for _, op := range []func() int{
		func() int {
			r, _ := e.c.PublishItemWithResponse(ctx(), e.tenant, e.site, other.Id, &client.PublishItemParams{IfMatch: &tag}, client.PublishRequest{})
			return r.StatusCode()
		},
		func() int {
			r, _ := e.c.DeleteItemWithResponse(ctx(), e.tenant, e.site, other.Id, &client.DeleteItemParams{IfMatch: &tag})
			return r.StatusCode()
		},
		func() int {
			r, _ := e.c.RestoreRevisionWithResponse(ctx(), e.tenant, e.site, other.Id, 1, &client.RestoreRevisionParams{IfMatch: &tag})
			return r.StatusCode()
		},
	} {
		if code := op(); code != http.StatusPreconditionFailed {
			t.Errorf("stale If-Match on a change: %d", code)
		}
	}
	cur, curTag := e.get(other.Id)
	if cur.Title != "Other, changed" || cur.Revision != 2 || cur.Status != client.Draft {
		t.Errorf("a stale change overwrote the item: %+v", cur)
	}
	if ok, _ := e.c.UpdateItemWithResponse(ctx(), e.tenant, e.site, other.Id, &client.UpdateItemParams{IfMatch: &curTag},
		client.ItemUpdate{Title: ptr("Other, again")}); ok.StatusCode() != http.StatusOK ||
		ok.HTTPResponse.Header.Get("ETag") == curTag || ok.HTTPResponse.Header.Get("ETag") != etag.Of(3) {
		t.Errorf("a current If-Match: %d %s %s", ok.StatusCode(), ok.HTTPResponse.Header.Get("ETag"), ok.Body)
	}
	// A change that changes nothing stores no revision.
	if same := e.update(other.Id, client.ItemUpdate{Title: ptr("Other, again")}); same.Revision != 3 {
		t.Errorf("an empty change made revision %d", same.Revision)
	}
}

// An oversized body is refused with 413 before the server reads it whole:
// at once when Content-Length announces it, and as soon as the limit is
// passed when it does not. An Idempotency-Key does not lower the limit.
func TestOversizedBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	huge := `{"type":"page","slug":"a","title":"t","body":"` + strings.Repeat("x", 5<<20) + `"}`
	for name, body := range map[string]io.Reader{
		"with Content-Length": strings.NewReader(huge),
		"chunked":             io.NopCloser(strings.NewReader(huge)), // hides the length
	} {
		req, _ := http.NewRequest("POST", e.itemsURL(e.site), body)
		req.Header.Set("Content-Type", "application/json")
		resp, raw := e.raw(e.token, req)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", name, resp.StatusCode, raw)
		}
	}

	// A client announcing 100 MiB but sending only the first part of it
	// gets its 413 without the server waiting for the rest.
	pr, pw := newStallingBody([]byte(`{"type":"page","slug":"a","title":"t","body":"` + strings.Repeat("y", 64<<10)))
	defer pw()
	req, _ := http.NewRequest("POST", e.itemsURL(e.site), pr)
	req.ContentLength = 100 << 20
	req.Header.Set("Content-Type", "application/json")
	done := make(chan int, 1)
	go func() {
		resp, _ := e.raw(e.token, req)
		done <- resp.StatusCode
	}()
	select {
	case code := <-done:
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("announced 100 MiB: %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server waited for a body it should have refused")
	}

	// Creates up to the limit pass the idempotency middleware too, and replay.
	item := `{"type":"page","slug":"idem","title":"t","body":"` + strings.Repeat("z", 1<<20) + `"}`
	var first []byte
	for i := range 2 {
		req, _ := http.NewRequest("POST", e.itemsURL(e.site), strings.NewReader(item))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "create-idem-1")
		resp, raw := e.raw(e.token, req)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %d with an Idempotency-Key: %d %.300s", i, resp.StatusCode, raw)
		}
		if i == 0 {
			first = raw
		} else if !bytes.Equal(raw, first) || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("the retry was not the first answer replayed")
		}
	}
}

// newStallingBody is a request body that yields data and then blocks until
// released, as a slow client's would.
func newStallingBody(data []byte) (*stallingBody, func()) {
	b := &stallingBody{data: data, release: make(chan struct{})}
	return b, func() { close(b.release) }
}

type stallingBody struct {
	data    []byte
	release chan struct{}
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		<-b.release
		return 0, http.ErrBodyReadAfterClose
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// Settings give a site its default locale, used for items created and
// delivered without one.
func TestSiteSettingsDefaultLocale(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s, err := e.c.GetSiteSettingsWithResponse(ctx(), e.tenant, e.site)
	if err != nil || s.JSON200 == nil || s.JSON200.DefaultLocale != "en" || s.JSON200.UpdatedAt != nil {
		t.Fatalf("defaults: %v %s", err, s.Body)
	}
	defaults := s.HTTPResponse.Header.Get("ETag")
	u, _ := e.c.UpdateSiteSettingsWithResponse(ctx(), e.tenant, e.site, &client.UpdateSiteSettingsParams{IfMatch: &defaults},
		client.SiteSettingsUpdate{DefaultLocale: ptr("de-at")})
	if u.JSON200 == nil || u.JSON200.DefaultLocale != "de-AT" {
		t.Fatalf("update: %d %s", u.StatusCode(), u.Body)
	}
	stale, _ := e.c.UpdateSiteSettingsWithResponse(ctx(), e.tenant, e.site, &client.UpdateSiteSettingsParams{IfMatch: &defaults},
		client.SiteSettingsUpdate{DefaultLocale: ptr("fr")})
	if stale.StatusCode() != http.StatusPreconditionFailed {
		t.Errorf("stale settings change: %d %s", stale.StatusCode(), stale.Body)
	}
	bad, _ := e.c.UpdateSiteSettingsWithResponse(ctx(), e.tenant, e.site, nil, client.SiteSettingsUpdate{DefaultLocale: ptr("xx-")})
	if bad.StatusCode() != http.StatusBadRequest || !slices.Contains(fields(t, bad.Body), "body.default_locale") {
		t.Errorf("bad locale: %d %s", bad.StatusCode(), bad.Body)
	}

	it := e.create(client.ItemCreate{Type: "page", Slug: "start", Title: "Start"})
	if it.Locale != "de-AT" {
		t.Errorf("created in %q, want the site's default", it.Locale)
	}
	e.publish(it.Id, nil)
	if live, code := e.live("start"); code != http.StatusOK || live.Locale != "de-AT" {
		t.Errorf("delivery without locale: %d", code)
	}
	other, _ := e.c.GetPublishedWithResponse(ctx(), e.site, "page", "start", &client.GetPublishedParams{Locale: ptr("en")})
	if other.StatusCode() != http.StatusNotFound {
		t.Errorf("delivery in another locale: %d", other.StatusCode())
	}
	// The second site keeps its own defaults.
	if s2, _ := e.c.GetSiteSettingsWithResponse(ctx(), e.tenant, e.site2); s2.JSON200.DefaultLocale != "en" {
		t.Errorf("site 2: %s", s2.Body)
	}
}
