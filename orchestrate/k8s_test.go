package orchestrate

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// services are the platform's services: one Deployment, Service,
// PodDisruptionBudget and HorizontalPodAutoscaler each, in every overlay.
var services = []string{"config-vault", "uam", "iam", "content"}

// servicePort is where every service listens (SAAS_ADDR), in compose and
// in Kubernetes alike.
const servicePort = 8000

// callers says which services call which: the NetworkPolicies must let
// exactly these through (and the ingress controller and Prometheus), and
// exactly these callers get the callee's SAAS_<SERVICE>_URL. For the services
// the binary has, services_test.go holds this to internal/app.
var callers = map[string][]string{
	// All of them: key sets (JWKS) to verify tokens. iam: signing
	// (internal); uam and content: tenant and site checks.
	"config-vault": {"iam", "uam", "content"},
	"uam":          {"iam"}, // credential checks and user grants (internal)
	"iam":          nil,     // tokens are verified locally, against JWKS
	"content":      nil,
}

// calls reports whether service caller calls service callee.
func calls(caller, callee string) bool { return slices.Contains(callers[callee], caller) }

// credentialCallers says which of those calls carry the caller's own
// service credential (all but fetching key sets): a caller needs its private
// key (SAAS_SERVICE_KEYS, from a Secret of its own that no other service
// gets), a callee its callers' public keys (SAAS_SERVICE_PUBLIC_KEYS, not
// secret). services_test.go holds this to internal/app.
var credentialCallers = map[string][]string{
	"config-vault": {"iam", "uam", "content"}, // signing; tenant and site checks
	"uam":          {"iam"},                   // credential checks and user grants
}

// callsWithCredential reports whether caller calls callee with its service
// credential.
func callsWithCredential(caller, callee string) bool {
	return slices.Contains(credentialCallers[callee], caller)
}

// signsCredentials reports whether service calls any other with its own
// credential, so needs its private key.
func signsCredentials(service string) bool {
	for _, cs := range credentialCallers {
		if slices.Contains(cs, service) {
			return true
		}
	}
	return false
}

// The variables of the service keys, and where they come from: the private
// key of each calling service from a Secret of its own (Kubernetes) or a
// variable of .env of its own (compose); the public keys from the
// saas-service-public-keys ConfigMap or one .env variable.
const (
	serviceKeysVar       = "SAAS_SERVICE_KEYS"
	servicePublicKeysVar = "SAAS_SERVICE_PUBLIC_KEYS"
	serviceKeySecretKey  = "service-keys"
	publicKeysConfigMap  = "saas-service-public-keys"
)

func serviceKeySecret(service string) string { return "saas-service-key-" + service }

func serviceKeyEnvVar(service string) string {
	return "SAAS_SERVICE_KEY_" + strings.ToUpper(strings.ReplaceAll(service, "-", "_"))
}

// sharedSettings must have one value in every service: the master key
// (private keys at rest, idempotency fingerprints), the public URL (token
// issuers and audience) and the platform tenant (administrators across
// tenants; the services' own credentials belong to it).
var sharedSettings = []string{"SAAS_MASTER_KEY", "SAAS_PUBLIC_URL", "SAAS_PLATFORM_TENANT_ID"}

// bootstrapper creates the platform tenant's first administrator from
// bootstrapVars at its first start; no other service gets them.
const bootstrapper = "uam"

var bootstrapVars = []string{"SAAS_BOOTSTRAP_ADMIN_EMAIL", "SAAS_BOOTSTRAP_ADMIN_PASSWORD"}

// dbLogin is the database login of a service (roles.sql, logins.sh,
// CloudNativePG's managed roles).
func dbLogin(service string) string { return strings.ReplaceAll(service, "-", "_") }

type overlay struct {
	name      string
	namespace string
	// devSecrets: the overlay generates its Secrets (throw-away values);
	// otherwise no Secret may be defined and all are expected in the cluster.
	devSecrets bool
	production bool
}

var overlays = []overlay{
	{name: "dev", namespace: "saas-dev", devSecrets: true},
	{name: "production", namespace: "saas", production: true},
}

// ---------------------------------------------------------------------------
// Rendering and strict decoding

// cnpgGV is CloudNativePG's API group. There is no Go type for its Cluster
// here, so cnpgCluster below declares the fields the production overlay uses,
// with their types: strict decoding then fails on any other field (a typo, a
// field of another version) just as for the Kubernetes types.
var cnpgGV = schema.GroupVersion{Group: "postgresql.cnpg.io", Version: "v1"}

type cnpgCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Instances             int    `json:"instances"`
		ImageName             string `json:"imageName"`
		PrimaryUpdateStrategy string `json:"primaryUpdateStrategy"`
		EnableSuperuserAccess *bool  `json:"enableSuperuserAccess"`
		PostgreSQL            struct {
			Parameters  map[string]string `json:"parameters"`
			Synchronous *struct {
				Method string `json:"method"`
				Number int    `json:"number"`
			} `json:"synchronous"`
		} `json:"postgresql"`
		Bootstrap struct {
			InitDB *struct {
				Database                   string         `json:"database"`
				Owner                      string         `json:"owner"`
				Secret                     *cnpgLocalName `json:"secret"`
				PostInitApplicationSQLRefs *struct {
					ConfigMapRefs []cnpgKeyRef `json:"configMapRefs"`
					SecretRefs    []cnpgKeyRef `json:"secretRefs"`
				} `json:"postInitApplicationSQLRefs"`
			} `json:"initdb"`
		} `json:"bootstrap"`
		Managed struct {
			Roles []struct {
				Name           string         `json:"name"`
				Ensure         string         `json:"ensure"`
				Login          bool           `json:"login"`
				InRoles        []string       `json:"inRoles"`
				PasswordSecret *cnpgLocalName `json:"passwordSecret"`
			} `json:"roles"`
		} `json:"managed"`
		Storage struct {
			Size         resource.Quantity `json:"size"`
			StorageClass *string           `json:"storageClass"`
		} `json:"storage"`
		WalStorage *struct {
			Size         resource.Quantity `json:"size"`
			StorageClass *string           `json:"storageClass"`
		} `json:"walStorage"`
		Resources corev1.ResourceRequirements `json:"resources"`
		Affinity  struct {
			EnablePodAntiAffinity *bool  `json:"enablePodAntiAffinity"`
			PodAntiAffinityType   string `json:"podAntiAffinityType"`
			TopologyKey           string `json:"topologyKey"`
		} `json:"affinity"`
		InheritedMetadata struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"inheritedMetadata"`
	} `json:"spec"`
}

type cnpgLocalName struct {
	Name string `json:"name"`
}

type cnpgKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

func (c *cnpgCluster) DeepCopyObject() runtime.Object {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	out := new(cnpgCluster)
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}

// strictDecoder is Kubernetes' own decoder in strict mode: unknown fields,
// duplicate fields and wrongly cased field names are errors, and so are
// kinds no registered API knows.
var strictDecoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	s.AddKnownTypeWithName(cnpgGV.WithKind("Cluster"), &cnpgCluster{})
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}()

type object struct {
	kind, name, namespace string
	obj                   runtime.Object
}

func (o object) String() string { return o.kind + " " + o.name }

// rendering is one kustomization's output, every resource decoded.
type rendering struct {
	objs []object
}

func (r rendering) all(kind string) []object {
	var out []object
	for _, o := range r.objs {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (r rendering) get(kind, name string) (runtime.Object, bool) {
	for _, o := range r.objs {
		if o.kind == kind && o.name == name {
			return o.obj, true
		}
	}
	return nil, false
}

func deployment(r rendering, name string) *appsv1.Deployment {
	if o, ok := r.get("Deployment", name); ok {
		return o.(*appsv1.Deployment)
	}
	return nil
}

// render builds the kustomization in dir the way `kubectl kustomize` does,
// in-process: no plugins, no exec, no network (every base is local; a remote
// one would fail here). Each resource is then strictly decoded.
func render(fSys filesys.FileSystem, dir string) (rendering, error) {
	opts := krusty.MakeDefaultOptions() // plugins disabled, loads restricted to the kustomization root
	m, err := krusty.MakeKustomizer(opts).Run(fSys, dir)
	if err != nil {
		return rendering{}, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	var r rendering
	seen := map[string]bool{}
	for _, res := range m.Resources() {
		js, err := res.MarshalJSON()
		if err != nil {
			return rendering{}, err
		}
		id := res.GetKind() + " " + res.GetName()
		obj, gvk, err := strictDecoder.Decode(js, nil, nil)
		if err != nil {
			return rendering{}, fmt.Errorf("%s: %w", id, err)
		}
		if seen[id] {
			return rendering{}, fmt.Errorf("%s: defined twice", id)
		}
		seen[id] = true
		r.objs = append(r.objs, object{kind: gvk.Kind, name: res.GetName(), namespace: res.GetNamespace(), obj: obj})
	}
	return r, nil
}

// ---------------------------------------------------------------------------
// Tests

// Every overlay renders, every resource decodes strictly into its API type,
// and every rule below holds.
func TestOverlays(t *testing.T) {
	for _, ov := range overlays {
		t.Run(ov.name, func(t *testing.T) {
			r, err := render(filesys.MakeFsOnDisk(), filepath.Join("k8s", "overlays", ov.name))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range check(r, ov) {
				t.Error(p)
			}
		})
	}
}

// The base alone renders too, and holds no Secret: credentials are only
// ever referenced.
func TestBaseDefinesNoSecret(t *testing.T) {
	r, err := render(filesys.MakeFsOnDisk(), filepath.Join("k8s", "base"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkNoSecrets(r) {
		t.Error(p)
	}
	if len(r.all("Deployment")) != len(services) {
		t.Errorf("base: %d Deployments, want one per service (%d)", len(r.all("Deployment")), len(services))
	}
}

// The production Secrets, which exist only in the cluster, are each named
// in the README, so an operator knows what to create before applying.
func TestProductionSecretsAreDocumented(t *testing.T) {
	r, err := render(filesys.MakeFsOnDisk(), filepath.Join("k8s", "overlays", "production"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cluster := cnpgClusters(r)
	external := referencedSecrets(r)
	if len(external) == 0 {
		t.Fatal("production references no Secret at all")
	}
	for _, name := range external {
		if len(cluster) == 1 && name == cluster[0].Name+"-ca" {
			continue // created by CloudNativePG
		}
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("production expects Secret %s in the cluster, but README.md does not name it (as `%s`)", name, name)
		}
	}
}

// The checks can fail: each mutation breaks one rule in a copy of the tree,
// and the overlay must then be refused with the expected complaint.
func TestChecksCatchBrokenManifests(t *testing.T) {
	type mutation struct {
		name    string
		overlay string
		file    string // under k8s/
		old     string // replaced (every occurrence) by new; "" appends new
		new     string
		want    string // part of one problem
	}
	statefulSet := `
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
spec:
  serviceName: postgres
  selector:
    matchLabels: {app: postgres}
  template:
    metadata:
      labels: {app: postgres}
    spec:
      containers:
        - name: postgres
          image: postgres:17
