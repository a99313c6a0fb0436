package content_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/content"
)

// Search ranks a title match above a summary match above a body match,
// highlights the matches in escaped HTML, combines with the filters, pages
// in rank order, and searches drafts when editing and live versions in
// delivery.
func TestSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inBody := e.create(client.ItemCreate{Type: "post", Slug: "gardening", Title: "Gardening notes",
		Body: ptr("Tomatoes & herbs. Later we ran the greenhouse controller on Kubernetes, which was overkill.")})
	inTitle := e.create(client.ItemCreate{Type: "post", Slug: "k8s", Title: "Kubernetes operators explained",
		Body: ptr("Operators extend the API with custom controllers.")})
	inSummary := e.create(client.ItemCreate{Type: "page", Slug: "platform", Title: "Our platform",
		Summary: ptr("Runs on Kubernetes."), Body: ptr("Details follow.")})
	e.create(client.ItemCreate{Type: "post", Slug: "other", Title: "Unrelated", Body: ptr("Nothing to see.")})

	search := func(p client.ListItemsParams) []client.ItemSummary {
		t.Helper()
		r, err := e.c.ListItemsWithResponse(ctx(), e.tenant, e.site, &p)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("search: %v %s", err, r.Body)
		}
		return r.JSON200.Items
	}
	hits := search(client.ListItemsParams{Q: ptr("kubernetes")})
	if ids(hits) != ids3(inTitle.Id, inSummary.Id, inBody.Id) {
		t.Fatalf("ranked %v, want title, summary, body match", titles(hits))
	}
	if !(*hits[0].Rank > *hits[1].Rank && *hits[1].Rank > *hits[2].Rank) {
		t.Errorf("ranks %v %v %v do not decrease", *hits[0].Rank, *hits[1].Rank, *hits[2].Rank)
	}
	body := *hits[2].Snippet
	if !strings.Contains(body, "<mark>Kubernetes</mark>") || !strings.Contains(body, "Tomatoes &amp; herbs") {
		t.Errorf("snippet %q: want the match marked and the text escaped", body)
	}

	// With filters; in pages; with web search syntax.
	if got := search(client.ListItemsParams{Q: ptr("kubernetes"), Type: ptr("post")}); ids(got) != ids3(inTitle.Id, inBody.Id) {
		t.Errorf("with type=post: %v", titles(got))
	}
	first := search(client.ListItemsParams{Q: ptr("kubernetes"), Limit: ptr(2)})
	r, _ := e.c.ListItemsWithResponse(ctx(), e.tenant, e.site, &client.ListItemsParams{Q: ptr("kubernetes"), Limit: ptr(2)})
	next, _ := e.c.ListItemsWithResponse(ctx(), e.tenant, e.site,
		&client.ListItemsParams{Q: ptr("kubernetes"), Limit: ptr(2), Cursor: r.JSON200.NextCursor})
	if len(first) != 2 || next.JSON200 == nil || ids(next.JSON200.Items) != ids3(inBody.Id) || next.JSON200.NextCursor != nil {
		t.Errorf("pages %v then %s", titles(first), next.Body)
	}
	if got := search(client.ListItemsParams{Q: ptr(`kubernetes -operators`)}); ids(got) != ids3(inSummary.Id, inBody.Id) {
		t.Errorf("kubernetes -operators: %v", titles(got))
	}
	if got := search(client.ListItemsParams{Q: ptr(`"greenhouse controller"`)}); ids(got) != ids3(inBody.Id) {
		t.Errorf("a phrase: %v", titles(got))
	}
	if got := search(client.ListItemsParams{Q: ptr("KUBERNETES"), Tag: ptr("none")}); len(got) != 0 {
		t.Errorf("with a tag nothing has: %v", titles(got))
	}

	// Delivery searches live versions only: the body match goes live, and a
	// draft edit adding the word elsewhere is not found there.
	e.publish(inBody.Id, nil)
	e.publish(inSummary.Id, nil)
	e.update(inSummary.Id, client.ItemUpdate{Summary: ptr("Runs on bare metal now.")})
	live, err := e.c.ListPublishedWithResponse(ctx(), e.site, &client.ListPublishedParams{Q: ptr("kubernetes")})
	if err != nil || live.JSON200 == nil || live.StatusCode() != http.StatusOK {
		t.Fatalf("delivery search: %v %s", err, live.Body)
	}
	var got []uuid.UUID
	for _, it := range live.JSON200.Items {
		got = append(got, it.Id)
		if it.Rank == nil || it.Snippet == nil {
			t.Errorf("a delivery hit without rank or snippet: %+v", it)
		}
	}
	if len(got) != 2 || got[0] != inSummary.Id || got[1] != inBody.Id {
		t.Errorf("delivery search found %v, want the two live versions, summary match first", got)
	}
	if d := search(client.ListItemsParams{Q: ptr("kubernetes")}); ids(d) != ids3(inTitle.Id, inBody.Id) {
		t.Errorf("editing search after the draft edit: %v", titles(d))
	}
}

func ids(items []client.ItemSummary) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it.Id.String() + " ")
	}
	return b.String()
}

func ids3(id ...uuid.UUID) string {
	var b strings.Builder
	for _, i := range id {
		b.WriteString(i.String() + " ")
	}
	return b.String()
}

func titles(items []client.ItemSummary) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Title)
	}
	return out
}
