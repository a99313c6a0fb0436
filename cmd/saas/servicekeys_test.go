package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/platform/authn"
)

// serviceKeysEnv are the variables the service key rules read.
var serviceKeysEnv = []string{"SAAS_SERVICE_KEYS", "SAAS_SERVICE_PUBLIC_KEYS",
	"SAAS_CONFIG_VAULT_URL", "SAAS_UAM_URL", "SAAS_IAM_URL", "SAAS_CONTENT_URL"}

// generated runs `saas gen-service-keys` and returns its two variables.
func generated(t *testing.T) (private, public string) {
	t.Helper()
	var out bytes.Buffer
	if err := genServiceKeys(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		switch {
		case !ok:
			t.Fatalf("gen-service-keys printed %q, which is no NAME=value line", line)
		case name == "SAAS_SERVICE_KEYS":
			private = value
		case name == "SAAS_SERVICE_PUBLIC_KEYS":
			public = value
		default:
			t.Fatalf("gen-service-keys printed the variable %s", name)
		}
	}
	if private == "" || public == "" {
		t.Fatalf("gen-service-keys printed %q", out.String())
	}
	return private, public
}

// entries picks the name=key entries of names out of a variable's value.
func entries(value string, names ...string) string {
	var out []string
	for _, e := range strings.Split(value, ",") {
		name, _, _ := strings.Cut(e, "=")
		for _, n := range names {
			if n == name {
				out = append(out, e)
			}
		}
	}
	return strings.Join(out, ",")
}

// What `saas gen-service-keys` prints works as printed: the key pairs match,
// every service identity has one, and the private keys are fresh each time.
func TestGenServiceKeysCommand(t *testing.T) {
	private, public := generated(t)
	priv, err := authn.ParseServicePrivateKeys(private)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := authn.ParseServicePublicKeys(public)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range authn.ServiceIdentities() {
		if priv[name] == nil || len(pub[name]) != 1 || !pub[name][0].Equal(priv[name].Public().(ed25519.PublicKey)) {
			t.Errorf("%s: no matching key pair", name)
		}
	}
	if again, _ := generated(t); again == private {
		t.Error("the same keys twice")
	}
	if err := run(context.Background(), "gen-service-keys", []string{"extra"}); err == nil {
		t.Error("gen-service-keys takes no arguments")
	}
}

