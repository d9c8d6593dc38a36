// Package kubernetes holds the tests of the Kubernetes example
// (manifests_test.go): every manifest decoded strictly into the Kubernetes
// API types, the ConfigMap's sidetrail.yaml validated, its nginx.conf
// checked with real nginx.
//
// It holds no code that runs outside its tests, and must never hold an
// untested manifest.
package kubernetes
