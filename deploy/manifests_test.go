package deploy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Kubernetes objects, as far as the test reads them.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct{ Name string }
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		Ports []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot   *bool                 `yaml:"runAsNonRoot"`
		SeccompProfile struct{ Type string } `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Containers []struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		EnvFrom []struct {
			SecretRef struct{ Name string } `yaml:"secretRef"`
		} `yaml:"envFrom"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
		ReadinessProbe  *probe `yaml:"readinessProbe"`
		LivenessProbe   *probe `yaml:"livenessProbe"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
			Capabilities             struct{ Drop []string }
		} `yaml:"securityContext"`
	} `yaml:"containers"`
	Volumes []struct {
		Name      string    `yaml:"name"`
		ConfigMap *struct{} `yaml:"configMap"`
		EmptyDir  *struct{} `yaml:"emptyDir"`
		PVC       *struct{} `yaml:"persistentVolumeClaim"`
	} `yaml:"volumes"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// knownKinds are the objects the examples may hold, by apiVersion.
var knownKinds = map[string]string{
	"ConfigMap": "v1", "Secret": "v1", "Service": "v1", "Deployment": "apps/v1",
	"NetworkPolicy": "networking.k8s.io/v1", "PersistentVolumeClaim": "v1",
}

func decodeAll(t *testing.T, path string) []k8sObject {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: document %d is not valid YAML: %v", path, len(objs)+1, err)
		}
		if knownKinds[o.Kind] == "" || knownKinds[o.Kind] != o.APIVersion || o.Metadata.Name == "" {
			t.Errorf("%s: document %d is %s %q of apiVersion %q: not a known kind with a name", path, len(objs)+1, o.Kind, o.Metadata.Name, o.APIVersion)
		}
		objs = append(objs, o)
	}
}

// checkOffline runs `resetgate check -offline` on a config, with the environment given.
func checkOffline(t *testing.T, what, config string, env map[string]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(hostBinary(t), "check", "-offline", "-config", path)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: resetgate check -offline: %v\n%s", what, err, out)
	}
}

var tomlKey = regexp.MustCompile(`(?m)^\s*(listen|data_dir)\s*=\s*"([^"]*)"`)

// configValues reads the top-level listen and data_dir and [admin] listen of a config.
func configValues(config string) (listen, dataDir, admin string) {
	top, adminSection, _ := strings.Cut(config, "[admin]")
	for _, m := range tomlKey.FindAllStringSubmatch(top, -1) {
		if m[1] == "listen" && listen == "" {
			listen = m[2]
		}
		if m[1] == "data_dir" {
			dataDir = m[2]
		}
	}
	if m := tomlKey.FindStringSubmatch(adminSection); m != nil && m[1] == "listen" {
		admin = m[2]
	}
	return
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	return p
}