// Which keys a process needs follows from what it runs: a service that
// calls another needs its own private key, a service that is called needs
// its callers' public keys, and no process holds another service's private
// key. Each error names the variable to fix.
func TestServiceKeysConfig(t *testing.T) {
	private, public := generated(t)
	_, otherPublic := generated(t)
	url := map[string]string{"SAAS_CONFIG_VAULT_URL": "http://config-vault:8000", "SAAS_UAM_URL": "http://uam:8000"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		services string
		env      map[string]string
		want     []string // parts of the error; none for valid
	}{
		{"everything in one process, nothing set: made for the run", "", nil, nil},
		{"everything in one process with its keys", "", with(nil, "SAAS_SERVICE_KEYS", private), nil},
		{"everything in one process with both variables", "", with(nil, "SAAS_SERVICE_KEYS", private, "SAAS_SERVICE_PUBLIC_KEYS", public), nil},
		{"everything in one process with public keys alone", "", with(nil, "SAAS_SERVICE_PUBLIC_KEYS", public),
			[]string{"SAAS_SERVICE_KEYS has no private key of content", "SAAS_SERVICE_KEYS has no private key of iam", "SAAS_SERVICE_KEYS has no private key of uam"}},
		{"everything, but config-vault reached over the network", "", with(url),
			[]string{"SAAS_SERVICE_KEYS has no private key of iam, which calls config-vault and uam"}},
		{"iam alone", "iam", with(url, "SAAS_SERVICE_KEYS", entries(private, "iam")), nil},
		{"iam alone without its key", "iam", with(url),
			[]string{"SAAS_SERVICE_KEYS has no private key of iam, which calls config-vault and uam", "'saas gen-service-keys'"}},
		{"iam alone with uam's key", "iam", with(url, "SAAS_SERVICE_KEYS", entries(private, "uam")),
			[]string{"SAAS_SERVICE_KEYS holds the private key of uam, which this process does not run", "SAAS_SERVICE_KEYS has no private key of iam"}},
		{"content alone holding iam's key too", "content", with(url, "SAAS_SERVICE_KEYS", entries(private, "content", "iam")),
			[]string{"SAAS_SERVICE_KEYS holds the private key of iam, which this process does not run"}},
		{"config-vault alone", "config-vault", with(nil, "SAAS_SERVICE_PUBLIC_KEYS", public), nil},
		{"config-vault alone without public keys", "config-vault", nil,
			[]string{"SAAS_SERVICE_PUBLIC_KEYS has no public key of content, which calls config-vault",
				"SAAS_SERVICE_PUBLIC_KEYS has no public key of iam", "SAAS_SERVICE_PUBLIC_KEYS has no public key of uam"}},
		{"config-vault alone, content's public key missing", "config-vault", with(nil, "SAAS_SERVICE_PUBLIC_KEYS", entries(public, "iam", "uam")),
			[]string{"SAAS_SERVICE_PUBLIC_KEYS has no public key of content"}},
		{"config-vault alone with a private key", "config-vault", with(nil, "SAAS_SERVICE_KEYS", entries(private, "iam"), "SAAS_SERVICE_PUBLIC_KEYS", public),
			[]string{"SAAS_SERVICE_KEYS holds the private key of iam, which this process does not run"}},
		{"uam alone", "uam", with(url, "SAAS_SERVICE_KEYS", entries(private, "uam"), "SAAS_SERVICE_PUBLIC_KEYS", entries(public, "iam")), nil},
		{"uam alone without iam's public key", "uam", with(url, "SAAS_SERVICE_KEYS", entries(private, "uam"), "SAAS_SERVICE_PUBLIC_KEYS", entries(public, "content")),
			[]string{"SAAS_SERVICE_PUBLIC_KEYS has no public key of iam, which calls uam"}},
		{"uam and iam together: iam's public key follows from its private key", "uam,iam", with(url, "SAAS_SERVICE_KEYS", entries(private, "uam", "iam")), nil},
		{"a public key not of the private key beside it", "", with(nil, "SAAS_SERVICE_KEYS", private,
			"SAAS_SERVICE_PUBLIC_KEYS", "iam="+strings.SplitN(entries(public, "uam"), "=", 2)[1]),
			[]string{"SAAS_SERVICE_PUBLIC_KEYS: no public key of iam is that of its private key in SAAS_SERVICE_KEYS"}},
		{"uam alone while iam's key is replaced: two keys of iam", "uam", with(url, "SAAS_SERVICE_KEYS", entries(private, "uam"),
			"SAAS_SERVICE_PUBLIC_KEYS", entries(public, "iam")+","+entries(otherPublic, "iam")), nil},
		{"a public key that is no key", "", with(nil, "SAAS_SERVICE_PUBLIC_KEYS", "iam=bm90IGEga2V5"),
			[]string{"SAAS_SERVICE_PUBLIC_KEYS: the key of iam is not base64 of a 32-byte Ed25519 public key"}},
		{"an unknown service", "", with(nil, "SAAS_SERVICE_KEYS", private+",billing="+strings.SplitN(entries(private, "iam"), "=", 2)[1]),
			[]string{`SAAS_SERVICE_KEYS: entry 4: "billing" is not a service that calls others`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SAAS_MASTER_KEY", newMasterKey())
			for _, k := range serviceKeysEnv {
				t.Setenv(k, tc.env[k])
			}
			selected, err := selectServices(tc.services)
			if err != nil {
				t.Fatal(err)
			}
			c, err := loadConfig(true, selected)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				// What the platform is built from works: each service it
				// runs that calls others can make its credentials.
				creds, err := authn.NewServiceCredentials(app.DefaultPlatformTenantID, c.App.ServiceKeys)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range selected {
					if _, calls := authn.ServiceGrants(s.Name); calls != creds.CanMint(s.Name) {
						t.Errorf("%s: can mint its credential: %v", s.Name, creds.CanMint(s.Name))
					}
				}
				return
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want one mentioning %q", err, w)
				}
			}
			if err != nil {
				for _, e := range strings.Split(private+","+public, ",") {
					if _, key, _ := strings.Cut(e, "="); strings.Contains(err.Error(), key) {
						t.Errorf("an error message quotes a key: %v", err)
					}
				}
			}
		})
	}
}

// `saas serve` checks the service keys before anything else happens: the
// error says which variable lacks what.
func TestServeRefusesMissingServiceKeys(t *testing.T) {
	t.Setenv("SAAS_MASTER_KEY", newMasterKey())
	for _, k := range serviceKeysEnv {
		t.Setenv(k, "")
	}
	t.Setenv("SAAS_CONFIG_VAULT_URL", "http://config-vault:8000")
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none") // never reached
	err := run(context.Background(), "serve", []string{"--services", "content"})
	if err == nil || !strings.Contains(err.Error(), "SAAS_SERVICE_KEYS has no private key of content, which calls config-vault") {
		t.Fatalf("saas serve --services content without its key: %v", err)
	}
	// migrate needs no service key.
	if _, err := loadConfig(false, nil); err != nil {
		t.Fatal(err)
	}
}
