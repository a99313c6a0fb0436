package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/saasplatform/saas/internal/app/apptest"
)

// The platform tenant cannot be switched off: its administrators would lose
// the platform, and a restart would not bring it back.
func TestThePlatformTenantCannotBeDeactivatedOrDeleted(t *testing.T) {
	p := apptest.Start(t)
	admin := p.AdminToken(t)
	path := p.URL + "/config-vault/v1/tenants/" + p.PlatformTenantID.String()
	for _, tc := range []struct{ method, body string }{
		{"PUT", `{"is_active":false}`},
		{"DELETE", ""},
	} {
		req, _ := http.NewRequest(tc.method, path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+admin)
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if code, body := do(t, req); code != http.StatusConflict {
			t.Errorf("%s the platform tenant: %d %s, want 409", tc.method, code, body)
		}
	}
	// Renaming it is fine.
	req, _ := http.NewRequest("PUT", path, strings.NewReader(`{"name":"Operations"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	if code, body := do(t, req); code != http.StatusOK {
		t.Errorf("renaming the platform tenant: %d %s", code, body)
	}
	p.AdminToken(t) // and its administrator still signs in
}

// A platform tenant left without users gets a new first administrator at
// the next start; replicas starting together create one.
func TestBootstrapRunsAgainOnATenantWithoutUsers(t *testing.T) {
	p := apptest.Start(t)
	admin := p.AdminToken(t)
	users := p.URL + "/uam/v1/tenants/" + p.PlatformTenantID.String() + "/users"
	req, _ := http.NewRequest("GET", users, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	code, body := do(t, req)
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list.Items) != 1 {
		t.Fatalf("users of the platform tenant: %d %s", code, body)
	}
	req, _ = http.NewRequest("DELETE", users+"/"+list.Items[0].ID, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	if code, body := do(t, req); code != http.StatusNoContent {
		t.Fatalf("deleting the administrator: %d %s", code, body)
	}

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = p.Bootstrap(context.Background()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("bootstrap again: %v", err)
		}
	}
	var count int
	if err := p.Pool.QueryRow(context.Background(), `SELECT count(*) FROM uam.users WHERE tenant_id = $1`, p.PlatformTenantID).Scan(&count); err != nil || count != 1 {
		t.Fatalf("%d administrators after four replicas bootstrapped (%v), want 1", count, err)
	}
	p.AdminToken(t) // the new administrator signs in, with the platform-admin role
	if code, body := bearer(t, p.URL+"/config-vault/v1/tenants", p.AdminToken(t)); code != http.StatusOK {
		t.Fatalf("the new administrator: %d %s", code, body)
	}
}
