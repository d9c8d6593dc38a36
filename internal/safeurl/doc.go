// Package safeurl writes a URL for a log line or an error message without
// the secrets a user may have put in it: the password of its user info and
// the values of its query. It owns nothing else, and never returns the
// input unparsed when it cannot parse it.
package safeurl
