package orchestrate

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// metrics are the series the services expose at /metrics (see the
// observability work): the dashboard uses each, and nothing else.
var metrics = map[string]string{
	"http_requests_total":               "counter",
	"http_request_duration_seconds":     "histogram",
	"http_requests_in_flight":           "gauge",
	"db_pool_acquired_connections":      "gauge",
	"db_pool_total_connections":         "gauge",
	"db_pool_max_connections":           "gauge",
	"saas_logins_total":                 "counter",
	"saas_tokens_issued_total":          "counter",
	"saas_refresh_reuse_detected_total": "counter",
	"saas_keys_created_total":           "counter",
	"saas_keys_revoked_total":           "counter",
	"saas_tokens_signed_total":          "counter",
	"saas_content_published_total":      "counter",
}

// prometheusConfig is the part of Prometheus's configuration these files
// use, decoded strictly.
type prometheusConfig struct {
	Global *struct {
		ScrapeInterval     string `json:"scrape_interval"`
		EvaluationInterval string `json:"evaluation_interval"`
	} `json:"global"`
	ScrapeConfigs []struct {
		JobName       string `json:"job_name"`
		MetricsPath   string `json:"metrics_path"`
		StaticConfigs []struct {
			Targets []string          `json:"targets"`
			Labels  map[string]string `json:"labels"`
		} `json:"static_configs"`
		KubernetesSDConfigs []struct {
			Role string `json:"role"`
		} `json:"kubernetes_sd_configs"`
		RelabelConfigs []struct {
			SourceLabels []string `json:"source_labels"`
			Regex        string   `json:"regex"`
			Action       string   `json:"action"`
			TargetLabel  string   `json:"target_label"`
			Replacement  string   `json:"replacement"`
		} `json:"relabel_configs"`
	} `json:"scrape_configs"`
}

func loadStrict(t *testing.T, file string, v any) {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(readFile(t, file)))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	strict, err := sigsjson.UnmarshalStrict(js, v)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, e := range strict {
		t.Errorf("%s: %v", file, e)
	}
}

// Prometheus for compose scrapes each service container on its service port
// at /metrics, labelling it "app" (never "service", which the metrics carry
// themselves and Prometheus would rename to exported_service).
func TestPrometheusComposeConfig(t *testing.T) {
	var cfg prometheusConfig
	loadStrict(t, filepath.Join("prometheus", "prometheus.yml"), &cfg)
	f, _ := loadCompose(t)
	if _, ok := f.Services["prometheus"]; !ok {
		t.Error("docker-compose.yml has no prometheus service")
	}
	scraped := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.MetricsPath != "/metrics" {
			t.Errorf("job %s scrapes %q, want /metrics", sc.JobName, sc.MetricsPath)
		}
		for _, st := range sc.StaticConfigs {
			if _, clash := st.Labels["service"]; clash {
				t.Errorf("job %s labels targets with \"service\", which clashes with the metrics' own label", sc.JobName)
			}
			for _, target := range st.Targets {
				host, port, _ := strings.Cut(target, ":")
				if _, ok := f.Services[host]; !ok {
					t.Errorf("job %s scrapes %s, not a compose service", sc.JobName, target)
				}
				if port != fmt.Sprint(servicePort) {
					t.Errorf("job %s scrapes %s, want port %d", sc.JobName, target, servicePort)
				}
				if st.Labels["app"] != host {
					t.Errorf("job %s: target %s labelled app=%q, want %q", sc.JobName, target, st.Labels["app"], host)
				}
				scraped[host] = true
			}
		}
	}
	for _, s := range services {
		if !scraped[s] {
			t.Errorf("prometheus.yml does not scrape %s", s)
		}
	}
}

