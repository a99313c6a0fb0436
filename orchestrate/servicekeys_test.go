package orchestrate

import (
	"crypto/ed25519"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/platform/authn"
)

// The binary itself accepts what each service is given: `saas serve
// --services <name>` with the URLs and service key variables of its
// container or pod would start (internal/app.ResolveServiceKeys is the rule
// it applies), in compose and in every overlay.
func TestDeploymentsGiveTheBinaryItsServiceKeys(t *testing.T) {
	keys := authn.GenerateServiceKeys()
	starts := func(where, name string, has func(string) bool) {
		selected, err := app.Select(name)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			return
		}
		urls := map[string]string{}
		var given authn.ServiceKeys
		for _, s := range services {
			if has(envName(s)) {
				urls[s] = "http://" + s + ":8000"
			}
		}
		if has(serviceKeysVar) {
			// Its own entry: checkServiceKeys and checkCompose hold the
			// files to that.
			given.Private = map[string]ed25519.PrivateKey{name: keys.Private[name]}
		}
		if has(servicePublicKeysVar) {
			given.Public = keys.Public
		}
		if _, err := app.ResolveServiceKeys(given, selected, urls); err != nil {
			t.Errorf("%s: saas serve --services %s would refuse to start: %v", where, name, err)
		}
	}
	f, _ := loadCompose(t)
	for _, name := range services {
		env := f.Services[name].Environment
		starts("docker-compose.yml service "+name, name, func(k string) bool { _, ok := env[k]; return ok })
	}
	for _, ov := range overlays {
		r, err := render(filesys.MakeFsOnDisk(), filepath.Join("k8s", "overlays", ov.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range services {
			d := deployment(r, name)
			if d == nil {
				continue
			}
			c := container(&d.Spec.Template.Spec, "saas")
			if c == nil {
				continue
			}
			starts(ov.name+" Deployment "+name, name, func(k string) bool { _, ok := envSource(r, c, k); return ok })
		}
	}
}

// generatedName reports whether name is base, or base with the hash suffix
// kustomize gives generated ConfigMaps and Secrets.
func generatedName(name, base string) bool {
	rest, ok := strings.CutPrefix(name, base)
	return ok && (rest == "" || len(rest) == 11 && rest[0] == '-')
}

// checkServiceKeys: each service that calls another with its credential
// gets its own private key from a Secret of its own, which reaches no other
// pod; each service called with credentials gets the public keys from the
// ConfigMap; no other service gets either; no ConfigMap holds a secret; and
// where the overlay makes the Secrets (dev), the public keys are those of
// the private keys.
func checkServiceKeys(r rendering, ov overlay) []string {
	var p []string
	errorf := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	for _, name := range services {
		d := deployment(r, name)
		if d == nil {
			continue
		}
		c := container(&d.Spec.Template.Spec, "saas")
		if c == nil {
			continue
		}
		e := envVar(c, serviceKeysVar)
		_, hasKeys := envSource(r, c, serviceKeysVar)
		switch {
		case signsCredentials(name) && (e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
			!generatedName(e.ValueFrom.SecretKeyRef.Name, serviceKeySecret(name)) || e.ValueFrom.SecretKeyRef.Key != serviceKeySecretKey):
			errorf("Deployment %s: %s must come from Secret %s, key %s: its own private key (it calls others with its credential)",
				name, serviceKeysVar, serviceKeySecret(name), serviceKeySecretKey)
		case !signsCredentials(name) && hasKeys:
			errorf("Deployment %s: sets %s, but calls no service with a credential: no private key belongs in it", name, serviceKeysVar)
		}
		e = envVar(c, servicePublicKeysVar)
		_, hasPublic := envSource(r, c, servicePublicKeysVar)
		called := len(credentialCallers[name]) > 0
		switch {
		case called && (e == nil || e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil ||
			!generatedName(e.ValueFrom.ConfigMapKeyRef.Name, publicKeysConfigMap) || e.ValueFrom.ConfigMapKeyRef.Key != servicePublicKeysVar):
			errorf("Deployment %s: %s must come from ConfigMap %s, key %s (it is called with the credentials of %s)",
				name, servicePublicKeysVar, publicKeysConfigMap, servicePublicKeysVar, strings.Join(credentialCallers[name], ", "))
		case !called && hasPublic:
			errorf("Deployment %s: sets %s, but no service calls it with a credential", name, servicePublicKeysVar)
		}
	}

	// A service's private key reaches its own pods and no other, whatever
	// the variable or volume.
	for _, pt := range podTemplates(r) {
		var refs []string
		for _, v := range pt.spec.Volumes {
			if v.Secret != nil {
				refs = append(refs, v.Secret.SecretName)
			}
			if v.Projected != nil {
				for _, src := range v.Projected.Sources {
					if src.Secret != nil {
						refs = append(refs, src.Secret.Name)
					}
				}
			}
		}
		for _, c := range allContainers(pt.spec) {
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					refs = append(refs, ef.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					refs = append(refs, e.ValueFrom.SecretKeyRef.Name)
				}
			}
		}
		for _, ref := range refs {
			for _, s := range services {
				if generatedName(ref, serviceKeySecret(s)) && pt.owner != "Deployment "+s {
					errorf("%s: Secret %s, %s's private key, reaches it; only %s's pods may hold it", pt.owner, serviceKeySecret(s), s, s)
				}
			}
		}
	}

	// Secrets never sit in a ConfigMap, which anyone who may read the
	// namespace's configuration reads.
	for _, o := range r.all("ConfigMap") {
		for k := range o.obj.(*corev1.ConfigMap).Data {
			if secretLike(k) {
				errorf("%s holds %s, which is secret: put it in a Secret", o, k)
			}
		}
	}

	var public map[string][]ed25519.PublicKey
	for _, o := range r.all("ConfigMap") {
		if generatedName(o.name, publicKeysConfigMap) {
			v, ok := o.obj.(*corev1.ConfigMap).Data[servicePublicKeysVar]
			if !ok {
				errorf("%s has no key %s", o, servicePublicKeysVar)
				continue
			}
			var err error
			if public, err = authn.ParseServicePublicKeys(v); err != nil {
				errorf("%s: %s: %v", o, servicePublicKeysVar, err)
			}
		}
	}
	if !ov.devSecrets {
		return p // the Secrets and their public keys are the operator's
	}
	// Dev makes its Secrets: each holds its service's entry alone, and the
	// ConfigMap's public keys are theirs.
	for _, s := range services {
		if !signsCredentials(s) {
			continue
		}
		var secret *corev1.Secret
		for _, o := range r.all("Secret") {
			if generatedName(o.name, serviceKeySecret(s)) {
				secret = o.obj.(*corev1.Secret)
			}
		}
		if secret == nil {
			continue // checkReferences says it is missing
		}
		priv, err := authn.ParseServicePrivateKeys(string(secret.Data[serviceKeySecretKey]))
		if err != nil {
			errorf("Secret %s: %v", serviceKeySecret(s), err)
			continue
		}
		if len(priv) != 1 || priv[s] == nil {
			errorf("Secret %s holds the keys of %q, want %s's alone", serviceKeySecret(s), slices.Sorted(maps.Keys(priv)), s)
			continue
		}
		pub := priv[s].Public().(ed25519.PublicKey)
		if !slices.ContainsFunc(public[s], func(k ed25519.PublicKey) bool { return k.Equal(pub) }) {
			errorf("ConfigMap %s: the public keys of %s do not include that of Secret %s: %s would refuse %s's credentials",
				publicKeysConfigMap, s, serviceKeySecret(s), strings.Join(credentialCallees(s), " and "), s)
		}
	}
	return p
}

// credentialCallees lists whom caller calls with its credential.
func credentialCallees(caller string) []string {
	var out []string
	for _, callee := range services {
		if callsWithCredential(caller, callee) {
			out = append(out, callee)
		}
	}
	return out
}
