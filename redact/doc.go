// Package redact removes secrets from records before anything touches disk
// or a backend: built-in detectors (credit cards, e-mail addresses, IPv4 and
// IPv6 addresses, JWTs, bearer tokens and Authorization values, AWS access
// key IDs, secret query parameters), user regular expressions, and whole
// named fields. Each rule masks, hashes (keyed HMAC-SHA256, so equal values
// give equal tokens), drops or, for addresses, truncates what it matches.
//
// It owns the rules and their application to a sidetrail.Record: the
// message (the raw line) and every parsed field, always both, so a secret
// never survives in one form while removed from the other. A field rule's
// value is also found in the message (literally, nginx-escaped or
// JSON-escaped); when it cannot be found the message is withheld.
//
// It must never do I/O after New (which reads hash keys), never fail or
// panic at run time (configuration errors are New's), never let a value a
// rule matches through, and never allocate on a record without candidates.
// It starts no goroutines and holds no package-level mutable state.
//
// Replacement tokens: "[REDACTED]" (field rules, query_secrets and
// bearer_token, which keep the parameter or scheme name; pattern rules
// unless replace says otherwise), "[REDACTED:<builtin>]" for the other
// builtins ("[REDACTED:credit_card]"), "[HASH:<16 hex>]" for action hash.
// Truncated addresses keep their network with the rest zeroed
// ("192.0.2.0", "2001:db8:1::").
package redact
