package content_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/content"
	"github.com/saasplatform/saas/internal/content"
)

// A future publish_at schedules the draft's current revision; the platform's
// scheduler makes exactly that revision live when it comes due, while later
// edits stay in the draft.
func TestScheduledPublishing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	it := e.create(client.ItemCreate{Type: "page", Slug: "launch", Title: "Launch", Body: ptr("Approved text.")})
	at := time.Now().Add(700 * time.Millisecond).UTC()
	s := e.publish(it.Id, &at)
	if s.PublishAt == nil || s.ScheduledRevision == nil || *s.ScheduledRevision != 1 || s.Status != client.Draft {
		t.Fatalf("scheduled %+v", s)
	}
	if _, code := e.live("launch"); code != http.StatusNotFound {
		t.Fatalf("delivered before its time: %d", code)
	}
	e.update(it.Id, client.ItemUpdate{Body: ptr("A later edit, not approved.")})

	waitFor(t, 10*time.Second, "the scheduled publication", func() bool {
		_, code := e.live("launch")
		return code == http.StatusOK
	})
	live, _ := e.live("launch")
	if live.Body != "Approved text." || live.Revision != 1 || live.PublishedAt.Before(at) {
		t.Errorf("delivered %+v: want revision 1, published at or after %v", live, at)
	}
	got, _ := e.get(it.Id)
	if got.Status != client.Published || got.PublishAt != nil || got.ScheduledRevision != nil || got.Revision != 2 ||
		!got.HasUnpublishedChanges || got.Body != "A later edit, not approved." {
		t.Errorf("after publication %+v", got)
	}

	// Unpublishing cancels a schedule: nothing goes live when it would have.
	other := e.create(client.ItemCreate{Type: "page", Slug: "cancelled", Title: "Cancelled"})
	at = time.Now().Add(300 * time.Millisecond)
	e.publish(other.Id, &at)
	if r, _ := e.c.UnpublishItemWithResponse(ctx(), e.tenant, e.site, other.Id, nil); r.JSON200 == nil || r.JSON200.PublishAt != nil {
		t.Fatalf("unpublish: %s", r.Body)
	}
	time.Sleep(600 * time.Millisecond)
	if _, code := e.live("cancelled"); code != http.StatusNotFound {
		t.Errorf("a cancelled schedule published: %d", code)
	}

	// A revision whose slug is live on another item by then is not
	// published: the schedule is cancelled with the reason.
	first := e.create(client.ItemCreate{Type: "page", Slug: "news", Title: "News"})
	e.publish(first.Id, nil)
	e.update(first.Id, client.ItemUpdate{Slug: ptr("old-news")}) // the live version keeps "news"
	second := e.create(client.ItemCreate{Type: "page", Slug: "news", Title: "Fresh news"})
	at = time.Now().Add(200 * time.Millisecond)
	e.publish(second.Id, &at)
	waitFor(t, 10*time.Second, "the failed schedule to be cancelled", func() bool {
		got, _ := e.get(second.Id)
		return got.PublishAt == nil
	})
	failed, _ := e.get(second.Id)
	if failed.ScheduleError == nil || failed.Status != client.Draft {
		t.Errorf("a schedule that could not happen: %+v", failed)
	}
	if live, _ := e.live("news"); live == nil || live.Title != "News" {
		t.Errorf("the live item was replaced: %+v", live)
	}
	now, _ := e.c.PublishItemWithResponse(ctx(), e.tenant, e.site, second.Id, nil, client.PublishRequest{})
	if now.StatusCode() != http.StatusConflict {
		t.Errorf("publishing onto a live slug at once: %d %s", now.StatusCode(), now.Body)
	}
}

