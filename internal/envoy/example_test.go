package envoy_test

import (
	"fmt"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
)

func ExampleRender() {
	files, err := envoy.Render(envoy.Node{ID: "p-7f3k2", Namespace: "default"}, nil, nil)
	if err != nil {
		panic(err) // the reconciler reports it in status and writes nothing
	}
	fmt.Println(envoy.ConfigMapName("p-7f3k2"), envoy.HashAnnotation+"="+files.Hash)
	for _, name := range envoy.FileNames() {
		fmt.Println(name, len(files.Data[name]))
	}
	fmt.Print(files.Data[envoy.RootCASDSFile])
	// Output:
	// mizzen-proxy-p-7f3k2 mizzen.dev/config-hash=aaac5d8a6692ac76
	// cds.yaml 95
	// envoy.yaml 869
	// lds.yaml 97
	// sds-default.yaml 415
	// sds-rootca.yaml 350
	// resources:
	// - "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret
	//   name: ROOTCA
	//   validation_context:
	//     trusted_ca:
	//       filename: /etc/mizzen/certs/ca.crt
	//     watched_directory:
	//       path: /etc/mizzen/certs
	// type_url: type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret
	// version_info: "c68383b7225807c3"
}
