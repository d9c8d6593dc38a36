package sinkhttp

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ReadSecret reads a password, token or key file, dropping trailing line
// breaks. An empty file (a Kubernetes Secret caught half-way through its
// rotation) and one with a line break or another control character before
// its end (which no header can carry: every request would fail in net/http) are errors that
// name the file, never its content.
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	switch {
	case s == "":
		return "", fmt.Errorf("%s is empty", path)
	case HasControl(s):
		return "", fmt.Errorf("%s holds a line break or another control character before its end", path)
	}
	return s, nil
}

// HasControl reports whether s holds a byte no HTTP header value may hold:
// a control character other than a tab (net/http refuses the request).
func HasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// CheckCredentials returns a message for each credential written inline
// in the configuration (key: value, in order) that no request can carry:
// one with a line break or another control character, as a ${VAR} read
// from a Secret made from a file that ends in one gives. The api_key and
// bearer_token passed validate and every request then failed in net/http,
// retried for good; a password so was sent, and refused for good (docs17
// F1). The message never holds the value.
func CheckCredentials(kv ...string) []string {
	var out []string
	for i := 0; i+1 < len(kv); i += 2 {
		if HasControl(kv[i+1]) {
			out = append(out, fmt.Sprintf("%s: holds a line break or another control character (a ${VAR} read from a file that ends in a line break? use the *_file key, which drops it)", kv[i]))
		}
	}
	return out
}

// CheckPort returns an error when u's port is not a number from 1 to
// 65535: url.Parse takes any digits (":99999"), and every request then
// failed to dial, retried for good (docs17 F3). An empty port ("host:")
// is the scheme's (RFC 3986).
func CheckPort(u *url.URL) error {
	p := u.Port()
	if p == "" {
		return nil
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port must be a number from 1 to 65535, not %q", p)
	}
	return nil
}

// CheckHeaders returns, sorted by name, a message for each configured
// header the sink cannot send as written: a name that is no HTTP token, a
// value with a control character (net/http refuses the request, for good), a header the sink sets itself (reserved, and Authorization when
// credentials are configured), which would be replaced silently, and
// Accept-Encoding, which the HTTP client sets itself.
func CheckHeaders(headers map[string]string, reserved []string, credentials bool) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		canon := http.CanonicalHeaderKey(k)
		switch {
		case !validName(k):
			out = append(out, fmt.Sprintf("headers: %q is not a valid header name", k))
		case slices.Contains(reserved, canon):
			out = append(out, fmt.Sprintf("headers: %q is set by the sink itself", k))
		case credentials && canon == "Authorization":
			out = append(out, fmt.Sprintf("headers: %q is set by the sink itself from the credentials configured", k))
		case canon == "Accept-Encoding":
			// Set, it turns off the client's own gzip handling: a
			// compressed answer was unreadable, the batch retried
			// without end (user23 P7).
			out = append(out, fmt.Sprintf("headers: %q is set by the sink's HTTP client itself (it asks for gzip and decompresses the answer)", k))
		}
		if HasControl(headers[k]) {
			out = append(out, fmt.Sprintf("headers: %q has a control character in its value", k))
		}
	}
	return out
}

// validName reports whether s is an HTTP header name (a token).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
