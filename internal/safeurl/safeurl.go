package safeurl

import (
	"net/url"
	"regexp"
	"strings"
)

// mask replaces a secret's characters.
const mask = "xxxxx"

// String returns raw with the password of its user info and every query
// value replaced by "xxxxx" ("http://u:p@h/?api_key=k" gives
// "http://u:xxxxx@h/?api_key=xxxxx"). A string that does not parse as a
// URL is replaced whole: it may be a secret pasted in the wrong place.
func String(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	// "user:password", the scheme and host forgotten: Go reads the user as
	// the scheme and the rest as opaque. What is not a port is masked.
	// With an '@' ("user:password@host:9200"), userInfoLike below masks it.
	opaque := u.Opaque != "" && strings.Trim(u.Opaque, "0123456789") != "" && !strings.Contains(u.Opaque, "@")
	if opaque {
		u.Opaque = mask
	}
	_, hasPassword := u.User.Password()
	if !hasPassword && u.RawQuery == "" && !opaque {
		// As written, but for a user info Go does not read as one: the
		// scheme forgotten ("elastic:pw@host", ops15 F1) or its "//"
		// mistyped ("http//u:pw@h", "http:/u:pw@h", regress15 F7).
		return userInfoLike.ReplaceAllString(raw, "${1}:"+mask+"@")
	}
	if q := u.Query(); len(q) > 0 {
		for k, vs := range q {
			for i := range vs {
				vs[i] = mask
			}
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	if !hasPassword {
		return userInfoLike.ReplaceAllString(u.Redacted(), "${1}:"+mask+"@")
	}
	return u.Redacted()
}

// userInfoLike is "name:secret@" anywhere: a password, wherever the URL's
// parse put it.
var userInfoLike = regexp.MustCompile(`([^:/@?#\s]+):([^@/?#\s]*)@`)

// Strings is String for each of raws.
func Strings(raws []string) []string {
	out := make([]string, len(raws))
	for i, r := range raws {
		out[i] = String(r)
	}
	return out
}
