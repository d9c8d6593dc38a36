package examples

import _ "embed"

// Local is examples/local.yaml, the embedded default configuration.
//
//go:embed local.yaml
var Local []byte
