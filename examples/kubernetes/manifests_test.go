// Package kubernetes holds the example deployment of nginx with sidetrail as
// a native sidecar, and this test of it. It owns only manifests; it must
// never hold anything that is not exercised here.
//
// The sidetrail.yaml inside configmap.yaml is validated with config.Parse by
// TestKubernetesExample in cmd/sidetrail/internal/config (Go's internal
// rule keeps this package from importing that one); this test checks the
// manifests themselves.
package kubernetes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	sidetrail "github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// kustomization is the part of kustomize's Kustomization this example uses;
// it is decoded strictly too, so a key outside it fails the test.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// manifests are the decoded objects of the example.
type manifests struct {
	deployment *appsv1.Deployment
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	services   map[string]*corev1.Service
}

// decodeStrict decodes one YAML document into v as the API server's strict
// field validation does: unknown fields, duplicate fields and fields whose
// case differs (encoding/json would take runAsNonroot for runAsNonRoot)
// are all errors.
func decodeStrict(t *testing.T, file string, data []byte, v any) {
	t.Helper()
	if err := unmarshalStrict(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func unmarshalStrict(data []byte, v any) error {
	j, err := sigsyaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strict, err := k8sjson.UnmarshalStrict(j, v, k8sjson.DisallowDuplicateFields, k8sjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// load decodes every resource kustomization.yaml lists, strictly, into its
// Kubernetes API type, and checks that no YAML file in the directory is
// left out of kustomization.yaml (and so out of this test).
func load(t *testing.T) *manifests {
	t.Helper()
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	decodeStrict(t, "kustomization.yaml", data, &k)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: apiVersion %q kind %q", k.APIVersion, k.Kind)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f != "kustomization.yaml" && !slices.Contains(k.Resources, f) {
			t.Errorf("%s is not listed in kustomization.yaml resources", f)
		}
	}

	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		services: map[string]*corev1.Service{}}
	for _, f := range k.Resources {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("kustomization.yaml lists %s: %v", f, err)
		}
		if bytes.Contains(data, []byte("\n---")) {
			t.Fatalf("%s: one object per file, please", f)
		}
		var tm metav1.TypeMeta
		if err := sigsyaml.Unmarshal(data, &tm); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			if m.deployment != nil {
				t.Fatalf("%s: a second Deployment", f)
			}
			m.deployment = new(appsv1.Deployment)
			decodeStrict(t, f, data, m.deployment)
		case "v1 ConfigMap":
			var o corev1.ConfigMap
			decodeStrict(t, f, data, &o)
			m.configMaps[o.Name] = &o
		case "v1 Secret":
			var o corev1.Secret
			decodeStrict(t, f, data, &o)
			m.secrets[o.Name] = &o
		case "v1 Service":
			var o corev1.Service
			decodeStrict(t, f, data, &o)
			m.services[o.Name] = &o
		default:
			t.Fatalf("%s: unexpected %s %s (add it to this test)", f, tm.APIVersion, tm.Kind)
		}
	}
	if m.deployment == nil {
		t.Fatal("no Deployment")
	}
	return m
}

// TestStrictDecodingCatchesTypos proves the decoder used above fails on an
// unknown field rather than dropping it.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 2\n", `unknown field "spec.replica"`},
		{"kind: Pod\nspec:\n  containers:\n  - name: a\n    securityContext: {runAsNonroot: true}\n", `unknown field "spec.containers[0].securityContext.runAsNonroot"`},
		{"kind: Pod\nkind: Pod\n", `"kind" already set`},
	} {
		err := unmarshalStrict([]byte(tc.doc), &corev1.Pod{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("unmarshalStrict(%q) = %v, want an error containing %s", tc.doc, err, tc.want)
		}
	}
}

func container(t *testing.T, cs []corev1.Container, name string) *corev1.Container {
	t.Helper()
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

func mountPath(c *corev1.Container, volume string) (string, bool) {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath, true
		}
	}
	return "", false
}