// Prometheus on Kubernetes keeps exactly the platform's service pods (by the
// labels the rendered Deployments carry) and scrapes the port and path of
// their annotations, which must be the service port and /metrics.
func TestPrometheusKubernetesConfig(t *testing.T) {
	var cfg prometheusConfig
	loadStrict(t, filepath.Join("prometheus", "kubernetes.yml"), &cfg)
	if len(cfg.ScrapeConfigs) != 1 || len(cfg.ScrapeConfigs[0].KubernetesSDConfigs) != 1 || cfg.ScrapeConfigs[0].KubernetesSDConfigs[0].Role != "pod" {
		t.Fatal("kubernetes.yml: want one job with pod discovery")
	}
	sc := cfg.ScrapeConfigs[0]
	r, err := render(filesys.MakeFsOnDisk(), filepath.Join("k8s", "overlays", "production"))
	if err != nil {
		t.Fatal(err)
	}
	// Apply the keep rules to every pod template of the rendering.
	kept := func(pt podTemplate, ann map[string]string) bool {
		for _, rc := range sc.RelabelConfigs {
			if rc.Action != "keep" {
				continue
			}
			var vals []string
			for _, l := range rc.SourceLabels {
				switch {
				case strings.HasPrefix(l, "__meta_kubernetes_pod_label_"):
					vals = append(vals, promLabel(pt.labels, strings.TrimPrefix(l, "__meta_kubernetes_pod_label_")))
				case strings.HasPrefix(l, "__meta_kubernetes_pod_annotation_"):
					vals = append(vals, promLabel(ann, strings.TrimPrefix(l, "__meta_kubernetes_pod_annotation_")))
				}
			}
			if !regexp.MustCompile("^(?:" + rc.Regex + ")$").MatchString(strings.Join(vals, ";")) {
				return false
			}
		}
		return true
	}
	for _, pt := range podTemplates(r) {
		want := slices.ContainsFunc(services, func(s string) bool { return pt.owner == "Deployment "+s })
		if got := kept(pt, pt.annotations); got != want {
			t.Errorf("kubernetes.yml keeps %s: %v, want %v", pt.owner, got, want)
		}
		if want && (pt.annotations["prometheus.io/port"] != fmt.Sprint(servicePort) || pt.annotations["prometheus.io/path"] != "/metrics") {
			t.Errorf("%s: annotations prometheus.io/port and path must be %d and /metrics", pt.owner, servicePort)
		}
	}
	var app bool
	for _, rc := range sc.RelabelConfigs {
		if rc.TargetLabel == "service" {
			t.Error("kubernetes.yml sets a \"service\" label, which clashes with the metrics' own")
		}
		app = app || rc.TargetLabel == "app" && slices.Equal(rc.SourceLabels, []string{"__meta_kubernetes_pod_label_app_kubernetes_io_name"})
	}
	if !app {
		t.Error("kubernetes.yml: label targets app=<app.kubernetes.io/name>, as compose does")
	}
}

// promLabel reads a Kubernetes label or annotation under its Prometheus
// name (every character outside [a-zA-Z0-9_] becomes _).
func promLabel(m map[string]string, name string) string {
	for k, v := range m {
		if regexp.MustCompile(`[^a-zA-Z0-9_]`).ReplaceAllString(k, "_") == name {
			return v
		}
	}
	return ""
}

type grafanaDashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr       string `json:"expr"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
}

var (
	promIdent  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promString = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	rateOf     = regexp.MustCompile(`\b(?:rate|increase|irate)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	grafanaVar = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)`)
)

// promQLWords are the words of PromQL the dashboard may use that are not
// metric or label names.
var promQLWords = []string{"sum", "by", "without", "rate", "increase", "irate", "histogram_quantile", "topk", "max", "min", "avg", "count", "le", "service", "route", "method", "code", "result", "grant", "algorithm", "app", "instance", "pod", "namespace"}

// The dashboard: valid JSON, panels on the grid without overlap, every query
// on the dashboard's data source variable and on the known metrics only
// (rates only of counters and histogram buckets, quantiles by le), each
// metric shown somewhere.
func TestGrafanaDashboard(t *testing.T) {
	for _, p := range checkDashboard([]byte(readFile(t, filepath.Join("grafana", "dashboards", "saas.json")))) {
		t.Error(p)
	}
}

func checkDashboard(raw []byte) []string {
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return []string{"saas.json: " + err.Error()}
	}
	var p []string
	errorf := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if d.Title == "" || d.UID == "" {
		errorf("dashboard needs a title and a stable uid")
	}
	vars := map[string]bool{"__rate_interval": true, "__range": true, "__interval": true}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != "${datasource}") {
			errorf("variable %s: data source must be ${datasource}", v.Name)
		}
	}
	if !vars["datasource"] {
		errorf("dashboard: no datasource variable; panels would be bound to one Grafana's data source")
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	type rect struct{ x0, y0, x1, y1 int }
	var placed []rect
	for _, pn := range d.Panels {
		if ids[pn.ID] {
			errorf("panel %q: id %d used twice", pn.Title, pn.ID)
		}
		ids[pn.ID] = true
		g := pn.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			errorf("panel %q: gridPos %+v outside the 24-column grid", pn.Title, g)
		}
		r := rect{g.X, g.Y, g.X + g.W, g.Y + g.H}
		for _, q := range placed {
			if r.x0 < q.x1 && q.x0 < r.x1 && r.y0 < q.y1 && q.y0 < r.y1 {
				errorf("panel %q overlaps another panel", pn.Title)
			}
		}
		placed = append(placed, r)
		if pn.Type == "row" {
			continue
		}
		if pn.Datasource == nil || pn.Datasource.UID != "${datasource}" {
			errorf("panel %q: data source must be ${datasource}", pn.Title)
		}
		if len(pn.Targets) == 0 {
			errorf("panel %q: no query", pn.Title)
		}
		for _, tg := range pn.Targets {
			e := tg.Expr
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				errorf("panel %q: query data source must be ${datasource}", pn.Title)
			}
			if strings.Count(e, "(") != strings.Count(e, ")") || strings.Count(e, "{") != strings.Count(e, "}") || strings.Count(e, "[") != strings.Count(e, "]") {
				errorf("panel %q: unbalanced brackets in %s", pn.Title, e)
			}
			for _, m := range grafanaVar.FindAllStringSubmatch(e, -1) {
				if !vars[m[1]] {
					errorf("panel %q: $%s is not a dashboard variable", pn.Title, m[1])
				}
			}
			bare := grafanaVar.ReplaceAllString(promString.ReplaceAllString(e, `""`), "")
			bare = regexp.MustCompile(`\[[^\]]*\]`).ReplaceAllString(bare, "")
			for _, id := range promIdent.FindAllString(bare, -1) {
				name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(id, "_bucket"), "_sum"), "_count")
				kind, known := metrics[name]
				switch {
				case known:
					used[name] = true
					if kind == "histogram" && name == id {
						errorf("panel %q: %s is a histogram; query %s_bucket, _sum or _count", pn.Title, id, id)
					}
				case !slices.Contains(promQLWords, id) && !regexp.MustCompile(`^[0-9]`).MatchString(id):
					errorf("panel %q: %s is neither a known metric nor a known label or function", pn.Title, id)
				}
			}
			for _, m := range rateOf.FindAllStringSubmatch(e, -1) {
				if k := metrics[m[1]]; k != "counter" && !(strings.HasSuffix(m[1], "_bucket") && metrics[strings.TrimSuffix(m[1], "_bucket")] == "histogram") {
					errorf("panel %q: rate/increase of %s, which is not a counter", pn.Title, m[1])
				}
			}
			if strings.Contains(e, "histogram_quantile") && !regexp.MustCompile(`by \([^)]*\ble\b`).MatchString(e) {
				errorf("panel %q: histogram_quantile needs the buckets summed by le", pn.Title)
			}
		}
	}
	for m := range metrics {
		if !used[m] {
			errorf("dashboard: no panel shows %s", m)
		}
	}
	return p
}

// Grafana in compose gets the Prometheus of compose as its data source and
// the dashboard directory mounted where its provisioning looks.
func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `json:"apiVersion"`
		Datasources []struct {
			Name      string `json:"name"`
			UID       string `json:"uid"`
			Type      string `json:"type"`
			Access    string `json:"access"`
			URL       string `json:"url"`
			IsDefault bool   `json:"isDefault"`
			Editable  bool   `json:"editable"`
		} `json:"datasources"`
	}
	loadStrict(t, filepath.Join("grafana", "provisioning", "datasources", "prometheus.yml"), &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("data source: want one prometheus at http://prometheus:9090, got %+v", ds.Datasources)
	}
	var prov struct {
		APIVersion int `json:"apiVersion"`
		Providers  []struct {
			Name            string `json:"name"`
			Folder          string `json:"folder"`
			Type            string `json:"type"`
			DisableDeletion bool   `json:"disableDeletion"`
			AllowUIUpdates  bool   `json:"allowUiUpdates"`
			Options         struct {
				Path                      string `json:"path"`
				FoldersFromFilesStructure bool   `json:"foldersFromFilesStructure"`
			} `json:"options"`
		} `json:"providers"`
	}
	loadStrict(t, filepath.Join("grafana", "provisioning", "dashboards", "saas.yml"), &prov)
	f, _ := loadCompose(t)
	g, ok := f.Services["grafana"]
	if !ok {
		t.Fatal("docker-compose.yml has no grafana service")
	}
	if len(prov.Providers) != 1 || !slices.Contains(g.Volumes, "./grafana/dashboards:"+prov.Providers[0].Options.Path+":ro") {
		t.Errorf("grafana: the dashboards provider reads %+v, but compose mounts %q", prov.Providers, g.Volumes)
	}
	if !slices.Contains(g.Volumes, "./grafana/provisioning:/etc/grafana/provisioning:ro") {
		t.Error("grafana: provisioning is not mounted at /etc/grafana/provisioning")
	}
}

// The dashboard checks can fail.
func TestDashboardChecksCatchBrokenQueries(t *testing.T) {
	raw := readFile(t, filepath.Join("grafana", "dashboards", "saas.json"))
	for _, m := range []struct{ name, old, new, want string }{
		{"unknown metric", "saas_tokens_issued_total", "saas_token_issued_total", "saas_token_issued_total is neither"},
		{"metric unused", "saas_content_published_total", "saas_keys_created_total", "no panel shows saas_content_published_total"},
		{"rate of a gauge", `sum by (service) (http_requests_in_flight`, `sum by (service) (rate(http_requests_in_flight[$__rate_interval])`, "not a counter"},
		{"quantile without le", "sum by (service, le) (rate(http_request_duration_seconds_bucket", "sum by (service) (rate(http_request_duration_seconds_bucket", "by le"},
		{"unbalanced", "sum by (grant) (rate(saas_tokens_issued_total[$__rate_interval]))", "sum by (grant) (rate(saas_tokens_issued_total[$__rate_interval])", "unbalanced"},
		{"signatures not shown", "saas_tokens_signed_total[", "saas_tokens_issued_total[", "no panel shows saas_tokens_signed_total"},
		{"unknown variable", `service=~\"$service\"`, `service=~\"$svc\"`, "$svc is not a dashboard variable"},
		{"fixed data source", `"uid": "${datasource}"`, `"uid": "prom-1"`, "${datasource}"},
	} {
		t.Run(m.name, func(t *testing.T) {
			if !strings.Contains(raw, m.old) {
				t.Fatalf("saas.json no longer contains %q: update this mutation", m.old)
			}
			problems := checkDashboard([]byte(strings.Replace(raw, m.old, m.new, 1)))
			for _, p := range problems {
				if strings.Contains(p, m.want) {
					t.Logf("refused: %s", p)
					return
				}
			}
			t.Errorf("broken dashboard accepted: no problem mentions %q; problems: %q", m.want, problems)
		})
	}
}

