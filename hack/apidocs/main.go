// Command apidocs writes docs/api-reference.md from the Go types of api/v1alpha1: each kind,
// every type its spec and status reach, each field's JSON name, type, required or optional, doc
// comment and validation markers (see package gen). `make api-docs` and `make generate` run it, so
// hack/verify-generated.sh fails while the committed page is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mizzen-mesh/mizzen/hack/apidocs/gen"
)

// intro is Mizzen's note on reading the page, placed after the package doc.
const intro = `Each field lists its JSON name, its type (linked to the type's section), whether it is required,
its doc comment, and the validation the API server applies from the CRD schema: enums, bounds,
uniqueness, and the CEL rules by the message they report. Checks that need code (regular
expressions, host names, references between resources) run in the validating webhook and are
reported in status; [VALIDATION.md](../api/v1alpha1/VALIDATION.md) lists every rule and where it runs.`

func main() {
	dir := flag.String("dir", "api/v1alpha1", "API package directory to read.")
	out := flag.String("out", "docs/api-reference.md", "Markdown file to write.")
	kinds := flag.String("kinds", "VirtualService,DestinationRule,Gateway", "Comma-separated kinds to put first, in this order.")
	flag.Parse()
	if err := run(*dir, *out, strings.Split(*kinds, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "apidocs:", err)
		os.Exit(1)
	}
}

func run(dir, out string, kinds []string) error {
	p, err := gen.Load(dir, kinds)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	page := gen.Render(p, gen.Options{Source: filepath.ToSlash(dir), Command: "go run ./hack/apidocs", Intro: intro})
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, append(page, '\n'), 0o644)
}