// Several replicas run the scheduler over one database: each due
// publication happens exactly once. Four extra schedulers race the
// platform's own for two hundred items coming due at the same instant.
func TestSchedulerPublishesExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 200
	ids := make([]uuid.UUID, n)
	for i := range n {
		ids[i] = e.create(client.ItemCreate{Type: "post", Slug: fmt.Sprintf("post-%d", i), Title: "Post"}).Id
	}
	// All come due at the same instant, as if scheduled through the API
	// (TestScheduledPublishing does that), which takes too long for 200.
	var at time.Time
	if err := e.p.Pool.QueryRow(context.Background(), `
		UPDATE content.items SET publish_at = date_trunc('second', now()) + interval '2 seconds', publish_revision = revision
		WHERE id = ANY($1) RETURNING publish_at`, ids).Scan(&at); err != nil {
		t.Fatal(err)
	}
	replicas := make([]*content.Service, 4)
	for i := range replicas {
		replicas[i] = content.NewService(e.p.Pool, nil, content.Options{SchedulerBatch: 7})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	claimed := make([]int, len(replicas))
	var wg sync.WaitGroup
	time.Sleep(time.Until(at))
	for i, r := range replicas {
		wg.Go(func() {
			for ctx.Err() == nil {
				k, err := r.PublishDue(ctx)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("replica %d: %v", i, err)
					}
					return
				}
				claimed[i] += k
				var left int
				_ = e.p.Pool.QueryRow(ctx, `SELECT count(*) FROM content.items WHERE publish_at IS NOT NULL`).Scan(&left)
				if left == 0 {
					return
				}
			}
		})
	}
	wg.Wait()

	var published, twice int
	err := e.p.Pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE live_version = 1 AND live_revision = 1 AND publish_at IS NULL),
		       count(*) FILTER (WHERE live_version > 1)
		FROM content.items WHERE id = ANY($1)`, ids).Scan(&published, &twice)
	if err != nil {
		t.Fatal(err)
	}
	if published != n || twice != 0 {
		t.Errorf("%d of %d published once, %d more than once", published, n, twice)
	}
	total := 0
	for _, k := range claimed {
		total += k
	}
	if total > n {
		t.Errorf("the replicas claimed %d publications of %d", total, n)
	}
	t.Logf("the extra replicas claimed %v of %d; the platform's scheduler the rest", claimed, n)
}

// Every change of the draft is a revision (who, when, what); any revision
// can be read and restored as a new draft.
func TestRevisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	it := e.create(client.ItemCreate{Type: "post", Slug: "hello", Title: "Hello", Body: ptr("v1 body"), Tags: ptr([]string{"a"})})
	e.update(it.Id, client.ItemUpdate{Title: ptr("Hello again")})
	e.update(it.Id, client.ItemUpdate{Body: ptr("v3 body"), Tags: ptr([]string{})})
	e.publish(it.Id, nil)

	list, err := e.c.ListRevisionsWithResponse(ctx(), e.tenant, e.site, it.Id, nil)
	if err != nil || list.JSON200 == nil || len(list.JSON200.Items) != 3 {
		t.Fatalf("revisions: %v %s", err, list.Body)
	}
	revs := list.JSON200.Items
	if revs[0].Number != 3 || revs[1].Number != 2 || revs[2].Number != 1 {
		t.Fatalf("not newest first: %+v", revs)
	}
	changed := func(r client.RevisionSummary) string { return fmt.Sprint(r.Changed) }
	if changed(revs[2]) != "[slug title summary body data tags]" || revs[2].Action != client.RevisionSummaryActionCreate ||
		changed(revs[1]) != "[title]" || changed(revs[0]) != "[body tags]" || revs[1].AuthorId != it.AuthorId {
		t.Errorf("what changed: %s / %s / %s", changed(revs[2]), changed(revs[1]), changed(revs[0]))
	}
	page, _ := e.c.ListRevisionsWithResponse(ctx(), e.tenant, e.site, it.Id, &client.ListRevisionsParams{Limit: ptr(2)})
	rest, _ := e.c.ListRevisionsWithResponse(ctx(), e.tenant, e.site, it.Id,
		&client.ListRevisionsParams{Limit: ptr(2), Cursor: page.JSON200.NextCursor})
	if len(page.JSON200.Items) != 2 || rest.JSON200 == nil || len(rest.JSON200.Items) != 1 || rest.JSON200.Items[0].Number != 1 ||
		rest.JSON200.NextCursor != nil {
		t.Errorf("pages: %s then %s", page.Body, rest.Body)
	}

	one, err := e.c.GetRevisionWithResponse(ctx(), e.tenant, e.site, it.Id, 1)
	if err != nil || one.JSON200 == nil || one.JSON200.Title != "Hello" || one.JSON200.Body != "v1 body" ||
		fmt.Sprint(one.JSON200.Tags) != "[a]" {
		t.Fatalf("revision 1: %v %s", err, one.Body)
	}

	restored, err := e.c.RestoreRevisionWithResponse(ctx(), e.tenant, e.site, it.Id, 1, nil)
	if err != nil || restored.JSON200 == nil {
		t.Fatalf("restore: %v %s", err, restored.Body)
	}
	r := restored.JSON200
	if r.Revision != 4 || r.Title != "Hello" || r.Body != "v1 body" || fmt.Sprint(r.Tags) != "[a]" || !r.HasUnpublishedChanges {
		t.Errorf("restored draft %+v", r)
	}
	if live, _ := e.c.GetPublishedWithResponse(ctx(), e.site, "post", "hello", nil); live.JSON200 == nil ||
		live.JSON200.Body != "v3 body" {
		t.Errorf("restoring touched the live version: %s", live.Body)
	}
	head, _ := e.c.GetRevisionWithResponse(ctx(), e.tenant, e.site, it.Id, 4)
	if head.JSON200 == nil || head.JSON200.Action != client.RevisionActionRestore || head.JSON200.RestoredFrom == nil ||
		*head.JSON200.RestoredFrom != 1 || fmt.Sprint(head.JSON200.Changed) != "[title body tags]" {
		t.Errorf("the restore's revision: %s", head.Body)
	}
	// Restoring what the draft holds changes nothing.
	again, _ := e.c.RestoreRevisionWithResponse(ctx(), e.tenant, e.site, it.Id, 4, nil)
	if again.JSON200 == nil || again.JSON200.Revision != 4 {
		t.Errorf("restoring the current draft: %s", again.Body)
	}
	for _, n := range []int32{5, 99} {
		missing, _ := e.c.GetRevisionWithResponse(ctx(), e.tenant, e.site, it.Id, n)
		restore, _ := e.c.RestoreRevisionWithResponse(ctx(), e.tenant, e.site, it.Id, n, nil)
		if missing.StatusCode() != http.StatusNotFound || restore.StatusCode() != http.StatusNotFound {
			t.Errorf("revision %d: %d, restore %d", n, missing.StatusCode(), restore.StatusCode())
		}
	}
}

// Delivery answers If-None-Match with a current ETag by 304 without a body,
// for an item and for a list page; a new publication changes both ETags.
func TestDeliveryNotModified(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	it := e.create(client.ItemCreate{Type: "page", Slug: "faq", Title: "FAQ"})
	e.publish(it.Id, nil)

	first, _ := e.c.GetPublishedWithResponse(ctx(), e.site, "page", "faq", nil)
	tag := first.HTTPResponse.Header.Get("ETag")
	if first.StatusCode() != http.StatusOK || tag == "" {
		t.Fatalf("first read: %d %q", first.StatusCode(), tag)
	}
	for _, inm := range []string{tag, `"nope", ` + tag, "W/" + tag, "*"} {
		r, _ := e.c.GetPublishedWithResponse(ctx(), e.site, "page", "faq", &client.GetPublishedParams{IfNoneMatch: &inm})
		if r.StatusCode() != http.StatusNotModified || len(r.Body) != 0 || r.HTTPResponse.Header.Get("ETag") != tag {
			t.Errorf("If-None-Match %s: %d %q", inm, r.StatusCode(), r.Body)
		}
	}
	l1, _ := e.c.ListPublishedWithResponse(ctx(), e.site, nil)
	listTag := l1.HTTPResponse.Header.Get("ETag")
	l2, _ := e.c.ListPublishedWithResponse(ctx(), e.site, &client.ListPublishedParams{IfNoneMatch: &listTag})
	if l2.StatusCode() != http.StatusNotModified {
		t.Errorf("list If-None-Match: %d", l2.StatusCode())
	}

	// Editing the draft changes nothing delivered; publishing it does.
	e.update(it.Id, client.ItemUpdate{Title: ptr("Questions")})
	if r, _ := e.c.GetPublishedWithResponse(ctx(), e.site, "page", "faq", &client.GetPublishedParams{IfNoneMatch: &tag}); r.StatusCode() != http.StatusNotModified {
		t.Errorf("a draft edit changed the live ETag: %d", r.StatusCode())
	}
	e.publish(it.Id, nil)
	r, _ := e.c.GetPublishedWithResponse(ctx(), e.site, "page", "faq", &client.GetPublishedParams{IfNoneMatch: &tag})
	if r.StatusCode() != http.StatusOK || r.JSON200.Title != "Questions" || r.HTTPResponse.Header.Get("ETag") == tag {
		t.Errorf("after publishing: %d %q", r.StatusCode(), r.HTTPResponse.Header.Get("ETag"))
	}
	if l3, _ := e.c.ListPublishedWithResponse(ctx(), e.site, &client.ListPublishedParams{IfNoneMatch: &listTag}); l3.StatusCode() != http.StatusOK {
		t.Errorf("the list's ETag survived a publication: %d", l3.StatusCode())
	}

	// Another item published later with the same slug (after this one is
	// deleted) never shares its ETag, though both are first publications.
	fresh := e.create(client.ItemCreate{Type: "page", Slug: "again", Title: "Again"})
	e.publish(fresh.Id, nil)
	a, _ := e.c.GetPublishedWithResponse(ctx(), e.site, "page", "again", nil)
	if a.HTTPResponse.Header.Get("ETag") == tag {
		t.Error("two items share an ETag")
	}
}
