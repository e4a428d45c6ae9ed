#!/usr/bin/env bash
# Builds the real control-plane binaries the tests run (kube-apiserver, etcd, kubectl,
# kube-controller-manager, kube-scheduler, kwok, cert-manager-controller) and the dev tools
# (controller-gen, kustomize) from the Go module proxy. Nothing is downloaded from anywhere else.
#
# Each component is built from its own tools module under hack/tools/<name>, whose go.mod is the one
# place its version is pinned. Binaries land in a cache outside the checkout, keyed by version, so a
# fresh clone on the same machine reuses them. The last line printed is the directory holding them.
#
#   hack/assets.sh            build what is missing, print the assets directory
#   hack/assets.sh tools      the same for controller-gen and kustomize only
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools=$here/tools
cache=${MIZZEN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mizzen}

# version MODULE_DIR MODULE: the version the tools module pins.
version() { (cd "$tools/$1" && go list -m -f '{{.Version}}' "$2"); }

# key MODULE_DIR: a short hash of the tools module's own files, so an edit to its main or its
# go.mod/go.sum builds afresh instead of reusing a binary cached under the same version.
key() { (cd "$tools/$1" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-10); }

say() { printf '[assets] %s\n' "$*" >&2; }

# build NAME DIR LDFLAGS PKG...: go build the packages into DIR unless DIR/.complete exists.
build() {
	local name=$1 dir=$2 ldflags=$3; shift 3
	if [[ -f $dir/.complete ]]; then return 0; fi
	say "building $name into $dir (first time only; this takes minutes)"
	local start=$SECONDS tmp
	mkdir -p "$(dirname "$dir")"
	tmp=$(mktemp -d "$dir.tmp.XXXXXX")
	(cd "$tools/$name" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/" "$@")
	touch "$tmp/.complete"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	say "built $name in $((SECONDS - start))s"
}

build_tools() {
	local dir=$cache/dev-controller-gen-$(version dev sigs.k8s.io/controller-tools)-kustomize-$(version dev sigs.k8s.io/kustomize/kustomize/v5)-$(key dev)
	build dev "$dir" "" sigs.k8s.io/controller-tools/cmd/controller-gen sigs.k8s.io/kustomize/kustomize/v5
	echo "$dir"
}

build_control_plane() {
	local kube etcd kwok cm
	kube=$(version kubernetes k8s.io/kubernetes)-$(key kubernetes)
	etcd=$(version etcd go.etcd.io/etcd/server/v3)-$(key etcd)
	kwok=$(version kwok sigs.k8s.io/kwok)-$(key kwok)
	cm=$(version cert-manager github.com/cert-manager/cert-manager)-$(key cert-manager)

	local kube_version=${kube%-*}
	local minor=${kube_version#v1.}; minor=${minor%%.*}
	local kube_ldflags="" pkg
	# Without these the binaries report v0.0.0 and clients refuse version-gated features.
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
	done
	build kubernetes "$cache/kubernetes-$kube" "$kube_ldflags" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl \
		k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
	build etcd "$cache/etcd-$etcd" "" .
	build kwok "$cache/kwok-$kwok" "" sigs.k8s.io/kwok/cmd/kwok
	build cert-manager "$cache/cert-manager-$cm" "" ./cert-manager-controller

	# One directory holding all of them, as envtest's KUBEBUILDER_ASSETS expects.
	local assets=$cache/assets/kube-$kube-etcd-$etcd-kwok-$kwok-cm-$cm
	mkdir -p "$assets"
	ln -sf "$cache/kubernetes-$kube/"{kube-apiserver,kubectl,kube-controller-manager,kube-scheduler} "$assets/"
	ln -sf "$cache/etcd-$etcd/etcd" "$assets/etcd"
	ln -sf "$cache/kwok-$kwok/kwok" "$assets/kwok"
	ln -sf "$cache/cert-manager-$cm/cert-manager-controller" "$assets/cert-manager-controller"
	echo "$assets"
}

case ${1:-all} in
	tools) build_tools ;;
	all) build_control_plane ;;
	*) echo "usage: $0 [all|tools]" >&2; exit 2 ;;
esac