`
	for _, m := range []mutation{
		{"writable root filesystem", "dev", "base/uam.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"privilege escalation", "production", "base/config-vault.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation"},
		{"root allowed", "dev", "base/migrate-job.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
		{"no limits", "production", "base/uam.yaml", "            limits:\n              cpu: \"2\"\n              memory: 512Mi\n", "", "limits"},
		{"readiness on the wrong path", "dev", "base/iam.yaml", "path: /readyz", "path: /healthz", "readiness"},
		{"no liveness", "dev", "base/content.yaml", "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: http\n            periodSeconds: 10\n            timeoutSeconds: 2\n            failureThreshold: 3\n", "", "content liveness: no probe"},
		{"misspelled field", "production", "base/content.yaml", "readinessProbe:", "readynessProbe:", "unknown field"},
		{"HPA aims at nothing", "dev", "base/content.yaml", "    kind: Deployment\n    name: content", "    kind: Deployment\n    name: contents", "HorizontalPodAutoscaler content"},
		{"replicas fight the HPA", "dev", "base/uam.yaml", "  revisionHistoryLimit: 5", "  replicas: 2\n  revisionHistoryLimit: 5", "replicas"},
		{"inline secret", "production", "base/kustomization.yaml", "configMapGenerator:", "secretGenerator:\n  - name: oops\n    literals: [password=hunter2]\nconfigMapGenerator:", "Secret"},
		{"password as plain value", "dev", "base/iam.yaml", "            - name: SAAS_ADDR\n", "            - name: SAAS_BOOTSTRAP_ADMIN_PASSWORD_X\n              value: hunter2\n            - name: SAAS_ADDR\n", "PASSWORD"},
		{"content reaches uam", "dev", "base/network-policies.yaml", "    # iam alone: credential checks and grants (internal) and user look-ups.\n    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: iam", "    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: content", "Deployment content can reach uam: true"},
		{"iam cannot reach uam", "production", "base/network-policies.yaml", "    # iam alone: credential checks and grants (internal) and user look-ups.\n    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: iam", "    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: iam-old", "Deployment iam can reach uam: false"},
		{"iam cannot reach config-vault", "dev", "base/network-policies.yaml", "values: [iam, uam, content]", "values: [uam, content]", "Deployment iam can reach config-vault: false"},
		{"no default deny", "production", "base/network-policies.yaml", "  name: saas-default-deny-ingress\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/part-of: saas", "  name: saas-default-deny-ingress\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/part-of: nothing", "default deny"},
		{"internal path routed", "production", "base/ingress.yaml", "path: /uam/v1/internal\n", "path: /uam/v1/internals\n", "/uam/v1/internal"},
		{"iam not routed", "production", "base/ingress.yaml", "path: /iam/v1\n", "path: /iam/v2\n", "/iam/v1/auth/login goes to"},
		{"caller without the URL", "dev", "base/iam.yaml", "            - name: SAAS_UAM_URL\n              value: http://uam:8000\n", "", "Deployment iam: SAAS_UAM_URL must be"},
		{"URL of a service it does not call", "production", "base/config-vault.yaml", "            - name: SAAS_RSA_POOL_SIZE\n", "            - name: SAAS_IAM_URL\n              value: http://iam:8000\n            - name: SAAS_RSA_POOL_SIZE\n", "Deployment config-vault: sets SAAS_IAM_URL, but does not call iam"},
		{"public URL of one service", "dev", "base/iam.yaml", "            - name: SAAS_ADDR\n", "            - name: SAAS_PUBLIC_URL\n              value: http://localhost:8003\n            - name: SAAS_ADDR\n", "SAAS_PUBLIC_URL differs"},
		{"public URL is not the Ingress", "production", "overlays/production/kustomization.yaml", "SAAS_PUBLIC_URL=https://api.saas.example", "SAAS_PUBLIC_URL=https://saas.example", "issuers would not resolve"},
		{"public URL without TLS", "production", "overlays/production/kustomization.yaml", "SAAS_PUBLIC_URL=https://api.saas.example", "SAAS_PUBLIC_URL=http://api.saas.example", "want https://api.saas.example"},
		{"public URL with a path", "dev", "overlays/dev/kustomization.yaml", "SAAS_PUBLIC_URL=http://saas.localtest.me", "SAAS_PUBLIC_URL=http://saas.localtest.me/iam/v1", "not a base URL"},
		{"content gets iam's private key", "dev", "base/content.yaml", "secretKeyRef: {name: saas-service-key-content, key: service-keys}",
			"secretKeyRef: {name: saas-service-key-iam, key: service-keys}", "Secret saas-service-key-iam, iam's private key, reaches it"},
		{"content's key under another variable in iam", "production", "base/iam.yaml", "            - name: SAAS_ADDR\n",
			"            - name: SAAS_ADDR\n            - name: EXTRA\n              valueFrom:\n                secretKeyRef: {name: saas-service-key-content, key: service-keys}\n",
			"Deployment iam: Secret saas-service-key-content, content's private key, reaches it"},
		{"uam's key for every container of iam", "dev", "base/iam.yaml", "          envFrom:\n",
			"          envFrom:\n            - secretRef:\n                name: saas-service-key-uam\n", "uam's private key, reaches it"},
		{"iam without its private key", "production", "base/iam.yaml", "            - name: SAAS_SERVICE_KEYS\n", "            - name: SAAS_SERVICE_KEYS_OLD\n",
			"Deployment iam: SAAS_SERVICE_KEYS must come from Secret saas-service-key-iam"},
		{"private key inlined", "dev", "base/uam.yaml", "              valueFrom:\n                secretKeyRef: {name: saas-service-key-uam, key: service-keys}\n",
			"              value: uam=YaTzyGN7dyD0R2Wp3qBpY9rK2DGTynJtEhQedDPUV1Q=\n", "SAAS_SERVICE_KEYS must come from a Secret"},
		{"private key in the shared ConfigMap", "dev", "overlays/dev/kustomization.yaml", "      - SAAS_LOG_LEVEL=debug\n",
			"      - SAAS_LOG_LEVEL=debug\n      - SAAS_SERVICE_KEYS=iam=aJ9PIdCJHBW9EtNA+BI0cGe26eZCjpwoD8bUAQgHAeM=\n", "holds SAAS_SERVICE_KEYS, which is secret"},
		{"a private key for config-vault", "production", "base/config-vault.yaml", "            - name: SAAS_RSA_POOL_SIZE\n",
			"            - name: SAAS_SERVICE_KEYS\n              valueFrom:\n                secretKeyRef: {name: saas-service-key-config-vault, key: service-keys}\n            - name: SAAS_RSA_POOL_SIZE\n",
			"Deployment config-vault: sets SAAS_SERVICE_KEYS, but calls no service with a credential"},
		{"config-vault without the public keys", "dev", "base/config-vault.yaml", "            - name: SAAS_SERVICE_PUBLIC_KEYS\n", "            - name: SAAS_SERVICE_PUBLIC_KEYS_X\n",
			"Deployment config-vault: SAAS_SERVICE_PUBLIC_KEYS must come from ConfigMap saas-service-public-keys"},
		{"public keys for a service nobody calls", "production", "base/iam.yaml", "            - name: SAAS_ADDR\n",
			"            - name: SAAS_SERVICE_PUBLIC_KEYS\n              valueFrom:\n                configMapKeyRef: {name: saas-service-public-keys, key: SAAS_SERVICE_PUBLIC_KEYS}\n            - name: SAAS_ADDR\n",
			"Deployment iam: sets SAAS_SERVICE_PUBLIC_KEYS, but no service calls it with a credential"},
		{"dev public key of another key pair", "dev", "overlays/dev/kustomization.yaml", "iam=Fix+CromoK/Q1RS4VfZlsghkF86XQ/yZ/smBaRwac0c=",
			"iam=bxtupkLF/EGwaquSS+fdntmXqmLmsBj3Dn0pBemBqMY=", "the public keys of iam do not include that of Secret saas-service-key-iam"},
		{"dev Secret with two services' keys", "dev", "overlays/dev/kustomization.yaml", "service-keys=content=BcdUdbDHU8Tiqr7lxJhaS6LSIKtW2jtCJvJbs5svs6o=",
			"service-keys=content=BcdUdbDHU8Tiqr7lxJhaS6LSIKtW2jtCJvJbs5svs6o=,iam=aJ9PIdCJHBW9EtNA+BI0cGe26eZCjpwoD8bUAQgHAeM=", "want content's alone"},
		{"master key of its own", "production", "base/uam.yaml", "secretKeyRef: {name: saas-master-key, key: master-key}", "secretKeyRef: {name: saas-uam-master-key, key: master-key}", "SAAS_MASTER_KEY differs"},
		{"platform tenant of its own", "dev", "base/content.yaml", "            - name: SAAS_ADDR\n", "            - name: SAAS_PLATFORM_TENANT_ID\n              value: 00000000-0000-7000-8000-000000000002\n            - name: SAAS_ADDR\n", "SAAS_PLATFORM_TENANT_ID differs"},
		{"no bootstrap administrator", "dev", "base/uam.yaml", "            - name: SAAS_BOOTSTRAP_ADMIN_PASSWORD\n", "            - name: SAAS_BOOTSTRAP_ADMIN_PASSWORD_OLD\n", "Deployment uam: no SAAS_BOOTSTRAP_ADMIN_PASSWORD"},
		{"bootstrap password for another service", "production", "base/iam.yaml", "            - name: SAAS_ADDR\n", "            - name: SAAS_BOOTSTRAP_ADMIN_PASSWORD\n              valueFrom:\n                secretKeyRef: {name: saas-bootstrap-admin, key: password}\n            - name: SAAS_ADDR\n", "Deployment iam: sets SAAS_BOOTSTRAP_ADMIN_PASSWORD"},
		{"undefined variable", "dev", "base/iam.yaml", "$(DB_NAME)?", "$(DB_NAMES)?", "DB_NAMES"},
		{"missing ConfigMap key", "production", "base/uam.yaml", "            - name: SAAS_DB_MAX_CONNS\n              value: \"10\"\n", "            - name: SAAS_DB_MAX_CONNS\n              valueFrom:\n                configMapKeyRef: {name: saas-config, key: DB_MAX_CONNS}\n", "has no key DB_MAX_CONNS"},
		{"single instance database", "production", "overlays/production/database.yaml", "instances: 3", "instances: 1", "instances"},
		{"unknown Cluster field", "production", "overlays/production/database.yaml", "enableSuperuserAccess: false", "enableSuperUserAccess: false", "unknown field"},
		{"hand-rolled StatefulSet", "production", "overlays/production/database.yaml", "", statefulSet, "never from a StatefulSet"},
		{"connection budget", "production", "overlays/production/database.yaml", `max_connections: "600"`, `max_connections: "100"`, "max_connections"},
		{"unverified database TLS", "production", "overlays/production/kustomization.yaml", "sslmode=verify-full", "sslmode=require", "verify-full"},
	} {
		t.Run(m.name, func(t *testing.T) {
			fSys := copyTree(t, "k8s")
			file := path.Join("/k8s", m.file)
			b, err := fSys.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := string(b)
			if m.old == "" {
				s += m.new
			} else if !strings.Contains(s, m.old) {
				t.Fatalf("%s no longer contains %q: update this mutation", m.file, m.old)
			} else {
				s = strings.ReplaceAll(s, m.old, m.new)
			}
			if err := fSys.WriteFile(file, []byte(s)); err != nil {
				t.Fatal(err)
			}
			var problems []string
			r, err := render(fSys, path.Join("/k8s/overlays", m.overlay))
			if err != nil {
				problems = []string{err.Error()}
			} else {
				for _, ov := range overlays {
					if ov.name == m.overlay {
						problems = check(r, ov)
					}
				}
			}
			for _, p := range problems {
				if strings.Contains(p, m.want) {
					t.Logf("refused: %s", p)
					return
				}
			}
			t.Errorf("broken manifest accepted: no problem mentions %q; problems: %q", m.want, problems)
		})
	}
}

// copyTree copies dir from disk into an in-memory file system, at /dir.
func copyTree(t *testing.T, dir string) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+filepath.ToSlash(p), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return mem
}

// ---------------------------------------------------------------------------
// The rules

func check(r rendering, ov overlay) []string {
	var p []string
	p = append(p, checkNamespace(r, ov)...)
	p = append(p, checkWorkloads(r, ov)...)
	p = append(p, checkServices(r)...)
	p = append(p, checkServiceKeys(r, ov)...)
	p = append(p, checkReferences(r, ov)...)
	if !ov.devSecrets {
		p = append(p, checkNoSecrets(r)...)
	}
	p = append(p, checkNetworkPolicies(r, ov)...)
	p = append(p, checkIngress(r, ov)...)
	p = append(p, checkMigrationJob(r)...)
	p = append(p, checkDatabase(r, ov)...)
	return p
}

func checkNamespace(r rendering, ov overlay) []string {
	var p []string
	ns, ok := r.get("Namespace", ov.namespace)
	if !ok {
		p = append(p, "no Namespace "+ov.namespace)
	} else if l := ns.(*corev1.Namespace).Labels["pod-security.kubernetes.io/enforce"]; l != "restricted" {
		p = append(p, fmt.Sprintf("Namespace %s enforces Pod Security %q, want restricted", ov.namespace, l))
	}
	for _, o := range r.objs {
		if o.kind != "Namespace" && o.namespace != ov.namespace {
			p = append(p, fmt.Sprintf("%s is in namespace %q, want %q", o, o.namespace, ov.namespace))
		}
	}
	return p
}

// podTemplate is a pod spec of the rendering, with what owns it.
type podTemplate struct {
	owner       string
	labels      map[string]string
	annotations map[string]string
	spec        *corev1.PodSpec
}

func podTemplates(r rendering) []podTemplate {
	var out []podTemplate
	for _, o := range r.objs {
		var t *corev1.PodTemplateSpec
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			t = &v.Spec.Template
		case *appsv1.StatefulSet:
			t = &v.Spec.Template
		case *appsv1.DaemonSet:
			t = &v.Spec.Template
		case *batchv1.Job:
			t = &v.Spec.Template
		case *batchv1.CronJob:
			t = &v.Spec.JobTemplate.Spec.Template
		case *corev1.Pod:
			out = append(out, podTemplate{o.String(), v.Labels, v.Annotations, &v.Spec})
		}
		if t != nil {
			out = append(out, podTemplate{o.String(), t.Labels, t.Annotations, &t.Spec})
		}
	}
	return out
}

func allContainers(s *corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(s.InitContainers), s.Containers...)
}

var secretLikeName = regexp.MustCompile(`(?i)password|secret|master_key|token|service_key`)

// secretLike says whether a variable's name looks like it holds a secret;
// a lifetime (SAAS_ACCESS_TOKEN_TTL) does not.
func secretLike(name string) bool {
	return secretLikeName.MatchString(name) && !strings.HasSuffix(strings.ToUpper(name), "_TTL")
}

// checkWorkloads: every container of every pod runs unprivileged, read-only,
// bounded, and takes its secrets from Secrets.
func checkWorkloads(r rendering, ov overlay) []string {
	var p []string
	for _, pt := range podTemplates(r) {
		s := pt.spec
		psc := s.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if s.HostNetwork || s.HostPID || s.HostIPC {
			p = append(p, pt.owner+": uses the host's network, PID or IPC namespace")
		}
		if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
			p = append(p, pt.owner+": automountServiceAccountToken must be false (no pod needs the Kubernetes API)")
		}
		for _, c := range allContainers(s) {
			where := fmt.Sprintf("%s container %s", pt.owner, c.Name)
			sc := c.SecurityContext
			if sc == nil {
				sc = &corev1.SecurityContext{}
			}
			nonRoot := psc.RunAsNonRoot
			if sc.RunAsNonRoot != nil {
				nonRoot = sc.RunAsNonRoot
			}
			if nonRoot == nil || !*nonRoot {
				p = append(p, where+": runAsNonRoot is not true")
			}
			user := psc.RunAsUser
			if sc.RunAsUser != nil {
				user = sc.RunAsUser
			}
			if user != nil && *user == 0 {
				p = append(p, where+": runs as user 0")
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				p = append(p, where+": readOnlyRootFilesystem is not true")
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				p = append(p, where+": allowPrivilegeEscalation is not false")
			}
			if sc.Privileged != nil && *sc.Privileged {
				p = append(p, where+": privileged")
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				p = append(p, where+": capabilities must drop ALL and add none")
			}
			seccomp := psc.SeccompProfile
			if sc.SeccompProfile != nil {
				seccomp = sc.SeccompProfile
			}
			if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
				p = append(p, where+": no seccomp profile (RuntimeDefault)")
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, hasReq := c.Resources.Requests[res]
				lim, hasLim := c.Resources.Limits[res]
				if !hasReq {
					p = append(p, fmt.Sprintf("%s: no %s request", where, res))
				}
				if !hasLim {
					p = append(p, fmt.Sprintf("%s: no %s limits", where, res))
				}
				if hasReq && hasLim && req.Cmp(lim) > 0 {
					p = append(p, fmt.Sprintf("%s: %s request %s above its limit %s", where, res, req.String(), lim.String()))
				}
			}
			if c.Image == "" {
				p = append(p, where+": no image")
			} else if ov.production && !pinned(c.Image) {
				p = append(p, fmt.Sprintf("%s: image %q is not pinned to a version or digest", where, c.Image))
			}
			for _, e := range c.Env {
				if secretLike(e.Name) && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
					p = append(p, fmt.Sprintf("%s: %s must come from a Secret (secretKeyRef), not a plain value", where, e.Name))
				}
			}
		}
	}
	return p
}

func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	i := strings.LastIndex(image, ":")
	return i > strings.LastIndex(image, "/") && image[i+1:] != "latest"
}

func container(s *corev1.PodSpec, name string) *corev1.Container {
	for i := range s.Containers {
		if s.Containers[i].Name == name {
			return &s.Containers[i]
		}
	}
	return nil
}

func envVar(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || sel == nil {
		return false
	}
	return s.Matches(labels.Set(l))
}

func envName(service string) string {
	return "SAAS_" + strings.ToUpper(strings.ReplaceAll(service, "-", "_")) + "_URL"
}

// checkServices: per service one Deployment (saas serve --services <name>,
// probes, wiring to the other services), a Service in front of it, a
// PodDisruptionBudget and an autoscaler aimed at it.
func checkServices(r rendering) []string {
	var p []string
	for _, name := range services {
		d := deployment(r, name)
		if d == nil {
			p = append(p, "no Deployment "+name)
			continue
		}
		if d.Spec.Replicas != nil {
			p = append(p, fmt.Sprintf("Deployment %s sets replicas (%d): the HorizontalPodAutoscaler owns the count", name, *d.Spec.Replicas))
		}
		podLabels := d.Spec.Template.Labels
		if !selects(d.Spec.Selector, podLabels) {
			p = append(p, "Deployment "+name+": its selector does not match its pod template")
		}
		if podLabels["app.kubernetes.io/part-of"] != "saas" || podLabels["app.kubernetes.io/component"] != "api" {
			p = append(p, "Deployment "+name+": pods need labels app.kubernetes.io/part-of=saas and app.kubernetes.io/component=api")
		}
		c := container(&d.Spec.Template.Spec, "saas")
		if c == nil {
			p = append(p, "Deployment "+name+": no container named saas")
			continue
		}
		if want := []string{"serve", "--services", name}; !slices.Equal(c.Args, want) || len(c.Command) > 0 {
			p = append(p, fmt.Sprintf("Deployment %s runs %q %q, want args %q and the image's entrypoint", name, c.Command, c.Args, want))
		}
		if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == "http" && cp.ContainerPort == servicePort }) {
			p = append(p, fmt.Sprintf("Deployment %s: no container port http = %d", name, servicePort))
		}
		p = append(p, checkProbe("Deployment "+name+" liveness", c.LivenessProbe, "/healthz", c)...)
		p = append(p, checkProbe("Deployment "+name+" readiness", c.ReadinessProbe, "/readyz", c)...)
		if c.StartupProbe != nil {
			p = append(p, checkProbe("Deployment "+name+" startup", c.StartupProbe, "/healthz", c)...)
		}
		if e := envVar(c, "SAAS_ADDR"); e == nil || e.Value != ":"+strconv.Itoa(servicePort) {
			p = append(p, fmt.Sprintf("Deployment %s: SAAS_ADDR must be :%d", name, servicePort))
		}
		for _, v := range []string{"DATABASE_URL", "SAAS_MASTER_KEY"} {
			if envVar(c, v) == nil {
				p = append(p, "Deployment "+name+": no "+v)
			}
		}
		// The services it calls, by URL; no URL of a service it does not
		// call (the NetworkPolicies would not let the call through).
		for _, other := range services {
			e := envVar(c, envName(other))
			switch {
			case other == name && e != nil:
				p = append(p, fmt.Sprintf("Deployment %s: sets %s, its own URL", name, envName(other)))
			case other != name && calls(name, other) && (e == nil || e.Value != fmt.Sprintf("http://%s:%d", other, servicePort)):
				p = append(p, fmt.Sprintf("Deployment %s: %s must be http://%s:%d (it calls %s)", name, envName(other), other, servicePort, other))
			case other != name && !calls(name, other) && e != nil:
				p = append(p, fmt.Sprintf("Deployment %s: sets %s, but does not call %s (see callers)", name, envName(other), other))
			}
		}
		// The first administrator's credentials, from a Secret, for the
		// service that creates it and no other.
		for _, v := range bootstrapVars {
			e := envVar(c, v)
			switch {
			case name == bootstrapper && (e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil):
				p = append(p, fmt.Sprintf("Deployment %s: no %s from a Secret (it creates the first administrator)", name, v))
			case name != bootstrapper && e != nil:
				p = append(p, fmt.Sprintf("Deployment %s: sets %s, which only %s reads; keep the secret out of it", name, v, bootstrapper))
			}
		}
		if sa := d.Spec.Template.Spec.ServiceAccountName; sa != "" {
			if _, ok := r.get("ServiceAccount", sa); !ok {
				p = append(p, fmt.Sprintf("Deployment %s: ServiceAccount %s does not exist", name, sa))
			}
		}

		// The Service of the same name: selects these pods and no other
		// Deployment's, on the service port.
		if o, ok := r.get("Service", name); !ok {
			p = append(p, "no Service "+name)
		} else {
			svc := o.(*corev1.Service)
			sel := &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}
			if len(svc.Spec.Selector) == 0 || !selects(sel, podLabels) {
				p = append(p, "Service "+name+" does not select the pods of Deployment "+name)
			}
			for _, o := range r.all("Deployment") {
				if o.name != name && len(svc.Spec.Selector) > 0 && selects(sel, o.obj.(*appsv1.Deployment).Spec.Template.Labels) {
					p = append(p, "Service "+name+" also selects the pods of "+o.String())
				}
			}
			if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool {
				return sp.Port == servicePort && portOf(c, sp.TargetPort) == servicePort
			}) {
				p = append(p, fmt.Sprintf("Service %s: no port %d to the container's port %d", name, servicePort, servicePort))
			}
		}

		// Exactly one PodDisruptionBudget covers the pods, and it lets a
		// node drain even at the autoscaler's minimum.
		var pdbs []*policyv1.PodDisruptionBudget
		for _, o := range r.all("PodDisruptionBudget") {
			if pdb := o.obj.(*policyv1.PodDisruptionBudget); selects(pdb.Spec.Selector, podLabels) {
				pdbs = append(pdbs, pdb)
			}
		}
		if len(pdbs) != 1 {
			p = append(p, fmt.Sprintf("Deployment %s: %d PodDisruptionBudgets select its pods, want 1", name, len(pdbs)))
		} else if pdbs[0].Spec.MaxUnavailable == nil && pdbs[0].Spec.MinAvailable == nil {
			p = append(p, "PodDisruptionBudget "+pdbs[0].Name+": neither maxUnavailable nor minAvailable")
		}

		// Exactly one autoscaler aims at the Deployment.
		var hpas []*autoscalingv2.HorizontalPodAutoscaler
		for _, o := range r.all("HorizontalPodAutoscaler") {
			h := o.obj.(*autoscalingv2.HorizontalPodAutoscaler)
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == name {
				hpas = append(hpas, h)
			}
		}
		if len(hpas) != 1 {
			p = append(p, fmt.Sprintf("Deployment %s: %d HorizontalPodAutoscalers target it, want 1", name, len(hpas)))
		} else {
			h := hpas[0]
			if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
				p = append(p, "HorizontalPodAutoscaler "+h.Name+": want 1 <= minReplicas <= maxReplicas")
			}
			if len(h.Spec.Metrics) == 0 {
				p = append(p, "HorizontalPodAutoscaler "+h.Name+": no metrics")
			}
			if len(pdbs) == 1 && pdbs[0].Spec.MinAvailable != nil && h.Spec.MinReplicas != nil &&
				pdbs[0].Spec.MinAvailable.Type == intstr.Int && pdbs[0].Spec.MinAvailable.IntVal >= *h.Spec.MinReplicas {
				p = append(p, fmt.Sprintf("PodDisruptionBudget %s: minAvailable %d blocks every eviction at %d replicas", pdbs[0].Name, pdbs[0].Spec.MinAvailable.IntVal, *h.Spec.MinReplicas))
			}
		}
	}
	// One value of each shared setting in every service.
	for _, k := range sharedSettings {
		first, firstOf := "", ""
		for _, name := range services {
			d := deployment(r, name)
			if d == nil {
				continue
			}
			c := container(&d.Spec.Template.Spec, "saas")
			if c == nil {
				continue
			}
			v, ok := envSource(r, c, k)
			switch {
			case !ok:
				p = append(p, fmt.Sprintf("Deployment %s: no %s; every service needs the same one", name, k))
			case firstOf == "":
				first, firstOf = v, name
			case v != first:
				p = append(p, fmt.Sprintf("Deployments %s and %s: %s differs (%s, %s); every service needs the same one", firstOf, name, k, first, v))
			}
		}
	}
	// Every autoscaler aims at a Deployment that exists; every budget
	// covers some pods.
	for _, o := range r.all("HorizontalPodAutoscaler") {
		ref := o.obj.(*autoscalingv2.HorizontalPodAutoscaler).Spec.ScaleTargetRef
		if _, ok := r.get(ref.Kind, ref.Name); !ok || ref.APIVersion != "apps/v1" {
			p = append(p, fmt.Sprintf("%s targets %s %s (%s), which is not in the rendering", o, ref.Kind, ref.Name, ref.APIVersion))
		}
	}
	for _, o := range r.all("PodDisruptionBudget") {
		pdb := o.obj.(*policyv1.PodDisruptionBudget)
		if !slices.ContainsFunc(podTemplates(r), func(pt podTemplate) bool { return selects(pdb.Spec.Selector, pt.labels) }) {
			p = append(p, o.String()+" selects no pods")
		}
	}
	return p
}

// envSource says where a container's variable comes from, as the kubelet
// would resolve it (env before envFrom): "value <v>" for a literal or a
// ConfigMap's value, "secret <name>/<key>" for a Secret, which cannot be
// read here. ok is false when the variable is not set.
func envSource(r rendering, c *corev1.Container, name string) (string, bool) {
	cmValue := func(cm, key string) (string, bool) {
		o, ok := r.get("ConfigMap", cm)
		if !ok {
			return "", false
		}
		v, ok := o.(*corev1.ConfigMap).Data[key]
		return "value " + v, ok
	}
	if e := envVar(c, name); e != nil {
		switch {
		case e.ValueFrom == nil:
			return "value " + e.Value, true
		case e.ValueFrom.SecretKeyRef != nil:
			return "secret " + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key, true
		case e.ValueFrom.ConfigMapKeyRef != nil:
			return cmValue(e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key)
		}
		return "", false
	}
	// envFrom: a later source wins over an earlier one.
	found, from := "", false
	for _, ef := range c.EnvFrom {
		key, ok := strings.CutPrefix(name, ef.Prefix)
		if !ok {
			continue
		}
		if ef.ConfigMapRef != nil {
			if v, ok := cmValue(ef.ConfigMapRef.Name, key); ok {
				found, from = v, true
			}
		}
		if ef.SecretRef != nil {
			// Its keys are unknown here: say so rather than guess.
			found, from = "secret "+ef.SecretRef.Name+" (envFrom, if it has "+key+")", true
		}
	}
	return found, from
}

func portOf(c *corev1.Container, port intstr.IntOrString) int32 {
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

func checkProbe(what string, pr *corev1.Probe, path string, c *corev1.Container) []string {
	switch {
	case pr == nil:
		return []string{what + ": no probe"}
	case pr.HTTPGet == nil:
		return []string{what + ": not an HTTP probe"}
	case pr.HTTPGet.Path != path:
		return []string{fmt.Sprintf("%s probe on %s, want %s", what, pr.HTTPGet.Path, path)}
	case portOf(c, pr.HTTPGet.Port) != servicePort:
		return []string{fmt.Sprintf("%s probe on port %s, want %d", what, pr.HTTPGet.Port.String(), servicePort)}
	}
	return nil
}

// checkNoSecrets: no Secret is defined (production, base): they are created
// in the cluster and only referenced here.
func checkNoSecrets(r rendering) []string {
	var p []string
	for _, o := range r.all("Secret") {
		p = append(p, fmt.Sprintf("%s is defined inline; reference Secrets that exist in the cluster instead", o))
	}
	return p
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// checkReferences: every ConfigMap (and, in dev, Secret) a pod names exists
// with the key it wants, every $(VAR) in env can be expanded by the kubelet,
// every volume mount has its volume.
func checkReferences(r rendering, ov overlay) []string {
	var p []string
	configMap := func(where, name, key string, optional *bool) {
		o, ok := r.get("ConfigMap", name)
		switch {
		case !ok && (optional == nil || !*optional):
			p = append(p, fmt.Sprintf("%s: ConfigMap %s does not exist", where, name))
		case ok && key != "":
			cm := o.(*corev1.ConfigMap)
			if _, has := cm.Data[key]; !has && (optional == nil || !*optional) {
				p = append(p, fmt.Sprintf("%s: ConfigMap %s has no key %s", where, name, key))
			}
		}
	}
	secret := func(where, name, key string, optional *bool) {
		if !ov.devSecrets {
			return // expected in the cluster; see TestProductionSecretsAreDocumented
		}
		o, ok := r.get("Secret", name)
		switch {
		case !ok && (optional == nil || !*optional):
			p = append(p, fmt.Sprintf("%s: Secret %s does not exist", where, name))
		case ok && key != "":
			s := o.(*corev1.Secret)
			_, inData := s.Data[key]
			_, inString := s.StringData[key]
			if !inData && !inString && (optional == nil || !*optional) {
				p = append(p, fmt.Sprintf("%s: Secret %s has no key %s", where, name, key))
			}
		}
	}
	for _, pt := range podTemplates(r) {
		vols := map[string]bool{}
		for _, v := range pt.spec.Volumes {
			vols[v.Name] = true
			where := pt.owner + " volume " + v.Name
			if v.ConfigMap != nil {
				configMap(where, v.ConfigMap.Name, "", v.ConfigMap.Optional)
				for _, it := range v.ConfigMap.Items {
					configMap(where, v.ConfigMap.Name, it.Key, v.ConfigMap.Optional)
				}
			}
			if v.Secret != nil {
				secret(where, v.Secret.SecretName, "", v.Secret.Optional)
			}
		}
		for _, c := range allContainers(pt.spec) {
			where := fmt.Sprintf("%s container %s", pt.owner, c.Name)
			defined := map[string]bool{}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					configMap(where, ef.ConfigMapRef.Name, "", ef.ConfigMapRef.Optional)
					if o, ok := r.get("ConfigMap", ef.ConfigMapRef.Name); ok {
						for k := range o.(*corev1.ConfigMap).Data {
							defined[ef.Prefix+k] = true
						}
					}
				}
				if ef.SecretRef != nil {
					secret(where, ef.SecretRef.Name, "", ef.SecretRef.Optional)
				}
			}
			for _, e := range c.Env {
				for _, m := range varRef.FindAllStringSubmatch(e.Value, -1) {
					if !defined[m[1]] {
						p = append(p, fmt.Sprintf("%s: %s uses $(%s), which is not defined before it", where, e.Name, m[1]))
					}
				}
				if e.ValueFrom != nil {
					if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
						configMap(where+" "+e.Name, ref.Name, ref.Key, ref.Optional)
					}
					if ref := e.ValueFrom.SecretKeyRef; ref != nil {
						secret(where+" "+e.Name, ref.Name, ref.Key, ref.Optional)
					}
				}
				defined[e.Name] = true
			}
			for _, vm := range c.VolumeMounts {
				if !vols[vm.Name] {
					p = append(p, fmt.Sprintf("%s: mounts volume %s, which the pod does not have", where, vm.Name))
				}
			}
		}
	}
	return p
}

// referencedSecrets lists the Secrets the rendering's pods and Cluster name.
func referencedSecrets(r rendering) []string {
	var names []string
	add := func(n string) {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, pt := range podTemplates(r) {
		for _, v := range pt.spec.Volumes {
			if v.Secret != nil {
				add(v.Secret.SecretName)
			}
		}
		for _, c := range allContainers(pt.spec) {
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					add(ef.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					add(e.ValueFrom.SecretKeyRef.Name)
				}
			}
		}
	}
	for _, o := range r.all("Ingress") {
		for _, tls := range o.obj.(*networkingv1.Ingress).Spec.TLS {
			add(tls.SecretName)
		}
	}
	for _, c := range cnpgClusters(r) {
		if c.Spec.Bootstrap.InitDB != nil && c.Spec.Bootstrap.InitDB.Secret != nil {
			add(c.Spec.Bootstrap.InitDB.Secret.Name)
		}
		for _, role := range c.Spec.Managed.Roles {
			if role.PasswordSecret != nil {
				add(role.PasswordSecret.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

func cnpgClusters(r rendering) []*cnpgCluster {
	var out []*cnpgCluster
	for _, o := range r.all("Cluster") {
		out = append(out, o.obj.(*cnpgCluster))
	}
	return out
}

// ---------------------------------------------------------------------------
// NetworkPolicies, evaluated: who can open a connection to whom.

type peer struct {
	name     string
	labels   map[string]string
	nsLabels map[string]string
}

// allowed reports whether src may connect to dst's port under the rendering's
// NetworkPolicies (ingress side), as a conforming network plugin would decide.
func allowed(r rendering, ns string, src, dst peer, dstPorts []corev1.ContainerPort, port int32) bool {
	isolated := false
	for _, o := range r.all("NetworkPolicy") {
		np := o.obj.(*networkingv1.NetworkPolicy)
		if !selects(&np.Spec.PodSelector, dst.labels) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			continue
		}
		isolated = true
		for _, rule := range np.Spec.Ingress {
			if !portAllowed(rule.Ports, dstPorts, port) {
				continue
			}
			if len(rule.From) == 0 {
				return true
			}
			for _, f := range rule.From {
				if f.IPBlock != nil {
					continue
				}
				nsOK := f.NamespaceSelector == nil && src.nsLabels["kubernetes.io/metadata.name"] == ns ||
					f.NamespaceSelector != nil && selects(f.NamespaceSelector, src.nsLabels)
				podOK := f.PodSelector == nil || selects(f.PodSelector, src.labels)
				if nsOK && podOK {
					return true
				}
			}
		}
	}
	return !isolated
}

func portAllowed(ports []networkingv1.NetworkPolicyPort, dstPorts []corev1.ContainerPort, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, pp := range ports {
		if pp.Port == nil {
			return true
		}
		if pp.Port.Type == intstr.Int && pp.Port.IntVal == port {
			return true
		}
		for _, cp := range dstPorts {
			if pp.Port.Type == intstr.String && cp.Name == pp.Port.StrVal && cp.ContainerPort == port {
				return true
			}
		}
	}
	return false
}

func checkNetworkPolicies(r rendering, ov overlay) []string {
	var p []string
	if len(r.all("NetworkPolicy")) == 0 {
		return []string{"no NetworkPolicy"}
	}
	// A default deny covers every pod of the platform.
	denyAll := false
	for _, o := range r.all("NetworkPolicy") {
		np := o.obj.(*networkingv1.NetworkPolicy)
		if len(np.Spec.Ingress) == 0 && slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) &&
			selects(&np.Spec.PodSelector, map[string]string{"app.kubernetes.io/part-of": "saas"}) {
			denyAll = true
		}
	}
	if !denyAll {
		p = append(p, "no default deny: a NetworkPolicy with no ingress rule must select every pod labelled app.kubernetes.io/part-of=saas")
	}

	nsLabels := map[string]string{"kubernetes.io/metadata.name": ov.namespace}
	local := func(name string, l map[string]string) peer { return peer{name, l, nsLabels} }
	ingressController := peer{"the ingress controller", map[string]string{"app.kubernetes.io/name": "ingress"},
		map[string]string{"kubernetes.io/metadata.name": "ingress", "saas.platform/ingress-controller": "true"}}
	prometheus := peer{"Prometheus", map[string]string{"app.kubernetes.io/name": "prometheus"},
		map[string]string{"kubernetes.io/metadata.name": "monitoring", "saas.platform/monitoring": "true"}}
	stranger := peer{"a pod of another namespace", map[string]string{"app.kubernetes.io/name": "iam", "app.kubernetes.io/part-of": "saas"},
		map[string]string{"kubernetes.io/metadata.name": "elsewhere"}}

	var sources []peer
	for _, pt := range podTemplates(r) {
		if pt.labels["app.kubernetes.io/part-of"] == "saas" && pt.labels["app.kubernetes.io/component"] != "database" {
			sources = append(sources, local(pt.owner, pt.labels))
		}
	}
	for _, dst := range services {
		d := deployment(r, dst)
		if d == nil {
			continue
		}
		target := local(dst, d.Spec.Template.Labels)
		ports := d.Spec.Template.Spec.Containers[0].Ports
		for _, src := range sources {
			want := slices.Contains(callers[dst], src.labels["app.kubernetes.io/name"])
			if got := allowed(r, ov.namespace, src, target, ports, servicePort); got != want {
				p = append(p, fmt.Sprintf("NetworkPolicies: %s can reach %s: %v, want %v", src.name, dst, got, want))
			}
		}
		for _, ext := range []peer{ingressController, prometheus, stranger} {
			want := ext.name != stranger.name
			if got := allowed(r, ov.namespace, ext, target, ports, servicePort); got != want {
				p = append(p, fmt.Sprintf("NetworkPolicies: %s can reach %s: %v, want %v", ext.name, dst, got, want))
			}
		}
	}
	// PostgreSQL: every platform pod, nobody else.
	var dbs []peer
	for _, pt := range podTemplates(r) {
		if pt.labels["app.kubernetes.io/component"] == "database" {
			dbs = append(dbs, local(pt.owner, pt.labels))
		}
	}
	for _, c := range cnpgClusters(r) {
		l := map[string]string{"cnpg.io/cluster": c.Name}
		for k, v := range c.Spec.InheritedMetadata.Labels {
			l[k] = v
		}
		dbs = append(dbs, local("Cluster "+c.Name, l))
	}
	if len(dbs) == 0 {
		p = append(p, "no database pods (label app.kubernetes.io/component=database) to check the policies against")
	}
	pgPort := []corev1.ContainerPort{{Name: "postgres", ContainerPort: 5432}}
	for _, db := range dbs {
		for _, src := range sources {
			if !allowed(r, ov.namespace, src, db, pgPort, 5432) {
				p = append(p, fmt.Sprintf("NetworkPolicies: %s cannot reach the database (%s)", src.name, db.name))
			}
		}
		for _, ext := range []peer{ingressController, stranger} {
			if allowed(r, ov.namespace, ext, db, pgPort, 5432) {
				p = append(p, fmt.Sprintf("NetworkPolicies: %s can reach the database (%s)", ext.name, db.name))
			}
		}
	}
	return p
}

// ---------------------------------------------------------------------------
// Ingress, evaluated: where a request path goes.

// route returns the backend Service of the path under the Ingress API's
// rules: Exact paths match exactly, Prefix paths element by element, and
// the longest match wins.
func route(ing *networkingv1.Ingress, host, reqPath string) (string, bool) {
	best, bestLen := "", -1
	for _, rule := range ing.Spec.Rules {
		if rule.Host != "" && rule.Host != host || rule.HTTP == nil {
			continue
		}
		for _, hp := range rule.HTTP.Paths {
			match := false
			switch {
			case hp.PathType != nil && *hp.PathType == networkingv1.PathTypeExact:
				match = reqPath == hp.Path
			default: // Prefix (ImplementationSpecific read as Prefix)
				prefix := strings.TrimSuffix(hp.Path, "/")
				match = prefix == "" || reqPath == prefix || strings.HasPrefix(reqPath, prefix+"/")
			}
			if match && len(hp.Path) > bestLen && hp.Backend.Service != nil {
				best, bestLen = hp.Backend.Service.Name, len(hp.Path)
			}
		}
	}
	return best, bestLen >= 0
}

func checkIngress(r rendering, ov overlay) []string {
	var p []string
	ings := r.all("Ingress")
	if len(ings) != 1 {
		return []string{fmt.Sprintf("%d Ingresses, want 1", len(ings))}
	}
	ing := ings[0].obj.(*networkingv1.Ingress)
	if len(ing.Spec.Rules) == 0 || ing.Spec.Rules[0].Host == "" {
		return []string{"Ingress: no host"}
	}
	host := ing.Spec.Rules[0].Host
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, hp := range rule.HTTP.Paths {
			b := hp.Backend.Service
			if b == nil {
				p = append(p, "Ingress path "+hp.Path+": no Service backend")
				continue
			}
			o, ok := r.get("Service", b.Name)
			if !ok {
				p = append(p, fmt.Sprintf("Ingress path %s: Service %s does not exist", hp.Path, b.Name))
				continue
			}
			if !slices.ContainsFunc(o.(*corev1.Service).Spec.Ports, func(sp corev1.ServicePort) bool {
				return b.Port.Name != "" && sp.Name == b.Port.Name || b.Port.Number != 0 && sp.Port == b.Port.Number
			}) {
				p = append(p, fmt.Sprintf("Ingress path %s: Service %s has no port %v", hp.Path, b.Name, b.Port))
			}
		}
	}
	// A backend that reaches pods: a Service with a selector.
	reachesPods := func(svc string) bool {
		o, ok := r.get("Service", svc)
		return ok && len(o.(*corev1.Service).Spec.Selector) > 0
	}
	for _, s := range services {
		for _, path := range []string{"/" + s + "/v1", "/" + s + "/v1/tenants", "/" + s + "/v1/openapi.json", "/" + s + "/v1/internals-are-not-internal"} {
			if got, _ := route(ing, host, path); got != s {
				p = append(p, fmt.Sprintf("Ingress: %s goes to %q, want %s", path, got, s))
			}
		}
		for _, path := range []string{"/" + s + "/v1/internal", "/" + s + "/v1/internal/", "/" + s + "/v1/internal/credential-checks", "/" + s + "/v1/internal/a/b"} {
			if got, ok := route(ing, host, path); ok && reachesPods(got) {
				p = append(p, fmt.Sprintf("Ingress: internal path %s is routed to %s, which reaches pods", path, got))
			}
		}
	}
	// What clients of iam and of the verifiers need from outside.
	tenant := "01980000-0000-7000-8000-000000000000"
	for path, want := range map[string]string{
		"/iam/v1/auth/login":   "iam",
		"/iam/v1/auth/refresh": "iam",
		"/iam/v1/oauth2/token": "iam",
		"/iam/v1/tenants/" + tenant + "/.well-known/openid-configuration": "iam",
		"/iam/v1/tenants/" + tenant + "/jwks.json":                        "iam",
		"/config-vault/v1/tenants/" + tenant + "/jwks.json":               "config-vault",
	} {
		if got, _ := route(ing, host, path); got != want {
			p = append(p, fmt.Sprintf("Ingress: %s goes to %q, want %s", path, got, want))
		}
	}
	// SAAS_PUBLIC_URL is what clients use, so the token issuers
	// (<it>/iam/v1/tenants/<id>) answer their discovery: this Ingress's host,
	// over https when it has TLS.
	if d := deployment(r, "iam"); d != nil && container(&d.Spec.Template.Spec, "saas") != nil {
		v, _ := envSource(r, container(&d.Spec.Template.Spec, "saas"), "SAAS_PUBLIC_URL")
		pub, isValue := strings.CutPrefix(v, "value ")
		u, err := url.Parse(pub)
		scheme := "http"
		for _, tls := range ing.Spec.TLS {
			if slices.Contains(tls.Hosts, host) {
				scheme = "https"
			}
		}
		switch {
		case !isValue:
			p = append(p, "SAAS_PUBLIC_URL: want a plain value (from saas-config), not "+v)
		case err != nil || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "":
			p = append(p, fmt.Sprintf("SAAS_PUBLIC_URL %q is not a base URL such as %s://%s", pub, scheme, host))
		case u.Host != host || u.Scheme != scheme:
			p = append(p, fmt.Sprintf("SAAS_PUBLIC_URL is %s, want %s://%s, the Ingress clients reach (issuers would not resolve)", pub, scheme, host))
		}
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/docs", "/"} {
		if got, ok := route(ing, host, path); ok && reachesPods(got) {
			p = append(p, fmt.Sprintf("Ingress: %s is routed to %s; only the services' API prefixes are public", path, got))
		}
	}
	if ov.production {
		if len(ing.Spec.TLS) == 0 || ing.Spec.TLS[0].SecretName == "" || !slices.Contains(ing.Spec.TLS[0].Hosts, host) {
			p = append(p, "Ingress: production needs TLS for "+host+" with a certificate Secret")
		}
	}
	return p
}

// checkMigrationJob: one Job runs `saas migrate` as the schemas' owner.
func checkMigrationJob(r rendering) []string {
	var migrate []*batchv1.Job
	for _, o := range r.all("Job") {
		j := o.obj.(*batchv1.Job)
		for _, c := range j.Spec.Template.Spec.Containers {
			if slices.Equal(c.Args, []string{"migrate"}) {
				migrate = append(migrate, j)
			}
		}
	}
	if len(migrate) != 1 {
		return []string{fmt.Sprintf("%d Jobs run `saas migrate`, want 1", len(migrate))}
	}
	j := migrate[0]
	var p []string
	c := &j.Spec.Template.Spec.Containers[0]
	if envVar(c, "DATABASE_URL") == nil {
		p = append(p, "Job "+j.Name+": no DATABASE_URL")
	}
	if u := envVar(c, "DB_USER"); u == nil || u.ValueFrom == nil || u.ValueFrom.SecretKeyRef == nil || !strings.HasPrefix(u.ValueFrom.SecretKeyRef.Name, "saas-db-owner") {
		p = append(p, "Job "+j.Name+": must log in as the owner (DB_USER from Secret saas-db-owner)")
	}
	if rp := j.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
		p = append(p, "Job "+j.Name+": restartPolicy "+string(rp))
	}
	if j.Spec.BackoffLimit == nil {
		p = append(p, "Job "+j.Name+": no backoffLimit")
	}
	return p
}

// checkDatabase: where DB_HOST points, and, in production, a CloudNativePG
// Cluster of three instances with TLS verified and enough connections.
func checkDatabase(r rendering, ov overlay) []string {
	var p []string
	var cfg *corev1.ConfigMap
	for _, o := range r.all("ConfigMap") {
		if strings.HasPrefix(o.name, "saas-config") {
			cfg = o.obj.(*corev1.ConfigMap)
		}
	}
	if cfg == nil {
		return []string{"no saas-config ConfigMap"}
	}
	host := cfg.Data["DB_HOST"]
	params := cfg.Data["DB_PARAMS"]
	clusters := cnpgClusters(r)
	for _, o := range r.all("StatefulSet") {
		p = append(p, fmt.Sprintf("%s: PostgreSQL comes from CloudNativePG in production and from the dev Deployment, never from a StatefulSet", o))
	}

	if !ov.production {
		// Dev: the throw-away PostgreSQL behind a Service named DB_HOST, and
		// the logins' Secrets name the logins of roles.sql.
		o, ok := r.get("Service", host)
		if !ok {
			p = append(p, "dev: no Service "+host+" (DB_HOST)")
		} else if !slices.ContainsFunc(podTemplates(r), func(pt podTemplate) bool {
			return pt.labels["app.kubernetes.io/component"] == "database" &&
				selects(&metav1.LabelSelector{MatchLabels: o.(*corev1.Service).Spec.Selector}, pt.labels)
		}) {
			p = append(p, "dev: Service "+host+" selects no database pod")
		}
		for _, s := range services {
			for _, o := range r.all("Secret") {
				if strings.HasPrefix(o.name, "saas-db-"+s+"-") {
					if u := string(o.obj.(*corev1.Secret).Data["username"]); u != dbLogin(s) {
						p = append(p, fmt.Sprintf("dev: %s has username %q, want %q (logins.sh)", o, u, dbLogin(s)))
					}
				}
			}
		}
		return p
	}

	// Production.
	if len(clusters) != 1 {
		return append(p, fmt.Sprintf("production: %d CloudNativePG Clusters, want 1", len(clusters)))
	}
	c := clusters[0]
	if c.Spec.Instances != 3 {
		p = append(p, fmt.Sprintf("production: Cluster %s has %d instances, want 3", c.Name, c.Spec.Instances))
	}
	for _, pt := range podTemplates(r) {
		if pt.labels["app.kubernetes.io/component"] == "database" {
			p = append(p, "production: "+pt.owner+" runs PostgreSQL by hand; the Cluster does")
		}
	}
	if host != c.Name+"-rw" {
		p = append(p, fmt.Sprintf("production: DB_HOST is %q, want the Cluster's read-write Service %s-rw", host, c.Name))
	}
	if s := c.Spec.PrimaryUpdateStrategy; s != "" && s != "unsupervised" && s != "supervised" {
		p = append(p, "production: primaryUpdateStrategy "+s)
	}
	if a := c.Spec.Affinity.PodAntiAffinityType; a != "" && a != "preferred" && a != "required" {
		p = append(p, "production: podAntiAffinityType "+a)
	}
	if s := c.Spec.PostgreSQL.Synchronous; s != nil && (s.Method != "any" && s.Method != "first" || s.Number < 1 || s.Number >= c.Spec.Instances) {
		p = append(p, "production: synchronous replication wants method any|first and 1 <= number < instances")
	}
	if c.Spec.Storage.Size.IsZero() {
		p = append(p, "production: Cluster without storage size")
	}
	if c.Spec.Resources.Limits.Memory().IsZero() || c.Spec.Resources.Requests.Memory().IsZero() {
		p = append(p, "production: Cluster without memory requests and limits")
	}
	initdb := c.Spec.Bootstrap.InitDB
	if initdb == nil || initdb.PostInitApplicationSQLRefs == nil || len(initdb.PostInitApplicationSQLRefs.ConfigMapRefs) == 0 {
		p = append(p, "production: the Cluster does not run roles.sql (bootstrap.initdb.postInitApplicationSQLRefs)")
	} else {
		if initdb.Owner != "saas_owner" || initdb.Database != cfg.Data["DB_NAME"] {
			p = append(p, fmt.Sprintf("production: initdb creates %s owned by %s, want %s owned by saas_owner", initdb.Database, initdb.Owner, cfg.Data["DB_NAME"]))
		}
		for _, ref := range initdb.PostInitApplicationSQLRefs.ConfigMapRefs {
			o, ok := r.get("ConfigMap", ref.Name)
			if !ok {
				p = append(p, "production: the Cluster runs SQL from ConfigMap "+ref.Name+", which does not exist")
			} else if _, has := o.(*corev1.ConfigMap).Data[ref.Key]; !has {
				p = append(p, "production: ConfigMap "+ref.Name+" has no key "+ref.Key)
			}
		}
	}
	roles, err := os.ReadFile(filepath.Join("k8s", "base", "database", "roles.sql"))
	if err != nil {
		p = append(p, err.Error())
	}
	var logins []string
	for _, role := range c.Spec.Managed.Roles {
		logins = append(logins, role.Name)
		if role.Ensure != "present" || !role.Login || role.PasswordSecret == nil {
			p = append(p, "production: managed role "+role.Name+" must be present, login, with a passwordSecret")
		}
		for _, g := range role.InRoles {
			if !strings.Contains(string(roles), "'"+g+"'") {
				p = append(p, "production: managed role "+role.Name+" joins "+g+", which roles.sql does not create")
			}
		}
	}
	for _, s := range services {
		if !slices.Contains(logins, dbLogin(s)) {
			p = append(p, "production: no managed role "+dbLogin(s)+" for "+s)
		}
	}

	// TLS to the database, verified against the Cluster's CA, mounted where
	// DB_PARAMS says in every container that connects.
	q := map[string]string{}
	for _, kv := range strings.Split(params, "&") {
		k, v, _ := strings.Cut(kv, "=")
		q[k] = v
	}
	if q["sslmode"] != "verify-full" || q["sslrootcert"] == "" {
		p = append(p, "production: DB_PARAMS must set sslmode=verify-full and sslrootcert, not "+params)
	} else {
		dir := path.Dir(q["sslrootcert"])
		for _, pt := range podTemplates(r) {
			for _, ctr := range allContainers(pt.spec) {
				if envVar(&ctr, "DATABASE_URL") == nil {
					continue
				}
				ok := slices.ContainsFunc(ctr.VolumeMounts, func(vm corev1.VolumeMount) bool {
					return vm.MountPath == dir && slices.ContainsFunc(pt.spec.Volumes, func(v corev1.Volume) bool {
						return v.Name == vm.Name && v.Secret != nil && v.Secret.SecretName == c.Name+"-ca" &&
							slices.ContainsFunc(v.Secret.Items, func(it corev1.KeyToPath) bool {
								return it.Key == "ca.crt" && it.Path == path.Base(q["sslrootcert"])
							})
					})
				})
				if !ok {
					p = append(p, fmt.Sprintf("production: %s container %s does not mount ca.crt of Secret %s-ca at %s", pt.owner, ctr.Name, c.Name, q["sslrootcert"]))
				}
			}
		}
	}

	// Connection budget: every service at its maximum replica count, each
	// pod with its full pool, plus the migration, fits in max_connections
	// with room for the operator and superuser sessions.
	maxConns, err := strconv.Atoi(c.Spec.PostgreSQL.Parameters["max_connections"])
	if err != nil {
		p = append(p, "production: the Cluster sets no max_connections")
	}
	need := 10 // the migration Job and a few sessions
	for _, s := range services {
		d := deployment(r, s)
		if d == nil {
			continue
		}
		ctr := container(&d.Spec.Template.Spec, "saas")
		e := envVar(ctr, "SAAS_DB_MAX_CONNS")
		n, err := 0, error(nil)
		if e != nil {
			n, err = strconv.Atoi(e.Value)
		}
		if e == nil || err != nil {
			p = append(p, "production: Deployment "+s+" must set SAAS_DB_MAX_CONNS (its default grows with the node's cores)")
			continue
		}
		for _, o := range r.all("HorizontalPodAutoscaler") {
			if h := o.obj.(*autoscalingv2.HorizontalPodAutoscaler); h.Spec.ScaleTargetRef.Name == s {
				need += int(h.Spec.MaxReplicas) * n
			}
		}
	}
	if reserve := 30; need+reserve > maxConns {
		p = append(p, fmt.Sprintf("production: services may open %d connections, but max_connections is %d (keep %d spare)", need, maxConns, reserve))
	}
	return p
}

// Every kustomization is rendered from files in this repository: a remote
// base (a URL or a git reference) would make the rendering depend on the
// network and on whatever that reference holds today.
func TestKustomizationsAreLocal(t *testing.T) {
	n := 0
	err := filepath.WalkDir("k8s", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "kustomization.yaml" {
			return err
		}
		n++
		var k struct {
			Resources  []string `json:"resources"`
			Components []string `json:"components"`
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := yaml.Unmarshal(b, &k); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, r := range append(k.Resources, k.Components...) {
			if strings.Contains(r, "://") || strings.Contains(r, "github.com/") || strings.Contains(r, "?ref=") {
				t.Errorf("%s: remote resource %s", p, r)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), r)); err != nil {
				t.Errorf("%s: resource %s: %v", p, r, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d kustomizations, want 3 (base, dev, production)", n)
	}
}
