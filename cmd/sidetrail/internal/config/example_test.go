package config_test

import (
	"fmt"

	"github.com/sidetrail/sidetrail/cmd/sidetrail/internal/config"
)

func ExampleParse() {
	yml := `sources:
  - name: nginx
    paths: ["/var/log/nginx/access.log*"]
    format: nginx
sinks:
  - name: debug
    type: stdout
server:
  listen: ${LISTEN:-:9110}
`
	cfg, err := config.Parse("sidetrail.yaml", []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		fmt.Println(err)
		return
	}
	s := cfg.Sources[0]
	fmt.Println(s.Name, s.Format, s.LogFormat, s.MaxLineBytes, s.ScanInterval)
	fmt.Println(cfg.Buffer.MaxBytes, cfg.Sinks[0].Batch.MaxWait, cfg.Server.Listen)
	// Output:
	// nginx nginx combined 1MiB 250ms
	// 1GiB 200ms :9110
}

// Every problem is reported, each with its file and line, sorted by line.
func ExampleErrors() {
	yml := `sources:
  - name: nginx
    pathz: ["/var/log/nginx/access.log*"]
buffer:
  max_bytes: lots
sinks:
  - name: es
    type: elasticsearch
    urls: ["http://es:9200"]
    password: ${ES_PASSWORD}
`
	_, err := config.Parse("sidetrail.yaml", []byte(yml), func(string) (string, bool) { return "", false })
	fmt.Println(err)
	// Output:
	// sidetrail.yaml:2: source "nginx": paths: want at least one glob pattern
	// sidetrail.yaml:3: unknown key "pathz" in source "nginx"; did you mean "paths"?
	// sidetrail.yaml:5: buffer.max_bytes: invalid size "lots": want a number with an optional unit, written exactly so: B, K or KiB, M or MiB, G or GiB, TiB (powers of 1024), KB, MB, GB, TB (powers of 1000)
	// sidetrail.yaml:10: sinks[0].password: environment variable ES_PASSWORD is not set (write ${ES_PASSWORD:-default} to give a default)
}
