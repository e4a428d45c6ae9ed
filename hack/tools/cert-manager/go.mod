// Tools module: the cert-manager controller, built from cert-manager's packages for the local
// test cluster (cert-manager's own controller main module is not on the module proxy).
module github.com/mizzen-mesh/mizzen/hack/tools/cert-manager

go 1.26.0

require github.com/cert-manager/cert-manager v1.21.2
