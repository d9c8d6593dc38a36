// Package tlsconfig is the `tls:` section every HTTP sink shares (CA bundle,
// client certificate, verification switch) and its conversion to a
// crypto/tls configuration.
//
// It owns reading those files, again when they change, and the HTTP
// transports made with what they hold (Transport); it never logs (the sinks
// warn about insecure_skip_verify themselves).
package tlsconfig
