// Package deploy holds the tests of what ops install: the release build (`make release`), the
// .deb and .rpm packages, the container image, the systemd unit, the compose file and the
// Kubernetes manifests, the Grafana dashboard and the Prometheus rules. The tests build the
// release once from a clean clone of HEAD and shell out to the tools ops use (dpkg, rpm,
// podman, systemd-analyze, promtool). A missing tool skips a test with the reason, or fails
// it with CI=true (.ci/run installs them). The package has only tests; this file names it.
//
//	go test -race -count=1 ./deploy/
package deploy