// sidetrailYAML is the part of sidetrail.yaml the manifests must agree with.
type sidetrailYAML struct {
	DataDir      string `yaml:"data_dir"`
	DrainTimeout string `yaml:"drain_timeout"`
	Sources      []struct {
		Name      string   `yaml:"name"`
		Paths     []string `yaml:"paths"`
		Format    string   `yaml:"format"`
		LogFormat string   `yaml:"log_format"`
	} `yaml:"sources"`
	Server struct {
		Listen string `yaml:"listen"`
	} `yaml:"server"`
}

func TestDeployment(t *testing.T) {
	m := load(t)
	d := m.deployment
	pod := d.Spec.Template.Spec

	// Labels and selectors line up.
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template labels", k, v)
		}
	}
	for name, svc := range m.services {
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("service %s selects %s=%s, not on the pod template", name, k, v)
			}
		}
	}

	// sidetrail is a native sidecar: an init container that keeps running.
	side := container(t, pod.InitContainers, "sidetrail")
	if side.RestartPolicy == nil || *side.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Error("sidetrail: restartPolicy must be Always (a native sidecar)")
	}
	for _, c := range pod.Containers {
		if c.Name == "sidetrail" {
			t.Error("sidetrail must not also be a regular container")
		}
	}
	nginx := container(t, pod.Containers, "nginx")

	// The shared emptyDir at /var/log/nginx in both.
	var logsVolume *corev1.Volume
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == "logs" {
			logsVolume = &pod.Volumes[i]
		}
	}
	if logsVolume == nil || logsVolume.EmptyDir == nil {
		t.Fatal("no emptyDir volume named logs")
	}
	for _, c := range []*corev1.Container{side, nginx} {
		if p, ok := mountPath(c, "logs"); !ok || p != "/var/log/nginx" {
			t.Errorf("%s mounts logs at %q, want /var/log/nginx", c.Name, p)
		}
	}

	// sidetrail's security context.
	sc := side.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("sidetrail: no securityContext")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("sidetrail: runAsNonRoot must be true")
	case sc.RunAsUser == nil || *sc.RunAsUser != 65532:
		t.Error("sidetrail: runAsUser must be 65532 (distroless nonroot)")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("sidetrail: readOnlyRootFilesystem must be true")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("sidetrail: allowPrivilegeEscalation must be false")
	case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
		t.Error("sidetrail: capabilities must drop ALL and add none")
	}
	if pod.SecurityContext == nil || pod.SecurityContext.FSGroup == nil {
		t.Error("pod: fsGroup must be set so both containers can use the shared volumes")
	}

	// Requests and limits everywhere.
	for _, c := range []*corev1.Container{side, nginx} {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				t.Errorf("%s: no %s request", c.Name, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				t.Errorf("%s: no %s limit", c.Name, r)
			}
		}
	}

	// The sidetrail configuration the Deployment runs.
	var cfgName, cfgItem string
	cfgMount, ok := mountPath(side, "sidetrail-config")
	if !ok {
		t.Fatal("sidetrail: no sidetrail-config mount")
	}
	for _, v := range pod.Volumes {
		if v.Name == "sidetrail-config" && v.ConfigMap != nil {
			cfgName = v.ConfigMap.Name
			for _, it := range v.ConfigMap.Items {
				cfgItem = it.Path
			}
		}
	}
	for _, vm := range side.VolumeMounts {
		if vm.Name == "sidetrail-config" && vm.SubPath != "" {
			t.Error("sidetrail-config must be a directory mount (subPath mounts never see ConfigMap updates)")
		}
	}
	wantArgs := []string{"run", "-config", filepath.Join(cfgMount, cfgItem)}
	if !slices.Equal(side.Args, wantArgs) {
		t.Errorf("sidetrail args = %q, want %q", side.Args, wantArgs)
	}
	cm := m.configMaps[cfgName]
	if cm == nil {
		t.Fatalf("ConfigMap %q not in the manifests", cfgName)
	}
	var st sidetrailYAML
	if err := yaml.Unmarshal([]byte(cm.Data["sidetrail.yaml"]), &st); err != nil {
		t.Fatalf("sidetrail.yaml: %v", err)
	}

	// The data directory is a volume (the root filesystem is read-only).
	if p, ok := mountPath(side, "data"); !ok || p != st.DataDir {
		t.Errorf("sidetrail mounts data at %q, want data_dir %q", p, st.DataDir)
	}

	// Probes and scrape annotations on the server's port.
	_, portText, err := netSplitPort(st.Server.Listen)
	if err != nil {
		t.Fatalf("server.listen %q: %v", st.Server.Listen, err)
	}
	port, _ := strconv.Atoi(portText)
	ports := map[string]int32{}
	for _, p := range side.Ports {
		ports[p.Name] = p.ContainerPort
	}
	// No readiness probe on the sidecar: its readiness would be the pod's,
	// and a backend outage would pull every replica out of its Service.
	if side.ReadinessProbe != nil {
		t.Errorf("sidetrail has a readinessProbe: a backend outage would take the application out of service")
	}
	for what, probe := range map[string]*corev1.Probe{"liveness": side.LivenessProbe, "startup": side.StartupProbe} {
		want := map[string]string{"liveness": "/healthz", "startup": "/readyz"}[what]
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("sidetrail: no %s httpGet probe", what)
			continue
		}
		if probe.HTTPGet.Path != want {
			t.Errorf("sidetrail %s probe path %q, want %q", what, probe.HTTPGet.Path, want)
		}
		p := probe.HTTPGet.Port
		if got := p.IntVal; p.StrVal != "" {
			got = ports[p.StrVal]
			if int(got) != port {
				t.Errorf("sidetrail %s probe port %v = %d, want server.listen's %d", what, p.String(), got, port)
			}
		} else if int(got) != port {
			t.Errorf("sidetrail %s probe port %d, want %d", what, got, port)
		}
	}
	ann := d.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(port) {
		t.Errorf("scrape annotations %v, want prometheus.io/scrape \"true\" and prometheus.io/port %q", ann, strconv.Itoa(port))
	}

	// The grace period covers nginx's exit, the drain and a margin.
	drain, err := time.ParseDuration(st.DrainTimeout)
	if err != nil {
		t.Fatalf("drain_timeout %q: %v", st.DrainTimeout, err)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < drain+10*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v, want at least drain_timeout (%v) + 10s", g, drain)
	}

	// Every ${VAR} the configuration needs (without a default) is in the
	// container's environment, and every secret reference resolves.
	env := map[string]bool{}
	for _, e := range side.Env {
		env[e.Name] = true
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			s := m.secrets[ref.Name]
			if s == nil {
				t.Errorf("env %s: Secret %q not in the manifests", e.Name, ref.Name)
			} else if _, ok := s.StringData[ref.Key]; !ok {
				if _, ok := s.Data[ref.Key]; !ok {
					t.Errorf("env %s: Secret %q has no key %q", e.Name, ref.Name, ref.Key)
				}
			}
		}
	}
	for _, ref := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`).FindAllStringSubmatch(cm.Data["sidetrail.yaml"], -1) {
		if ref[2] == "" && !env[ref[1]] {
			t.Errorf("sidetrail.yaml uses ${%s}, which the sidetrail container's env does not set", ref[1])
		}
	}

	// The sources read the shared volume.
	for _, s := range st.Sources {
		for _, p := range s.Paths {
			if !strings.HasPrefix(p, "/var/log/nginx/") {
				t.Errorf("source %s path %q is outside the shared volume", s.Name, p)
			}
		}
	}

	// nginx reads its configuration from the same ConfigMap.
	var nginxCM string
	for _, v := range pod.Volumes {
		if v.Name == "nginx-config" && v.ConfigMap != nil {
			nginxCM = v.ConfigMap.Name
		}
	}
	if p, _ := mountPath(nginx, "nginx-config"); p != "/etc/nginx/nginx.conf" || m.configMaps[nginxCM] == nil ||
		m.configMaps[nginxCM].Data["nginx.conf"] == "" {
		t.Errorf("nginx must mount nginx.conf from a ConfigMap of the manifests at /etc/nginx/nginx.conf")
	}
}

func netSplitPort(listen string) (string, string, error) {
	i := strings.LastIndexByte(listen, ':')
	if i < 0 {
		return "", "", fmt.Errorf("no port")
	}
	if _, err := strconv.Atoi(listen[i+1:]); err != nil {
		return "", "", err
	}
	return listen[:i], listen[i+1:], nil
}

// logFormat returns the access log's log_format directive from nginx.conf
// text, whitespace collapsed.
func logFormat(t *testing.T, conf string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)log_format\s+main\s+.*?;`).FindString(conf)
	if m == "" {
		t.Fatal("no log_format main in nginx.conf")
	}
	return strings.Join(strings.Fields(m), " ")
}

