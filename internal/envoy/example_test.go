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
	for _, cm := range files.ConfigMaps() {
		fmt.Println("ConfigMap", cm.Name, envoy.HashAnnotation+"="+cm.Hash)
		for _, name := range envoy.FileNames() {
			if content, ok := cm.Data[name]; ok {
				fmt.Println(" ", name, len(content))
			}
		}
	}
	fmt.Println("Pod", envoy.HashAnnotation+"="+files.Hash)
	fmt.Print(files.Data[envoy.RootCASDSFile])
	// Output:
	// ConfigMap mizzen-proxy-p-7f3k2-clusters mizzen.dev/config-hash=5512c16eec9a699e
	//   cds.yaml 95
	// ConfigMap mizzen-proxy-p-7f3k2 mizzen.dev/config-hash=22df3295b2ba282a
	//   envoy.yaml 869
	//   lds.yaml 97
	//   sds-default.yaml 415
	//   sds-rootca.yaml 350
	// Pod mizzen.dev/config-hash=fcc31df4712721bb
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
