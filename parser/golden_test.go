package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sidetrail/sidetrail"
)

// goldenInputs are the log files under testdata and the config each is
// parsed with. testdata/nginx/*.log were written by a real nginx 1.22 in
// TestRealNginx (go test -run TestRealNginx -update ./parser rewrites
// them); the others are written by hand.
var goldenInputs = map[string]Config{
	"nginx/combined.log":      {Format: FormatNginx, LogFormat: "combined"},
	"nginx/main.log":          {Format: FormatNginx, LogFormat: "main"},
	"nginx/custom.log":        {Format: FormatNginx, LogFormat: liveCustom},
	"nginx/json.log":          {Format: FormatNginx, LogFormat: liveJSON},
	"nginx/error.log":         {Format: FormatNginxError},
	"nginx_error/samples.log": {Format: FormatNginxError},
	"json/app.log":            {Format: FormatJSON},
	"nginx/escape_none.log":   {Format: FormatNginx, LogFormat: `escape=none '$remote_addr "$request" $status "$http_user_agent"'`},
}

// TestGolden parses every golden input line by line and compares the
// record JSON (without the message, which is the line itself) with
// testdata/<input>.golden; -update rewrites the golden files. A line that
// fails to parse is written as the record the caller ships: flagged
// parse_failure, no fields.
func TestGolden(t *testing.T) {
	for in, cfg := range goldenInputs {
		t.Run(in, func(t *testing.T) {
			path := filepath.Join("testdata", filepath.FromSlash(in))
			p := mustNew(t, cfg)
			var enc sidetrail.JSONEncoder
			var out []byte
			for _, line := range readLines(t, path) {
				rec := &sidetrail.Record{Source: "golden"}
				if err := p.Parse(line, rec); err != nil {
					rec.Fields = rec.Fields[:0]
					rec.Flags |= sidetrail.FlagParseFailure
				}
				checkValidJSON(t, rec)
				out = enc.Append(out, rec)
				out = append(out, '\n')
			}
			golden := path + ".golden"
			if *update {
				writeFile(t, golden, out)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(out, want) {
				gl, wl := bytes.Split(out, []byte("\n")), bytes.Split(want, []byte("\n"))
				for i := range max(len(gl), len(wl)) {
					var g, w []byte
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if !bytes.Equal(g, w) {
						t.Errorf("%s line %d:\n got %s\nwant %s", golden, i+1, g, w)
					}
				}
			}
		})
	}
}
