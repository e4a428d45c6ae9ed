// Command bundle writes Mizzen's OLM bundle — bundle/manifests, bundle/metadata,
// bundle/tests/scorecard — and bundle.Dockerfile from the kustomize tree under config/. It stands in
// for operator-sdk's `generate kustomize manifests | generate bundle`, which cannot be installed on
// the project's machines. `make bundle` runs it; see package gen for what it does.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/mizzen-mesh/mizzen/hack/bundle/gen"
)

func main() {
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	o := gen.Defaults(root)
	out := flag.String("output", ".", "Directory to write bundle/ and bundle.Dockerfile into.")
	flag.StringVar(&o.Root, "root", o.Root, "Repository root holding config/.")
	flag.StringVar(&o.Version, "version", o.Version, "Operator version (semver, no leading v).")
	flag.StringVar(&o.Image, "image", o.Image, "Manager image the bundle's deployment runs.")
	flag.StringVar(&o.Package, "package", o.Package, "OLM package name.")
	channels := flag.String("channels", strings.Join(o.Channels, ","), "Comma-separated channels.")
	flag.StringVar(&o.DefaultChannel, "default-channel", o.DefaultChannel, "Default channel.")
	flag.Parse()
	o.Channels = strings.Split(*channels, ",")

	files, err := gen.Generate(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		os.Exit(1)
	}
	if err := files.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		os.Exit(1)
	}
	for _, p := range files.Paths() {
		fmt.Println(p)
	}
}
