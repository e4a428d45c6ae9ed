#!/usr/bin/env bash
# Fails when `make manifests generate` changes anything under the generated paths: the committed
# (or, locally, the edited) CRDs, RBAC, webhook configuration, deepcopy code and API reference
# (docs/api-reference.md) must be current.
# It compares the tree before and after generating, so uncommitted hand edits elsewhere are fine.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(api config docs/api-reference.md)
state() { { git status --porcelain -- "${paths[@]}"; git diff -- "${paths[@]}"; git ls-files --others --exclude-standard -z -- "${paths[@]}" | xargs -0r sha256sum; } | sha256sum; }
before=$(state)
make --no-print-directory manifests generate >/dev/null
after=$(state)
if [[ $before != "$after" ]]; then
	echo "Generated files are stale: 'make manifests generate' changed them. Commit the result:" >&2
	git status --short -- "${paths[@]}" >&2
	exit 1
fi
echo "generated files are current"