// The dashboard's metric names are the ones the code registers, so that a
// rename on either side fails here rather than leaving a panel empty. The pool
// collector builds its names as "db_pool_" + suffix.
func TestDashboardMetricsAreRegisteredByTheCode(t *testing.T) {
	var source strings.Builder
	for _, dir := range []string{"../internal", "../cmd"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			source.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	code := source.String()
	for _, p := range checkDashboardLabels([]byte(readFile(t, filepath.Join("grafana", "dashboards", "saas.json"))), code) {
		t.Error(p)
	}
	// The label check sees every registered domain counter.
	registered := registeredLabels(code)
	for name := range metrics {
		if _, found := registered[name]; strings.HasPrefix(name, "saas_") && !found {
			t.Errorf("%s: registeredLabels does not find its registration, so its labels go unchecked", name)
		}
	}
	for name := range metrics {
		literal := `"` + name + `"`
		if suffix, ok := strings.CutPrefix(name, "db_pool_"); ok {
			literal = `"` + suffix + `"`
		}
		if !strings.Contains(code, literal) {
			t.Errorf("the dashboard uses %s, which no code registers", name)
		}
	}
}

// ownLabels are labels every series has (the HTTP metrics' own, and the
// target labels Prometheus adds), beside a metric's registered ones.
var ownLabels = []string{"service", "route", "method", "code", "le", "app", "instance", "job", "pod", "namespace"}

var (
	// registration finds `Name: "saas_x_total", Help: ...}, []string{"a", "b"})`.
	registration = regexp.MustCompile(`(?s)Name:\s*"(saas_[a-z0-9_]+)",.*?\}(\s*,\s*\[\]string\{([^}]*)\})?\)`)
	byLabels     = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	matcherLabel = regexp.MustCompile(`[{,]\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
)

// registeredLabels maps each saas_* metric the code registers to its labels.
func registeredLabels(code string) map[string][]string {
	registered := map[string][]string{}
	for _, m := range registration.FindAllStringSubmatch(code, -1) {
		labels := []string{}
		for _, l := range regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(m[3], -1) {
			labels = append(labels, l[1])
		}
		registered[m[1]] = labels
	}
	return registered
}

// checkDashboardLabels: a domain counter is grouped or filtered only by the
// labels the code registers it with, so "sum by (grant)" over a counter with
// no grant label cannot show one empty series.
func checkDashboardLabels(raw []byte, code string) []string {
	registered := registeredLabels(code)
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return []string{"saas.json: " + err.Error()}
	}
	var p []string
	for _, pn := range d.Panels {
		for _, tg := range pn.Targets {
			var domain []string
			for _, id := range promIdent.FindAllString(tg.Expr, -1) {
				if _, ok := registered[id]; ok && !slices.Contains(domain, id) {
					domain = append(domain, id)
				}
			}
			if len(domain) != 1 {
				continue // HTTP and pool metrics, pending ones, or a mix this check does not untangle
			}
			var labels []string
			for _, m := range byLabels.FindAllStringSubmatch(tg.Expr, -1) {
				for _, l := range strings.Split(m[1], ",") {
					labels = append(labels, strings.TrimSpace(l))
				}
			}
			for _, m := range matcherLabel.FindAllStringSubmatch(promString.ReplaceAllString(tg.Expr, `""`), -1) {
				labels = append(labels, m[1])
			}
			for _, l := range labels {
				if l != "" && !slices.Contains(ownLabels, l) && !slices.Contains(registered[domain[0]], l) {
					p = append(p, fmt.Sprintf("panel %q: %s has no label %q (the code registers %q)", pn.Title, domain[0], l, registered[domain[0]]))
				}
			}
		}
	}
	return p
}

// The label check can fail.
func TestDashboardLabelChecksCatchWrongLabels(t *testing.T) {
	raw := readFile(t, filepath.Join("grafana", "dashboards", "saas.json"))
	code := `Name: "saas_logins_total", Help: "x"}, []string{"result"})
		Name: "saas_tokens_issued_total", Help: "y"}, []string{"grant"})
		Name: "saas_refresh_reuse_detected_total", Help: "z"})`
	if p := checkDashboardLabels([]byte(raw), code); len(p) > 0 {
		t.Fatalf("the dashboard as it is refused: %q", p)
	}
	for _, m := range []struct{ name, old, new, want string }{
		{"grouped by another metric's label", "sum by (result) (rate(saas_logins_total", "sum by (grant) (rate(saas_logins_total", `saas_logins_total has no label "grant"`},
		{"filtered by a missing label", "increase(saas_refresh_reuse_detected_total[", `increase(saas_refresh_reuse_detected_total{result=\"failed\"}[`, `saas_refresh_reuse_detected_total has no label "result"`},
	} {
		t.Run(m.name, func(t *testing.T) {
			if !strings.Contains(raw, m.old) {
				t.Fatalf("saas.json no longer contains %q: update this mutation", m.old)
			}
			for _, p := range checkDashboardLabels([]byte(strings.Replace(raw, m.old, m.new, 1)), code) {
				if strings.Contains(p, m.want) {
					t.Logf("refused: %s", p)
					return
				}
			}
			t.Errorf("wrong label accepted: no problem mentions %q", m.want)
		})
	}
}
