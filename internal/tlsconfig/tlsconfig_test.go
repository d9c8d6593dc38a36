package tlsconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
	if cfg, err := (Config{}).Build(); cfg != nil || err != nil {
		t.Fatalf("zero config: %v %v", cfg, err)
	}
	if cfg, err := (Config{InsecureSkipVerify: true}).Build(); err != nil || !cfg.InsecureSkipVerify || cfg.MinVersion == 0 {
		t.Fatalf("insecure: %+v %v", cfg, err)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{CAFile: filepath.Join(dir, "missing.pem")}, "tls.ca_file: open"},
		{Config{CAFile: notPEM}, "holds no PEM certificate"},
		{Config{CertFile: notPEM}, "set both or neither"},
		{Config{CertFile: notPEM, KeyFile: notPEM}, "tls.cert_file, tls.key_file:"},
	} {
		if _, err := c.cfg.Build(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
}
