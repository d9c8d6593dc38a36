// Package redact removes secrets from records before anything touches disk
// or a backend: built-in detectors, user regular expressions, and whole
// named fields. Each rule masks, hashes (keyed HMAC-SHA256, so equal values
// give equal tokens and an auditor can correlate them), drops or, for
// addresses, truncates what it matches.
//
// It owns the rules and their application to a sidetrail.Record: the
// message (the raw line) and every parsed field, always both, so a secret
// never survives in one form while removed from the other. It must never do
// I/O after New (which reads hash keys), never fail or panic at run time
// (configuration errors are New's), never let a value a rule matches
// through, and never allocate on a record without candidates. It starts no
// goroutines and holds no package-level mutable state.
//
// # Order
//
// Field rules run first: each named field is masked, hashed or dropped, and
// its value is taken out of the original message wherever it appears
// (literally, escaped as nginx writes it, "\xHH", or as JSON escapes it, or
// inside a JSON string that holds it once unescaped) and out of every other
// string field that holds it whole. A value that cannot be found in the
// message (the parser transformed it) withholds the whole message: it is
// replaced by "[message withheld: field NAME could not be redacted in it]"
// and Stats.Withheld counts it. Empty values and nginx's "-" are not looked
// for, and a value shorter than four bytes only where no letter or digit
// touches it. Then the builtin and pattern rules run, in configuration order, over
// the message and each field (strings and numbers inside JSON values too),
// repeating until a pass changes nothing, so that no rule matches what the
// others left (a removal can join two halves into a new match). Member
// names are the line's text as well: those inside JSON values, and the
// field keys of a record marked KeysFromLine (the JSON parser's), get the
// rules too; a masked name is made unique in the record with a "#n "
// prefix (one key twice in an object is an invalid document). Last, a field
// the rules changed while its text in the message gave them nothing to
// match (masked for its name, such as "http_authorization"; an array under
// a secret member name; a member name the line escapes; a pattern anchored
// to the field's ends) has its old value replaced in the message by its
// new one, written with the same escaping, wherever it still appears
// whole.
//
// # Builtins
//
//   - credit_card: 13-19 digits, alone or in groups joined by one space,
//     dash, '+' or "%20", first digit 2-6 (Visa, Mastercard, Amex, Diners, JCB, Discover,
//     UnionPay, Maestro; epoch timestamps start with 1), Luhn-valid, not
//     glued to a letter or digit.
//   - email: local@domain with a letter-only top-level label, also with "@"
//     percent-encoded ("%40"); the local part starts after an escape before
//     it ("\x22", "\u003c"), not inside it.
//   - ipv4: dotted quads with octets 0-255, not part of a longer dotted
//     number (versions such as 1.2.3.4.5) nor glued to a letter or digit.
//   - ipv6: RFC 4291 text forms, with embedded IPv4; times and MAC addresses
//     are not addresses.
//   - jwt: "eyJ" header and two or more dot-separated base64url segments.
//   - bearer_token: the credentials after "Bearer" (any case; after a space,
//     tab, '+' or "%20") and of Authorization values ("Authorization: Basic
//     xxx", "authorization=xxx", "\"authorization\":\"xxx\"", or a field
//     whose name contains "authorization"); the scheme is kept.
//   - aws_access_key: AKIA or ASIA and 16 upper-case letters or digits.
//   - query_secrets: the value of a secret parameter, name=VALUE in query
//     strings and form bodies (also percent-encoded inside another
//     parameter: "%3Ftoken%3Dabc"), "name":VALUE members in JSON text
//     (white space around the colon allowed; also with nginx's \x22
//     quotes), and
//     the whole value of a field named like one. A name is secret when it is
//     one of password passwd pwd pass passphrase token access_token
//     refresh_token id_token api_key apikey key secret client_secret auth
//     authorization signature sig credentials (or Params), ignoring case, or
//     ends in one after '_', '-', '.' or '[' ("db_password",
//     "X-Amz-Security-Token", "user[password]", the brackets also
//     percent-encoded: "user%5Bpassword%5D", "%255B"). A value ends at
//     & ; white space " < >, or at a ' that no value byte follows.
//
// # Speed
//
// Most values hold no candidate for any rule. Each rule has a cheap,
// monotone pre-filter (maybe: a substring of a value that cannot match
// cannot either), and on amd64 with AVX2 one vector pass over the message
// (summary.go) first tells which built-in detectors' pre-filters could say
// yes at all, so the others do not scan it. Fields cut from the message are
// asked only the rules its pre-filters let through. Tests compare every
// shortcut with the plain computation (prefilter_test.go, summary_test.go).
//
// # Tokens
//
// "[REDACTED]" (field rules; query_secrets and bearer_token, which keep the
// name or scheme; pattern rules unless replace says otherwise),
// "[REDACTED:<builtin>]" for the other builtins ("[REDACTED:credit_card]"),
// "[HASH:<16 hex>]" for action hash (the first 16 hex digits of
// HMAC-SHA256(key, value)). Truncated addresses keep their network with the
// rest zeroed ("192.0.2.0", "2001:db8:1::"). A match that is exactly a
// token is left alone, so redacting twice changes nothing.
package redact