// TestLogFormatsAgree: the log_format sidetrail parses is the one nginx
// writes, and it carries $request_id.
func TestLogFormatsAgree(t *testing.T) {
	m := load(t)
	cm := m.configMaps["nginx-logging"]
	if cm == nil {
		t.Fatal("no ConfigMap nginx-logging")
	}
	conf := cm.Data["nginx.conf"]
	nginxFormat := logFormat(t, conf)
	if !strings.Contains(nginxFormat, "$request_id") {
		t.Errorf("nginx log_format lacks $request_id: %s", nginxFormat)
	}
	if !regexp.MustCompile(`access_log\s+/var/log/nginx/access\.log\s+main;`).MatchString(conf) {
		t.Error("nginx.conf must write access_log /var/log/nginx/access.log main")
	}
	var st sidetrailYAML
	if err := yaml.Unmarshal([]byte(cm.Data["sidetrail.yaml"]), &st); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range st.Sources {
		if s.Format != "nginx" {
			continue
		}
		found = true
		if got := strings.Join(strings.Fields(s.LogFormat), " "); got != nginxFormat {
			t.Errorf("source %s log_format\n %s\ndiffers from nginx.conf's\n %s", s.Name, got, nginxFormat)
		}
	}
	if !found {
		t.Error("no nginx source in sidetrail.yaml")
	}
}

