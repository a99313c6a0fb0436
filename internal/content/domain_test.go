package content_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/saasplatform/saas/internal/content"
	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestOptionsFromEnv(t *testing.T) {
	for name, tc := range map[string]struct {
		env                 map[string]string
		interval, retention time.Duration
		bad                 string // the variable an error must name
	}{
		"defaults":        {env: nil, interval: content.DefaultSchedulerInterval, retention: content.DefaultTrashRetention},
		"durations":       {env: map[string]string{content.EnvSchedulerInterval: "250ms", content.EnvTrashRetention: "36h"}, interval: 250 * time.Millisecond, retention: 36 * time.Hour},
		"days":            {env: map[string]string{content.EnvTrashRetention: "7d"}, interval: content.DefaultSchedulerInterval, retention: 7 * 24 * time.Hour},
		"interval zero":   {env: map[string]string{content.EnvSchedulerInterval: "0s"}, bad: content.EnvSchedulerInterval},
		"interval huge":   {env: map[string]string{content.EnvSchedulerInterval: "2h"}, bad: content.EnvSchedulerInterval},
		"retention words": {env: map[string]string{content.EnvTrashRetention: "a month"}, bad: content.EnvTrashRetention},
		"retention short": {env: map[string]string{content.EnvTrashRetention: "10s"}, bad: content.EnvTrashRetention},
		"negative days":   {env: map[string]string{content.EnvTrashRetention: "-3d"}, bad: content.EnvTrashRetention},
	} {
		o, err := content.OptionsFromEnv(func(k string) string { return tc.env[k] })
		switch {
		case tc.bad != "":
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%s: %v, want an error naming %s", name, err, tc.bad)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case o.SchedulerInterval != tc.interval || o.TrashRetention != tc.retention:
			t.Errorf("%s: %+v", name, o)
		}
	}
}

func TestValueObjects(t *testing.T) {
	for _, tc := range []struct {
		parse func(string, string) (string, error)
		in    string
		want  string // "" means refused
	}{
		{content.ParseSlug, "hello-world-2", "hello-world-2"},
		{content.ParseSlug, "hello--world", ""},
		{content.ParseSlug, "-hello", ""},
		{content.ParseSlug, "héllo", ""},
		{content.ParseSlug, strings.Repeat("a", 201), ""},
		{content.ParseType, "blog_post", "blog_post"},
		{content.ParseType, "1post", ""},
		{content.ParseLocale, "en", "en"},
		{content.ParseLocale, "pt-br", "pt-BR"},
		{content.ParseLocale, "zh-hant-tw", "zh-Hant-TW"},
		{content.ParseLocale, "und", ""},
		{content.ParseLocale, "en-", ""},
		{content.ParseLocale, "", ""},
		{content.ParseTag, "release-notes", "release-notes"},
		{content.ParseTag, "Release Notes", ""},
	} {
		got, err := tc.parse("f", tc.in)
		if tc.want == "" {
			if err == nil || problem.KindOf(err) != problem.KindInvalid {
				t.Errorf("%q accepted as %q", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.in, got, err, tc.want)
		}
	}

	// Drafts: every bad field at once, under its name; data compacted.
	p, err := content.ParseDraftPatch("body", content.DraftInput{Data: ptr(json.RawMessage("{ \"a\" : [1, 2] }"))})
	if err != nil || string(p.Data) != `{"a":[1,2]}` {
		t.Errorf("data: %s %v", p.Data, err)
	}
	_, err = content.ParseDraftPatch("body", content.DraftInput{Slug: ptr("A"), Title: ptr("\u202eevil"),
		Summary: ptr("ok\nfine"), Body: ptr("x\x07"), Data: ptr(json.RawMessage(`[1]`)), Tags: ptr([]string{"ok", "No"})})
	var pe *problem.Error
	if !errors.As(err, &pe) {
		t.Fatalf("not a problem: %v", err)
	}
	var names []string
	for _, f := range pe.Fields {
		names = append(names, f.Field)
	}
	if strings.Join(names, " ") != "body.slug body.title body.body body.data body.tags.1" {
		t.Errorf("fields %v", names)
	}
}
