package config

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// examplesDir is the module's examples directory, from this package.
var examplesDir = filepath.Join("..", "..", "..", "..", "examples")

// TestLocalExample: the configuration `make run` embeds is valid.
func TestLocalExample(t *testing.T) {
	path := filepath.Join(examplesDir, "local.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("!!! %s does not exist: not checked !!!", path)
	}
	if _, err := Load(path, env(nil)); err != nil {
		t.Fatalf("sidetrail validate %s:\n%v", path, err)
	}
}

// k8sObject is the little of a Kubernetes manifest this test needs (the
// manifests are decoded strictly into the API types by the test in
// examples/kubernetes, which cannot import this internal package).
type k8sObject struct {
	Kind       string                `yaml:"kind"`
	Metadata   struct{ Name string } `yaml:"metadata"`
	Data       map[string]string     `yaml:"data"`
	StringData map[string]string     `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Spec struct {
				InitContainers []k8sContainer `yaml:"initContainers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Name string `yaml:"name"`
	Env  []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
}

// TestKubernetesExample validates the sidetrail.yaml of the Kubernetes
// example's ConfigMap as `sidetrail validate` would inside the pod: with
// exactly the environment the Deployment gives the sidetrail container
// (Secret values from the Secret manifest, downward-API values made up).
func TestKubernetesExample(t *testing.T) {
	dir := filepath.Join(examplesDir, "kubernetes")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	var configs map[string]string
	secrets := map[string]map[string]string{}
	var sidetrail *k8sContainer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var o k8sObject
		if err := yaml.Unmarshal(data, &o); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch o.Kind {
		case "ConfigMap":
			if _, ok := o.Data["sidetrail.yaml"]; ok {
				configs = o.Data
			}
		case "Secret":
			secrets[o.Metadata.Name] = o.StringData
		case "Deployment":
			for i, c := range o.Spec.Template.Spec.InitContainers {
				if c.Name == "sidetrail" {
					sidetrail = &o.Spec.Template.Spec.InitContainers[i]
				}
			}
		}
	}
	if configs == nil || sidetrail == nil {
		t.Fatal("want a ConfigMap with sidetrail.yaml and a Deployment with a sidetrail init container")
	}
	vars := map[string]string{}
	for _, e := range sidetrail.Env {
		switch {
		case e.ValueFrom == nil:
			vars[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secrets[ref.Name][ref.Key]
			if !ok {
				t.Errorf("env %s: no key %q in Secret %q", e.Name, ref.Key, ref.Name)
			}
			vars[e.Name] = v
		default:
			vars[e.Name] = "example-" + e.Name
		}
	}
	cfg, err := Parse("configmap.yaml:sidetrail.yaml", []byte(configs["sidetrail.yaml"]), env(vars))
	if err != nil {
		t.Fatalf("sidetrail validate:\n%v", err)
	}
	es := cfg.Sinks[len(cfg.Sinks)-1].Elasticsearch
	if es == nil || es.Password != "change-me" || es.Username != "sidetrail" {
		t.Errorf("elasticsearch credentials from the Secret via ${...}: %+v", es)
	}
	if got := cfg.Sources[0].Fields["kubernetes.pod.name"]; got != "example-POD_NAME" {
		t.Errorf("downward-API field = %q", got)
	}
}