// TestNginxAcceptsConf runs `nginx -t` on the ConfigMap's nginx.conf, its
// absolute paths moved into a temp dir. Skipped when nginx is not
// installed (make test installs it).
func TestNginxAcceptsConf(t *testing.T) {
	bin := nginxBinary(t)
	if _, err := os.Stat("/etc/nginx/mime.types"); err != nil {
		t.Skip("/etc/nginx/mime.types missing")
	}
	m := load(t)
	conf := m.configMaps["nginx-logging"].Data["nginx.conf"]
	dir := t.TempDir()
	conf = strings.NewReplacer(
		"/var/log/nginx/", dir+"/",
		"/var/run/nginx.pid", filepath.Join(dir, "nginx.pid"),
		"listen 80;", "listen 127.0.0.1:1;", // nginx -t does not bind
	).Replace(conf)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-t", "-q", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// TestNginxWritesWhatSidetrailParses runs nginx with the ConfigMap's
// nginx.conf (its absolute paths moved into a temp dir, listening on a free
// loopback port), sends one request and parses the access log line nginx
// wrote with the log_format of sidetrail.yaml: the $request_id nginx sent
// back as X-Request-ID must come out as the request_id field.
func TestNginxWritesWhatSidetrailParses(t *testing.T) {
	bin := nginxBinary(t)
	m := load(t)
	cm := m.configMaps["nginx-logging"]
	var st sidetrailYAML
	if err := yaml.Unmarshal([]byte(cm.Data["sidetrail.yaml"]), &st); err != nil {
		t.Fatal(err)
	}
	var format string
	for _, s := range st.Sources {
		if s.Format == "nginx" {
			format = s.LogFormat
		}
	}
	p, err := parser.New(parser.Config{Format: parser.FormatNginx, LogFormat: format})
	if err != nil {
		t.Fatalf("sidetrail's log_format: %v", err)
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := strings.NewReplacer(
		"/var/log/nginx/", dir+"/",
		"/var/run/nginx.pid", filepath.Join(dir, "nginx.pid"),
		"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port),
		"root /usr/share/nginx/html;", "root "+filepath.Join(dir, "www")+";",
		"http {", "http {\n"+tempPaths(dir),
	).Replace(cm.Data["nginx.conf"])
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"),
		"-g", "daemon off; master_process off;")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// Poll until nginx answers, then send the request that is checked.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := fmt.Sprintf("http://127.0.0.1:%d/?token=s3cr3tT0ken&page=2", port)
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case <-exited:
			out, _ := os.ReadFile(filepath.Join(dir, "stderr"))
			elog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited:\n%s\n%s", out, elog)
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	resp, err = client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	requestID := resp.Header.Get("X-Request-ID")
	if resp.StatusCode != 200 || len(requestID) != 32 {
		t.Fatalf("GET = %d, X-Request-ID %q", resp.StatusCode, requestID)
	}

	// nginx writes the access log line after the response: poll for it.
	var line []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		data, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no line in access.log")
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
	var rec sidetrail.Record
	if err := p.Parse(line, &rec); err != nil {
		t.Fatalf("sidetrail's log_format does not parse nginx's line %q: %v", line, err)
	}
	want := map[string]string{"request_id": requestID, "status": "200", "request_method": "GET", "remote_addr": "127.0.0.1"}
	for k, v := range want {
		if f, ok := rec.Get(k); !ok || string(f.Value) != v {
			t.Errorf("field %s = %q (present %v), want %q; line %q", k, f.Value, ok, v, line)
		}
	}
	if _, ok := rec.Get("request_time"); !ok || rec.Time.IsZero() {
		t.Errorf("request_time or the event time missing: %+v", rec)
	}
	if _, err := os.Stat(filepath.Join(dir, "error.log")); err != nil {
		t.Errorf("nginx wrote no error.log in the shared directory: %v", err)
	}

	// The example's redaction rules take the token out of the message and
	// the request fields, and truncate the client address.
	var rules struct {
		Redact []redact.Rule `yaml:"redact"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["sidetrail.yaml"]), &rules); err != nil {
		t.Fatal(err)
	}
	r, err := redact.New(rules.Redact, redact.Options{})
	if err != nil {
		t.Fatalf("redact rules: %v", err)
	}
	rec.Message = line
	r.Apply(&rec)
	if bytes.Contains(rec.Message, []byte("s3cr3tT0ken")) {
		t.Errorf("token left in the message: %s", rec.Message)
	}
	for _, f := range rec.Fields {
		if bytes.Contains(f.Value, []byte("s3cr3tT0ken")) {
			t.Errorf("token left in field %s: %s", f.Key, f.Value)
		}
	}
	if f, _ := rec.Get("remote_addr"); string(f.Value) == "127.0.0.1" {
		t.Errorf("remote_addr not truncated: %s", f.Value)
	}
	if f, _ := rec.Get("request_id"); string(f.Value) != requestID {
		t.Errorf("request_id changed by redaction: %s", f.Value)
	}
}

func tempPaths(dir string) string {
	var b strings.Builder
	for _, k := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %s;\n", k, filepath.Join(dir, k))
	}
	return b.String()
}

func nginxBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed (apt-get install nginx; make test does)")
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestSecretHasNoRealCredentials keeps the example from ever shipping one.
func TestSecretHasNoRealCredentials(t *testing.T) {
	m := load(t)
	for name, s := range m.secrets {
		if len(s.Data) > 0 {
			t.Errorf("Secret %s: use stringData placeholders, not data", name)
		}
		b, _ := json.Marshal(s.StringData)
		if !strings.Contains(string(b), "change-me") {
			t.Errorf("Secret %s: the password must be the change-me placeholder", name)
		}
	}
}
