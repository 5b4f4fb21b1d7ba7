// Package manifesttest checks the Kubernetes manifests of deploy/kubernetes:
// every document decodes strictly (no unknown or duplicate field) into the
// Kubernetes API type of its kind, and the pieces fit together. It is a
// module of its own so that the main module does not depend on the
// Kubernetes libraries.
package manifesttest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// decode decodes one YAML document strictly into the type of its kind.
func decode(doc []byte) (any, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, err
	}
	var obj any
	switch head.APIVersion + " " + head.Kind {
	case "v1 Namespace":
		obj = &corev1.Namespace{}
	case "v1 Service":
		obj = &corev1.Service{}
	case "v1 Secret":
		obj = &corev1.Secret{}
	case "apps/v1 Deployment":
		obj = &appsv1.Deployment{}
	case "policy/v1 PodDisruptionBudget":
		obj = &policyv1.PodDisruptionBudget{}
	default:
		return nil, fmt.Errorf("unexpected kind %s %s", head.APIVersion, head.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, err
	}
	// encoding/json matches field names regardless of case; a round trip
	// through the typed object catches "clusterIp" for "clusterIP".
	var in, out any
	if err := yaml.Unmarshal(doc, &in); err != nil {
		return nil, err
	}
	back, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(back, &out); err != nil {
		return nil, err
	}
	if path := missingKey(in, out, ""); path != "" {
		return nil, fmt.Errorf("field %s is not a field of %s (check its spelling and case)", path, head.Kind)
	}
	return obj, nil
}

// missingKey returns the path of the first key of in that out lacks.
func missingKey(in, out any, path string) string {
	switch iv := in.(type) {
	case map[string]any:
		ov, _ := out.(map[string]any)
		for k, v := range iv {
			o, ok := ov[k]
			if !ok {
				return path + "." + k
			}
			if p := missingKey(v, o, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		ov, _ := out.([]any)
		for i, v := range iv {
			if i >= len(ov) {
				return fmt.Sprintf("%s[%d]", path, i)
			}
			if p := missingKey(v, ov[i], fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

func load(t *testing.T) map[string]any {
	t.Helper()
	files, err := filepath.Glob("../kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	objs := map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			obj, err := decode(doc)
			if err != nil {
				t.Errorf("%s, document %d: %v", f, i+1, err)
				continue
			}
			objs[fmt.Sprintf("%T", obj)] = obj
		}
	}
	return objs
}

func TestManifestsDecodeStrictly(t *testing.T) {
	objs := load(t)
	d, ok := objs["*v1.Deployment"].(*appsv1.Deployment)
	if !ok {
		t.Fatal("no Deployment")
	}
	svc, ok := objs["*v1.Service"].(*corev1.Service)
	if !ok {
		t.Fatal("no Service")
	}
	pdb, ok := objs["*v1.PodDisruptionBudget"].(*policyv1.PodDisruptionBudget)
	if !ok {
		t.Fatal("no PodDisruptionBudget")
	}
	sec, ok := objs["*v1.Secret"].(*corev1.Secret)
	if !ok {
		t.Fatal("no Secret")
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("the Service is not headless: clusterIP %q", svc.Spec.ClusterIP)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v || pdb.Spec.Selector.MatchLabels[k] != v {
			t.Errorf("selector %s=%s does not match the pods or the PDB", k, v)
		}
	}
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		if p == nil || p.GRPC == nil {
			t.Fatalf("probe %+v: want a native gRPC probe", p)
		}
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"--tls-client-ca=", "--health-listen=0.0.0.0:8081", "--listen=0.0.0.0:7070", "--drain-timeout=20s", "--kill-grace=2s"} {
		if !strings.Contains(args, want) {
			t.Errorf("daemon args %q lack %s", args, want)
		}
	}
	if c.ReadinessProbe.GRPC.Port != 8081 {
		t.Errorf("readiness probe on port %d, want the health listener 8081", c.ReadinessProbe.GRPC.Port)
	}
	// SIGTERM drain (20s) plus two kill graces (2s) must fit the grace period.
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 20+2*2+5 {
		t.Errorf("terminationGracePeriodSeconds %v: too short for the drain", g)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("no resource requests: %+v", c.Resources.Requests)
	}
	var secretVol bool
	for _, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == sec.Name {
			secretVol = true
		}
	}
	if !secretVol {
		t.Errorf("the Deployment does not mount the Secret %s", sec.Name)
	}
	for _, k := range []string{"tls.crt", "tls.key", "client-ca.crt"} {
		if _, ok := sec.StringData[k]; !ok {
			t.Errorf("the Secret lacks %s", k)
		}
	}
}

// TestStrictDecodingCatchesTypos: the check would fail on a misspelt field.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  clusterIp: None\n",
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  clusterIPz: None\n",
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  name: y\n",
	} {
		if _, err := decode([]byte(doc)); err == nil {
			t.Errorf("decoded without an error:\n%s", doc)
		}
	}
}
