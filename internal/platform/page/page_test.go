package page

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestCursorRoundTrip(t *testing.T) {
	id := uuid.Must(uuid.NewV7())
	c := Encode(id)
	got, err := Decode(&c)
	if err != nil || *got != id {
		t.Fatalf("Decode(Encode(%s)) = %v, %v", id, got, err)
	}
	if got, err := Decode(nil); got != nil || err != nil {
		t.Fatalf("no cursor: %v %v", got, err)
	}
}

func TestDecodeRejectsForeignCursors(t *testing.T) {
	id := uuid.Must(uuid.NewV7())
	for _, c := range []string{"", "AAAA", "not base64!", Encode(id) + "A", "AgAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := Decode(&c); !problem.Is(err, problem.KindInvalid) {
			t.Errorf("Decode(%q) = %v, want an invalid-request error", c, err)
		}
	}
}

func TestLimit(t *testing.T) {
	for _, tc := range []struct {
		in   *int
		want int
	}{{nil, DefaultLimit}, {ptr(0), 1}, {ptr(-5), 1}, {ptr(7), 7}, {ptr(MaxLimit), MaxLimit}, {ptr(MaxLimit + 1), MaxLimit}} {
		if got := Limit(tc.in); got != tc.want {
			t.Errorf("Limit(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCut(t *testing.T) {
	ids := []uuid.UUID{uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())}
	self := func(u uuid.UUID) uuid.UUID { return u }
	rows, next := Cut(ids, 3, self)
	if len(rows) != 3 || next != nil {
		t.Fatalf("a full last page has no next cursor: %d %v", len(rows), next)
	}
	rows, next = Cut(ids, 2, self)
	if len(rows) != 2 || next == nil {
		t.Fatalf("limit+1 rows mean another page: %d %v", len(rows), next)
	}
	after, _ := Decode(next)
	if *after != ids[1] {
		t.Fatal("the cursor must point after the last row of the page")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(uuid.Must(uuid.NewV7())))
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Decode(&s)
		if err == nil && Encode(*id) != s {
			t.Fatalf("accepted %q, which is not a cursor this package makes", s)
		}
	})
}

func ptr(i int) *int { return &i }

func TestTextCursorRoundTrip(t *testing.T) {
	valid := func(s string) bool { return strings.Contains(s, ":") }
	for _, key := range []string{"users:read", "a:b", strings.Repeat("x", 200) + ":y"} {
		c := EncodeText(key)
		got, err := DecodeText(&c, valid)
		if err != nil || got == nil || *got != key {
			t.Fatalf("DecodeText(EncodeText(%q)) = %v, %v", key, got, err)
		}
	}
	id := Encode(uuid.Must(uuid.NewV7()))
	rejected := []string{"", "!!", EncodeText("no-colon"), id, EncodeText(strings.Repeat("x", 300) + ":y")}
	for _, c := range rejected {
		if _, err := DecodeText(&c, valid); err == nil {
			t.Errorf("DecodeText(%q) accepted a cursor it should refuse", c)
		}
	}
	if got, err := DecodeText(nil, valid); got != nil || err != nil {
		t.Errorf("DecodeText(nil) = %v, %v", got, err)
	}
}

func TestCutText(t *testing.T) {
	rows := []string{"a:a", "b:b", "c:c"}
	got, next := CutText(rows, 2, func(s string) string { return s })
	if len(got) != 2 || next == nil {
		t.Fatalf("CutText = %v, %v", got, next)
	}
	if key, _ := DecodeText(next, func(string) bool { return true }); *key != "b:b" {
		t.Errorf("next cursor continues after %q, want b:b", *key)
	}
	if _, next := CutText(rows, 3, func(s string) string { return s }); next != nil {
		t.Errorf("last page has a next cursor")
	}
}