func TestKubernetesSidecarManifest(t *testing.T) {
	objs := decodeAll(t, "kubernetes/resetgate-sidecar.yaml")
	byKind := map[string][]k8sObject{}
	for _, o := range objs {
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}
	for _, k := range []string{"ConfigMap", "Secret", "Deployment", "Service"} {
		if len(byKind[k]) == 0 {
			t.Fatalf("no %s in the sidecar example", k)
		}
	}
	config := byKind["ConfigMap"][0].Data["config.toml"]
	env := byKind["Secret"][0].StringData
	checkOffline(t, "the ConfigMap's config.toml", config, env)
	listen, dataDir, admin := configValues(config)
	if strings.HasPrefix(admin, "127.") || admin == "" {
		t.Errorf("[admin] listen = %q: the kubelet's probes cannot reach a loopback address", admin)
	}

	pod := byKind["Deployment"][0].Spec.Template.Spec
	var found bool
	for _, c := range pod.Containers {
		if c.Name != "resetgate" {
			continue
		}
		found = true
		ports := map[string]string{}
		for _, p := range c.Ports {
			ports[p.Name] = strconv.Itoa(p.ContainerPort)
		}
		if ports["http"] != port(t, listen) || ports["admin"] != port(t, admin) {
			t.Errorf("container ports %v do not match the config's listen %q and [admin] listen %q", ports, listen, admin)
		}
		if strings.Join(c.Args, " ") != "serve -config /etc/resetgate/config.toml" {
			t.Errorf("args %q", c.Args)
		}
		if len(c.EnvFrom) == 0 || c.EnvFrom[0].SecretRef.Name != byKind["Secret"][0].Metadata.Name {
			t.Errorf("the container does not take its environment from the Secret %q", byKind["Secret"][0].Metadata.Name)
		}
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			mounts[m.MountPath] = m.Name
			if m.MountPath == "/etc/resetgate" && !m.ReadOnly {
				t.Error("the config volume is mounted writable")
			}
		}
		volumes := map[string]bool{}
		for _, v := range pod.Volumes {
			volumes[v.Name] = (v.Name == mounts["/etc/resetgate"] && v.ConfigMap != nil) ||
				(v.Name == mounts[dataDir] && (v.EmptyDir != nil || v.PVC != nil))
		}
		if !volumes[mounts["/etc/resetgate"]] || !volumes[mounts[dataDir]] {
			t.Errorf("want the ConfigMap at /etc/resetgate and a writable volume at data_dir %q; mounts %v", dataDir, mounts)
		}
		for name, p := range map[string]*probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			if p == nil {
				t.Errorf("no %s probe", name)
				continue
			}
			if p.HTTPGet.Port != "admin" || !strings.HasPrefix(p.HTTPGet.Path, map[string]string{"readiness": "/readyz", "liveness": "/healthz"}[name]) {
				t.Errorf("%s probe asks %v %q, want the admin port's /readyz or /healthz", name, p.HTTPGet.Port, p.HTTPGet.Path)
			}
		}
		sc := c.SecurityContext
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !sc.ReadOnlyRootFilesystem ||
			strings.Join(sc.Capabilities.Drop, ",") != "ALL" {
			t.Errorf("container securityContext %+v: want no privilege escalation, a read-only root, all capabilities dropped", sc)
		}
	}
	if !found {
		t.Fatal("no resetgate container in the Deployment")
	}
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod securityContext: want runAsNonRoot and the RuntimeDefault seccomp profile")
	}
	for _, p := range byKind["Service"][0].Spec.Ports {
		if p.TargetPort == "admin" || p.TargetPort == port(t, admin) {
			t.Errorf("the Service exposes the admin port (%v)", p.TargetPort)
		}
	}
}

func TestComposeExampleConfigLoads(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Build struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Volumes     []string          `yaml:"volumes"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	b, err := os.ReadFile("compose/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("docker-compose.yml is not valid YAML: %v", err)
	}
	rg, ok := compose.Services["resetgate"]
	if !ok {
		t.Fatal("no resetgate service in docker-compose.yml")
	}
	if rg.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("the resetgate service builds %q, want deploy/Dockerfile", rg.Build.Dockerfile)
	}
	var configs, targets []string
	for _, v := range rg.Volumes {
		parts := strings.Split(v, ":")
		targets = append(targets, parts[1])
		if strings.HasSuffix(parts[0], ".toml") {
			configs = append(configs, parts[0])
		}
	}
	if len(configs) == 0 {
		t.Fatal("the resetgate service mounts no config file")
	}
	for _, c := range configs {
		cfg, err := os.ReadFile(filepath.Join("compose", c))
		if err != nil {
			t.Fatal(err)
		}
		checkOffline(t, "compose/"+c, string(cfg), rg.Environment)
		_, dataDir, _ := configValues(string(cfg))
		sort.Strings(targets)
		if i := sort.SearchStrings(targets, dataDir); i == len(targets) || targets[i] != dataDir {
			t.Errorf("compose/%s: data_dir %q is not a mounted volume (mounts %v)", c, dataDir, targets)
		}
	}
}

// finalStage is the instructions after a Dockerfile's last FROM, with COPY reduced to its
// destination and options: the layout of the image, whatever the sources.
func finalStage(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "FROM "):
			out = []string{l}
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "COPY "):
			f := strings.Fields(l)
			var opts []string
			for _, w := range f[1:] {
				if strings.HasPrefix(w, "--") && !strings.HasPrefix(w, "--from=") {
					opts = append(opts, w)
				}
			}
			out = append(out, "COPY "+strings.Join(opts, " ")+" → "+f[len(f)-1])
		default:
			out = append(out, l)
		}
	}
	return out
}

func TestDockerfileAndContainerfileBuildTheSameImage(t *testing.T) {
	a, b := finalStage(t, "Containerfile"), finalStage(t, "Dockerfile")
	if a[0] != "FROM scratch" {
		t.Errorf("Containerfile starts %q, want FROM scratch (nothing pulled)", a[0])
	}
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("the final stages differ:\nContainerfile:\n%s\n\nDockerfile:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}
