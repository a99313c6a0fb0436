// Package orchestrate holds the deployment story of the platform — the
// Dockerfile's companion files, docker-compose.yml, the kustomize tree under
// k8s/, the Prometheus scrape configuration and the Grafana dashboard — and
// the tests that prove those files without a Docker engine or a cluster.
package orchestrate
