package safeurl

import "net/url"

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
	if _, hasPassword := u.User.Password(); !hasPassword && u.RawQuery == "" {
		return raw // nothing to hide: as written
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
	return u.Redacted()
}

// Strings is String for each of raws.
func Strings(raws []string) []string {
	out := make([]string, len(raws))
	for i, r := range raws {
		out[i] = String(r)
	}
	return out
}
