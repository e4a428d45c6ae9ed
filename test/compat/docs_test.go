package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// istioKinds are the kinds Mizzen serves under networking.mizzen.dev.
var istioKinds = map[string]bool{"VirtualService": true, "DestinationRule": true, "Gateway": true}

// document is one YAML document of a file.
type document struct {
	File  string // path relative to the compat directory
	Index int    // position in the file, from 0
	Obj   map[string]any
}

func (d document) String() string {
	md, _ := d.Obj["metadata"].(map[string]any)
	return fmt.Sprintf("%s#%d %v/%v", d.File, d.Index, d.Obj["kind"], md["name"])
}

// readDocuments splits a multi-document YAML file into objects, skipping empty documents.
func readDocuments(root, rel string) ([]document, error) {
	raw, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var docs []document
	for i := 0; ; i++ {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, fmt.Errorf("%s document %d: %w", rel, i, err)
		}
		if len(obj) == 0 {
			i--
			continue
		}
		docs = append(docs, document{File: rel, Index: i, Obj: obj})
	}
}

// istioNetworkingDocuments returns the VirtualService, DestinationRule and Gateway documents of
// every YAML file under dir (relative to root), in file order.
func istioNetworkingDocuments(root, dir string) ([]document, error) {
	var files []string
	err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			rel, _ := filepath.Rel(root, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []document
	for _, f := range files {
		docs, err := readDocuments(root, f)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			apiVersion, _ := d.Obj["apiVersion"].(string)
			kind, _ := d.Obj["kind"].(string)
			if strings.HasPrefix(apiVersion, "networking.istio.io/") && istioKinds[kind] {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// asMizzen turns an Istio document into a Mizzen object in namespace ns: only apiVersion and
// namespace change.
func asMizzen(obj map[string]any, ns string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: deepCopyJSON(obj)}
	u.SetAPIVersion(mizzenAPIVersion)
	u.SetNamespace(ns)
	return u
}

// deepCopyJSON copies a JSON-like value through encoding/json, which also normalises numbers to
// float64 so that values read from YAML and from the API server compare equal.
func deepCopyJSON(in map[string]any) map[string]any {
	raw, err := json.Marshal(in)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}

// parseSpec reads a YAML snippet into a spec map.
func parseSpec(specYAML string) map[string]any {
	var spec map[string]any
	if err := yaml.Unmarshal([]byte(specYAML), &spec); err != nil {
		panic(fmt.Sprintf("bad spec in test table: %v\n%s", err, specYAML))
	}
	return spec
}

// newObject builds a Mizzen object of kind with the given spec.
func newObject(kind, ns, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(mizzenAPIVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}
