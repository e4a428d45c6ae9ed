# Mizzen — Istio-compatible mesh configuration as a Kubernetes operator.
# Targets follow kubebuilder's names. Every tool and control-plane binary is built from the Go
# module proxy by hack/assets.sh into a cache outside the checkout (first run: minutes; then instant).

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

IMG ?= ghcr.io/mizzen-mesh/mizzen:latest
GINKGO_FLAGS ?=

TOOLS_DIR = $(shell hack/assets.sh tools | tail -n1)
CONTROLLER_GEN = $(TOOLS_DIR)/controller-gen
KUSTOMIZE = $(TOOLS_DIR)/kustomize

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate CRDs, RBAC and webhook configurations from the kubebuilder markers.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd:allowDangerousTypes=true webhook paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: api-docs ## Generate DeepCopy methods and the API reference.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: api-docs
api-docs: ## Write docs/api-reference.md from the Go types of api/v1alpha1.
	go run ./hack/apidocs

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: verify-generated
verify-generated: ## Fail when the generated CRDs, RBAC, deepcopy code or API reference are stale.
	hack/verify-generated.sh

.PHONY: assets
assets: ## Build (or find cached) kube-apiserver, etcd, kubectl, controllers, kwok, cert-manager.
	hack/assets.sh

.PHONY: test
test: verify-generated vet ## Run every test against a real control plane (builds it on first use).
	KUBEBUILDER_ASSETS="$$(hack/assets.sh | tail -n1)" go test ./... -count=1 -timeout 45m $(GINKGO_FLAGS)

##@ Build

.PHONY: build
build: ## Build the manager binary.
	go build -o bin/manager .

.PHONY: run
run: manifests generate ## Run the manager against the cluster in $KUBECONFIG.
	ENABLE_WEBHOOKS=$${ENABLE_WEBHOOKS:-false} go run . 

.PHONY: docker-build
docker-build: ## Build the image (needs a Docker engine; there is none on the dev machines).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster in $KUBECONFIG.
	"$(KUSTOMIZE)" build config/crd | kubectl apply --server-side -f -

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs from the cluster in $KUBECONFIG.
	"$(KUSTOMIZE)" build config/crd | kubectl delete --ignore-not-found -f -

.PHONY: demo
demo: ## Start a local control plane, install Mizzen, run the manager and apply the samples.
	go run ./hack/demo

##@ Packaging

# The OLM bundle: hack/bundle's defaults (version 0.1.0, image ghcr.io/mizzen-mesh/mizzen:v0.1.0,
# channel alpha) are what the committed bundle/ holds and test/packaging checks; set these to cut
# another one, e.g. `make bundle VERSION=0.2.0 BUNDLE_OPERATOR_IMG=ghcr.io/mizzen-mesh/mizzen:v0.2.0`.
VERSION ?=
BUNDLE_OPERATOR_IMG ?=
CHANNELS ?=
DEFAULT_CHANNEL ?=
BUNDLE_IMG ?= ghcr.io/mizzen-mesh/mizzen-bundle:v$(or $(VERSION),0.1.0)
# What deploy/undeploy apply: config/default or an overlay such as overlays/acme.
DEPLOY_CONFIG ?= default
KUBECTL ?= kubectl

# kustomize-build DIR: `kustomize build config/DIR` with the manager image set to $(IMG). It builds
# from a copy of config/, so the committed kustomizations are never edited.
define kustomize-build
tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; cp -r config "$$tmp/"; \
(cd "$$tmp/config/manager" && "$(KUSTOMIZE)" edit set image controller=$(IMG)); \
"$(KUSTOMIZE)" build "$$tmp/config/$(1)"
endef

.PHONY: build-installer
build-installer: manifests ## Write dist/install.yaml: the whole operator (config/default) with image $(IMG).
	mkdir -p dist
	$(call kustomize-build,default) > dist/install.yaml
	@echo "wrote dist/install.yaml (image $(IMG))"

.PHONY: deploy
deploy: manifests ## Install the operator (config/$(DEPLOY_CONFIG), image $(IMG)) into the cluster in $KUBECONFIG; needs cert-manager.
	$(call kustomize-build,$(DEPLOY_CONFIG)) | "$(KUBECTL)" apply --server-side --force-conflicts -f -

.PHONY: undeploy
undeploy: ## Remove what deploy installed (ignore-not-found=true to ignore missing objects).
	$(call kustomize-build,$(DEPLOY_CONFIG)) | "$(KUBECTL)" delete --ignore-not-found=$(or $(ignore-not-found),false) -f -

.PHONY: bundle
bundle: manifests ## Generate the OLM bundle (bundle/, bundle.Dockerfile) from config/ with hack/bundle.
	go run ./hack/bundle $(if $(VERSION),--version=$(VERSION)) $(if $(BUNDLE_OPERATOR_IMG),--image=$(BUNDLE_OPERATOR_IMG)) \
		$(if $(CHANNELS),--channels=$(CHANNELS)) $(if $(DEFAULT_CHANNEL),--default-channel=$(DEFAULT_CHANNEL))

.PHONY: bundle-build
bundle-build: ## Build the bundle image $(BUNDLE_IMG) (needs a Docker engine).
	docker build -f bundle.Dockerfile -t $(BUNDLE_IMG) .
