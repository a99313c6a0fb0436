package content_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/content"
	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/content"
)

// How delivery and search cost grow with the content of a site: the same
// benchmarks over a site of 1,000 and of 100,000 live items, through the
// whole platform (token verification, authorization, request validation,
// the site's owner from the directory's cache, the database).
//
//	delivery: GET /sites/{site_id}/published/post/{slug} of random items,
//	          from 8 concurrent clients per core: reads/s
//	search:   GET /sites/{site_id}/published?q=... one at a time: latency
//	          p50 and p99 (over at least 30 searches), for a common word (in
//	          about a third of the items) and a rare one (in about 1%),
//	          ranked, first page of 50 with snippets
//
// Items are seeded with one generate_series INSERT (titles, summaries and
// bodies of 6, 20 and 200 words drawn log-uniformly from 5,000, so word
// frequencies fall off as in natural text), then ANALYZEd.
func BenchmarkContent(b *testing.B) {
	seeded := map[int]*env{}
	// Seeding 100,000 items takes a while: a size is seeded when a
	// benchmark of it first runs, so -bench can pick one.
	site := func(n int) (*env, *client.ClientWithResponses) {
		e := seeded[n]
		if e == nil {
			e = newEnv(b)
			started := time.Now()
			seed(b, e, n)
			b.Logf("seeded %d items in %v", n, time.Since(started).Round(time.Millisecond))
			seeded[n] = e
		}
		return e, benchClient(b, e)
	}
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("delivery/items=%d", n), func(b *testing.B) {
			e, c := site(n)
			b.ResetTimer()
			b.SetParallelism(8) // 8 x GOMAXPROCS clients
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 0))
				for pb.Next() {
					slug := fmt.Sprintf("post-%d", 1+r.IntN(n))
					res, err := c.GetPublishedWithResponse(ctx(), e.site, "post", slug, nil)
					if err != nil || res.StatusCode() != http.StatusOK {
						b.Errorf("%s: %v %d", slug, err, res.StatusCode())
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reads/s")
		})
		for _, q := range []struct{ name, word string }{{"common", "w50"}, {"rare", "w3000"}} {
			b.Run(fmt.Sprintf("search-%s/items=%d", q.name, n), func(b *testing.B) {
				e, c := site(n)
				b.ResetTimer()
				var latencies []time.Duration
				hits := 0
				search := func() {
					t0 := time.Now()
					res, err := c.ListPublishedWithResponse(ctx(), e.site, &client.ListPublishedParams{Q: &q.word})
					latencies = append(latencies, time.Since(t0))
					if err != nil || res.JSON200 == nil {
						b.Fatalf("search: %v %d", err, res.StatusCode())
					}
					hits = len(res.JSON200.Items)
				}
				for b.Loop() {
					search()
				}
				// A slow search runs few times in a second: percentiles
				// of fewer than minSamples are topped up, untimed.
				for len(latencies) < minSamples {
					search()
				}
				if hits == 0 {
					b.Fatalf("%s found nothing", q.word)
				}
				slices.Sort(latencies)
				pct := func(p float64) float64 {
					return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
				}
				b.ReportMetric(pct(0.50), "p50-ms")
				b.ReportMetric(pct(0.99), "p99-ms")
			})
		}
	}
}

// minSamples is the least number of searches the percentiles are taken over.
const minSamples = 30

// seed publishes n items in the env's first site.
func seed(b *testing.B, e *env, n int) {
	b.Helper()
	bg := context.Background()
	_, err := e.p.Pool.Exec(bg, `
		INSERT INTO content.items (tenant_id, site_id, id, type, locale, author_id, slug, title, summary, body, tags,
		                           live_revision, live_slug, live_title, live_summary, live_body, live_data, live_tags,
		                           live_version, published_at)
		SELECT $1, $2, gen_random_uuid(), 'post', 'en', $3, 'post-' || i, t.title, t.summary, t.body,
		       ARRAY['tag-' || i % 20], 1, 'post-' || i, t.title, t.summary, t.body, '{}', ARRAY['tag-' || i % 20],
		       1, now() - make_interval(secs => i)
		FROM generate_series(1, $4::int) i
		CROSS JOIN LATERAL (
		    SELECT (SELECT string_agg('w' || floor(power(5000, random()))::int, ' ') FROM generate_series(1, 6 + i * 0)) AS title,
		           (SELECT string_agg('w' || floor(power(5000, random()))::int, ' ') FROM generate_series(1, 20 + i * 0)) AS summary,
		           (SELECT string_agg('w' || floor(power(5000, random()))::int, ' ') FROM generate_series(1, 200 + i * 0)) AS body
		) t`, e.tenant, e.site, uuid.New(), n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.p.Pool.Exec(bg, `ANALYZE content.items`); err != nil {
		b.Fatal(err)
	}
}

// benchClient is a content client without the contract check (which
// validates every answer against the spec and would dominate the figures),
// keeping enough connections open for the concurrent readers.
func benchClient(b *testing.B, e *env) *client.ClientWithResponses {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	c, err := client.NewClientWithResponses(e.p.URL+content.Prefix, client.WithHTTPClient(&http.Client{Transport: tr}),
		client.WithRequestEditorFn(apptest.Bearer(e.token)))
	if err != nil {
		b.Fatal(err)
	}
	return c
}
