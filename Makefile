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
generate: ## Generate DeepCopy methods.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: verify-generated
verify-generated: ## Fail when the generated CRDs, RBAC or deepcopy code are stale.
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
