package recordjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sidetrail/sidetrail"
)

// FieldLeaves encodes rec with sidetrail.JSONEncoder and returns the
// leaves of its fields: path (keys joined with '.', array elements as
// "[i]") → the value as Go prints it (numbers as written). The record's
// own keys (@timestamp, message, log.file.path, log.offset, log.flags,
// source) are left out. An object holding a key twice is an error.
func FieldLeaves(rec *sidetrail.Record) (map[string]string, error) {
	var enc sidetrail.JSONEncoder
	out := enc.Append(nil, rec)
	leaves := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := walk(dec, "", leaves); err != nil {
		return nil, fmt.Errorf("%v in %s", err, out)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("text after the record in %s", out)
	}
	for k := range leaves {
		switch {
		case k == "@timestamp", k == "message", k == "log.file.path", k == "log.offset", k == "source",
			strings.HasPrefix(k, "log.flags["):
			delete(leaves, k)
		}
	}
	return leaves, nil
}

// walk reads one value from dec into leaves under path.
func walk(dec *json.Decoder, path string, leaves map[string]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		if _, dup := leaves[path]; dup {
			return fmt.Errorf("leaf %q twice", path)
		}
		leaves[path] = fmt.Sprint(tok)
		return nil
	}
	seen := map[string]bool{}
	for i := 0; dec.More(); i++ {
		sub := path + "[" + strconv.Itoa(i) + "]"
		if d == '{' {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			k := tok.(string)
			if seen[k] {
				return fmt.Errorf("object %q has the key %q twice", path, k)
			}
			seen[k] = true
			sub = k
			if path != "" {
				sub = path + "." + k
			}
		}
		if err := walk(dec, sub, leaves); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}
