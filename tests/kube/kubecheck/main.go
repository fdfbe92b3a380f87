// kubecheck decodes every object of Kubernetes YAML streams strictly into
// the real API types (k8s.io/api): an unknown or duplicated field, a wrong
// type or an unknown kind is an error. It prints the objects as one JSON
// array (for the tests to check their meaning) and exits 1 on any error.
//
//	kubecheck FILE...      (- or no FILE: standard input)
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

func newObject(apiVersion, kind string) (interface{}, bool) {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "v1/Namespace":
		return &corev1.Namespace{}, true
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "batch/v1/Job":
		return &batchv1.Job{}, true
	case "networking.k8s.io/v1/Ingress":
		return &networkingv1.Ingress{}, true
	case "rbac.authorization.k8s.io/v1/Role":
		return &rbacv1.Role{}, true
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		return &rbacv1.RoleBinding{}, true
	}
	return nil, false
}

// documents splits a YAML stream at its "---" lines.
func documents(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimRight(line, " ") == "---" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	docs = append(docs, cur.Bytes())
	return docs
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = []string{"-"}
	}
	var out []json.RawMessage
	failed := false
	for _, name := range args {
		var data []byte
		var err error
		if name == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubecheck:", err)
			os.Exit(1)
		}
		for i, doc := range documents(data) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				fmt.Fprintf(os.Stderr, "%s: document %d: %v\n", name, i+1, err)
				failed = true
				continue
			}
			obj, ok := newObject(meta.APIVersion, meta.Kind)
			if !ok {
				fmt.Fprintf(os.Stderr, "%s: document %d: unknown kind %s %s\n", name, i+1, meta.APIVersion, meta.Kind)
				failed = true
				continue
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %s %s: %v\n", name, meta.Kind, meta.Metadata.Name, err)
				failed = true
				continue
			}
			js, err := json.Marshal(obj)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %s %s: %v\n", name, meta.Kind, meta.Metadata.Name, err)
				failed = true
				continue
			}
			out = append(out, js)
		}
	}
	js, _ := json.Marshal(out)
	os.Stdout.Write(js)
	os.Stdout.Write([]byte("\n"))
	if failed {
		os.Exit(1)
	}
}
