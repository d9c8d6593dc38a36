package redact

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Rule is one redaction rule as configured. Exactly one of Builtin, Pattern
// and Field says what it matches. The zero values of the other fields are
// the defaults; New validates the combination and reports the first problem
// naming the rule.
type Rule struct {
	// Name identifies the rule in Stats and errors. Default: the builtin's
	// name, else "rule N" (N counted from 1 in the list given to New). Names
	// must be unique.
	Name string `yaml:"name"`
	// Builtin is a built-in detector: credit_card, email, ipv4, ipv6, jwt,
	// bearer_token, aws_access_key or query_secrets.
	Builtin string `yaml:"builtin"`
	// Pattern is a Go (RE2) regular expression.
	Pattern string `yaml:"pattern"`
	// Replace is, for a Pattern rule with action mask, the replacement in
	// regexp.Expand syntax ("$1=[REDACTED]"). Default "[REDACTED]".
	Replace string `yaml:"replace"`
	// Field names one parsed field whose whole value is the secret. Its value
	// is also taken out of the message.
	Field string `yaml:"field"`
	// Fields restricts a Builtin or Pattern rule to these parsed fields. The
	// message is always included. Default: every field.
	Fields []string `yaml:"fields"`
	// Action is mask (default), hash (keyed HMAC-SHA256 token), drop (a Field
	// rule removes the field; other rules remove the match) or truncate
	// (ipv4/ipv6 only: keep the /24 or /48 network).
	Action string `yaml:"action"`
	// KeyEnv or KeyFile give the HMAC key for action hash; exactly one is
	// required with hash and neither is allowed without it. KeyFile's
	// trailing newline is trimmed.
	KeyEnv  string `yaml:"key_env"`
	KeyFile string `yaml:"key_file"`
	// Params adds parameter names to the query_secrets builtin.
	Params []string `yaml:"params"`
}

// Options are the Redactor's dependencies. The zero value is ready.
type Options struct {
	// Logger receives construction notes and the first withheld message per
	// field rule. nil discards.
	Logger *slog.Logger
	// LookupEnv reads KeyEnv. nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads KeyFile. nil means os.ReadFile. It is only called by New.
	ReadFile func(string) ([]byte, error)
}

// Builtin detector names.
const (
	BuiltinCreditCard   = "credit_card"
	BuiltinEmail        = "email"
	BuiltinIPv4         = "ipv4"
	BuiltinIPv6         = "ipv6"
	BuiltinJWT          = "jwt"
	BuiltinBearerToken  = "bearer_token"
	BuiltinAWSAccessKey = "aws_access_key"
	BuiltinQuerySecrets = "query_secrets"
)

// Actions.
const (
	ActionMask     = "mask"
	ActionHash     = "hash"
	ActionDrop     = "drop"
	ActionTruncate = "truncate"
)

var builtinNames = []string{
	BuiltinCreditCard, BuiltinEmail, BuiltinIPv4, BuiltinIPv6, BuiltinJWT,
	BuiltinBearerToken, BuiltinAWSAccessKey, BuiltinQuerySecrets,
}

// Defaults returns the recommended rule set, all with action mask:
// credit_card, email, jwt, bearer_token, aws_access_key, query_secrets. It
// returns a new slice on every call.
func Defaults() []Rule {
	return []Rule{
		{Builtin: BuiltinCreditCard},
		{Builtin: BuiltinEmail},
		{Builtin: BuiltinJWT},
		{Builtin: BuiltinBearerToken},
		{Builtin: BuiltinAWSAccessKey},
		{Builtin: BuiltinQuerySecrets},
	}
}

// Replacement tokens. Every token starts with '[' and ends with ']', bytes
// no detector accepts inside a match, so a token never joins its neighbours
// into a new match, and a match that is exactly a token is left alone.
const (
	maskToken    = "[REDACTED]"
	maskPrefix   = "[REDACTED:"
	hashPrefix   = "[HASH:"
	hashHexChars = 16
)

type action uint8

const (
	actMask action = iota
	actHash
	actDrop
	actTruncate
)

type ruleKind uint8

const (
	kindBuiltin ruleKind = iota
	kindPattern
	kindField
)

// rule is a compiled Rule. It is immutable after New and shared by clones.
type rule struct {
	idx     int // position in Redactor.rules and in counters.rules
	name    string
	kind    ruleKind
	act     action
	builtin string
	fields  []string // nil: every field
	field   string   // kindField
	det     detector // kindBuiltin
	minLen  int      // kindBuiltin: shorter values cannot match
	need    uint32   // kindBuiltin: summary bits maybe needs one of (0: none)
	maskTok string   // replacement for act mask (builtins, fields)
	key     []byte   // act hash

	// kindPattern
	re       *regexp.Regexp
	tmpl     []byte // nil: maskTok
	rebuilds bool   // the replacement is a template or writes quotes: it rebuilds the JSON it matched
	// keepsScheme: a bearer_token rule that drops: what it leaves of a
	// match is the scheme, which the word after it would follow (see
	// applyChain).
	keepsScheme bool
	req         []reqLit // pre-filter: a match contains one of these; nil none
	withheld    string   // kindField: the marker that replaces the message
}

// fieldParts are, for a field rule, the other fields it acts on as fields
// of their own: the parts the parsers split from $request (and from
// $request_uri), which hold the same bytes (a pattern with fields:
// [request] shipped the secret it masked there in request_uri and
// request_query); nginx's $uri and $document_uri, which hold the path
// decoded, so other bytes (parser11: the path hashed in request shipped in
// uri); and the error log's names for the access log's Referer and client
// address.
var fieldParts = map[string][]string{
	"request":      {"request_method", "request_uri", "request_path", "request_query", "request_protocol", "uri", "document_uri"},
	"request_uri":  {"request_path", "request_query", "uri", "document_uri"},
	"request_path": {"uri", "document_uri"},
	"http_referer": {"referrer"},
	"remote_addr":  {"client"},
}

// sameBytes are, for a pattern or builtin naming one of $request, the
// fields split from it and the nginx variables holding its parts ($uri,
// $args, …), the others that hold the same bytes: a match in one is in
// the others too.
var sameBytes = func() map[string][]string {
	family := []string{"request", "request_uri", "request_path", "request_query",
		"uri", "document_uri", "args", "query_string"}
	m := map[string][]string{
		"http_referer": {"referrer"}, // the Referer header: access and error logs
		"referrer":     {"http_referer"},
	}
	for _, name := range family {
		for _, other := range family {
			if other != name {
				m[name] = append(m[name], other)
			}
		}
	}
	m["request"] = append(m["request"], "request_method", "request_protocol")
	return m
}()

// targets reports whether the rule applies to the field named key: named
// in fields, or above or below a name there, as the record JSON nests
// dotted names (fields: [user.id] reaches the JSON value of "user", which
// holds {"id":…}; fields: [user] a flat "user.id").
func (ru *rule) targets(key string) bool {
	if ru.fields == nil {
		return true
	}
	for _, f := range ru.fields {
		if f == key || dottedBelow(f, key) || dottedBelow(key, f) {
			return true
		}
	}
	return false
}

// dottedBelow reports whether name is below up: up + "." + more.
func dottedBelow(name, up string) bool {
	return len(name) > len(up) && name[len(up)] == '.' && name[:len(up)] == up
}

// maybe is the rule's pre-filter for a value. A keyed field (see
// detector.keyed) must be examined whatever it says.
func (ru *rule) maybe(v []byte) bool {
	switch ru.kind {
	case kindBuiltin:
		return len(v) >= ru.minLen && ru.det.maybe(v)
	case kindPattern:
		if ru.req == nil {
			return true
		}
		for _, l := range ru.req {
			if l.fold {
				if indexFoldAt(v, 0, l.s, l.k) >= 0 {
					return true
				}
			} else if indexRare(v, l.s, l.k) >= 0 {
				return true
			}
		}
		return false
	}
	return false
}

func (ru *rule) keyed(key string) bool {
	return ru.kind == kindBuiltin && key != "" && ru.det.keyed(key)
}

// counters are one Redactor's (one clone's) statistics; Stats sums them.
type counters struct {
	rules    []atomic.Uint64
	withheld atomic.Uint64
	redacted atomic.Uint64
	failed   atomic.Uint64
}

// shared is what a Redactor and its clones have in common.
type shared struct {
	rules      []*rule
	fieldRules []*rule
	valueRules []*rule
	allBits    uint64  // a bit per value rule (all of them from 63 on)
	gatedBits  uint64  // value rules with a need: maybeMask computes the summary for them
	keyedBits  uint64  // value rules whose detector may be keyed by a field name (bit 63: one of those from the 64th on)
	keyed      []*rule // those rules, wherever they are in the list
	secrets    []*rule // the query_secrets rules, wherever they are in the list (secretMember)
	localBits  uint64  // value rules whose matches in a slice of the message are matches in it
	patterns   bool    // a value rule is a pattern
	exactJSON  bool    // tests only: applyJSON gated by the rules' maybe alone (jsonCandidate's oracle)
	logger     *slog.Logger
	warned     []atomic.Bool // per rule: first withheld message logged
	panicked   atomic.Bool   // first contained panic logged

	mu     sync.Mutex
	clones []*counters
}

// New compiles rules. It reads hash keys (Options.LookupEnv, ReadFile) and
// does no other I/O. An error names the rule: `rule 3 (pattern "(?i)(x"):
// error parsing regexp: ...`. An empty list gives a Redactor that changes
// nothing.
func New(rules []Rule, opts Options) (*Redactor, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	sh := &shared{logger: opts.Logger, warned: make([]atomic.Bool, len(rules))}
	names := make(map[string]int, len(rules))
	fieldOwner := make(map[string]int)
	for i, rl := range rules {
		n := i + 1
		ru, err := compile(n, rl, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describe(n, rl), err)
		}
		if prev, dup := names[ru.name]; dup {
			return nil, fmt.Errorf("%s: name %q is already used by rule %d: give one of them a distinct name", describe(n, rl), ru.name, prev)
		}
		names[ru.name] = n
		if ru.kind == kindField {
			if prev, dup := fieldOwner[ru.field]; dup {
				return nil, fmt.Errorf("%s: field %q already has a rule (rule %d)", describe(n, rl), ru.field, prev)
			}
			fieldOwner[ru.field] = n
			sh.fieldRules = append(sh.fieldRules, ru)
		} else {
			sh.valueRules = append(sh.valueRules, ru)
			sh.patterns = sh.patterns || ru.kind == kindPattern
		}
		ru.idx = i
		sh.rules = append(sh.rules, ru)
		if ru.act == actHash && len(ru.key) < 16 {
			opts.Logger.Warn("redact: short hash key; use at least 16 random bytes", "rule", ru.name, "bytes", len(ru.key))
		}
	}
	// A field rule covers its fieldParts, unless a rule of their own names
	// them.
	for _, ru := range sh.fieldRules {
		for _, part := range fieldParts[ru.field] {
			if _, own := fieldOwner[part]; !own {
				c := *ru
				c.field = part
				sh.fieldRules = append(sh.fieldRules, &c)
				fieldOwner[part] = ru.idx + 1
			}
		}
	}
	for j, ru := range sh.valueRules {
		bit := uint64(1) << min(j, 63)
		sh.allBits |= bit
		if n, ok := ru.det.(needer); ok && ru.kind == kindBuiltin && haveSummary {
			ru.need = n.need()
			sh.gatedBits |= bit
		}
		if ru.kind == kindBuiltin && (ru.builtin == BuiltinBearerToken || ru.builtin == BuiltinQuerySecrets) {
			// Every one, also past the 63rd value rule (redact16 F2: the
			// later ones never masked a value by its name).
			sh.keyedBits |= bit
			sh.keyed = append(sh.keyed, ru)
		}
		if ru.kind == kindBuiltin && ru.builtin == BuiltinQuerySecrets {
			sh.secrets = append(sh.secrets, ru)
		}
		if ru.kind == kindBuiltin && ru.builtin == BuiltinQuerySecrets && j < 63 {
			// A match needs a secret name before '=' (or "%3D", or '"',
			// white space and ':') and a non-empty value. In a slice of
			// the message that does not start inside a name nor end inside
			// a "%XX", the name is the same and the value can only be
			// shorter: no match in the message, none in the slice. (A
			// keyed field is examined anyway.)
			sh.localBits |= bit
		}
	}
	opts.Logger.Debug("redact: rules compiled", "rules", len(sh.rules), "field_rules", len(sh.fieldRules))
	return sh.newRedactor(), nil
}

func describe(n int, rl Rule) string {
	var what []string
	if rl.Name != "" {
		what = append(what, "name "+strconv.Quote(rl.Name))
	}
	if rl.Builtin != "" {
		what = append(what, "builtin "+strconv.Quote(rl.Builtin))
	}
	if rl.Pattern != "" {
		what = append(what, "pattern "+strconv.Quote(rl.Pattern))
	}
	if rl.Field != "" {
		what = append(what, "field "+strconv.Quote(rl.Field))
	}
	if len(what) == 0 {
		return "rule " + strconv.Itoa(n)
	}
	return "rule " + strconv.Itoa(n) + " (" + strings.Join(what, ", ") + ")"
}

func compile(n int, rl Rule, opts Options) (*rule, error) {
	ru := &rule{name: rl.Name, maskTok: maskToken}
	set := 0
	for _, s := range []string{rl.Builtin, rl.Pattern, rl.Field} {
		if s != "" {
			set++
		}
	}
	switch {
	case set == 0:
		return nil, errors.New("one of builtin, pattern or field is required")
	case set > 1:
		return nil, errors.New("builtin, pattern and field are mutually exclusive")
	}
	switch rl.Action {
	case "", ActionMask:
		ru.act = actMask
	case ActionHash:
		ru.act = actHash
	case ActionDrop:
		ru.act = actDrop
	case ActionTruncate:
		ru.act = actTruncate
		if rl.Builtin != BuiltinIPv4 && rl.Builtin != BuiltinIPv6 {
			return nil, errors.New("action truncate only applies to builtin ipv4 and ipv6")
		}
	default:
		return nil, fmt.Errorf("unknown action %q (want mask, hash, drop or truncate)", rl.Action)
	}
	if rl.Replace != "" && (rl.Pattern == "" || ru.act != actMask) {
		return nil, errors.New("replace only applies to a pattern rule with action mask")
	}
	if len(rl.Params) > 0 && rl.Builtin != BuiltinQuerySecrets {
		return nil, errors.New("params only applies to builtin query_secrets")
	}
	if rl.Fields != nil && rl.Field != "" {
		return nil, errors.New("fields does not apply to a field rule (field names its one field)")
	}
	for _, f := range rl.Fields {
		if f == "" {
			return nil, errors.New("fields: empty field name")
		}
	}
	if len(rl.Fields) > 0 {
		ru.fields = append([]string(nil), rl.Fields...)
		for _, f := range rl.Fields {
			for _, same := range sameBytes[f] {
				if !slices.Contains(ru.fields, same) {
					ru.fields = append(ru.fields, same)
				}
			}
		}
	}
	switch {
	case rl.Builtin != "":
		ru.kind = kindBuiltin
		ru.builtin = rl.Builtin
		if err := ru.compileBuiltin(rl); err != nil {
			return nil, err
		}
		if ru.name == "" {
			ru.name = rl.Builtin
		}
	case rl.Pattern != "":
		ru.kind = kindPattern
		if err := ru.compilePattern(rl); err != nil {
			return nil, err
		}
	default:
		ru.kind = kindField
		ru.field = rl.Field
	}
	if ru.name == "" {
		ru.name = "rule " + strconv.Itoa(n)
	}
	if ru.kind == kindField {
		ru.withheld = "[message withheld: field " + ru.field + " could not be redacted in it]"
	}
	if err := ru.loadKey(rl, opts); err != nil {
		return nil, err
	}
	return ru, nil
}

func (ru *rule) compileBuiltin(rl Rule) error {
	ru.maskTok = maskPrefix + rl.Builtin + "]"
	switch rl.Builtin {
	case BuiltinCreditCard:
		ru.det, ru.minLen = cardDetector{}, 13
	case BuiltinEmail:
		ru.det, ru.minLen = emailDetector{}, 6
	case BuiltinIPv4:
		ru.det, ru.minLen = ipv4Detector{}, 7
	case BuiltinIPv6:
		ru.det, ru.minLen = ipv6Detector{}, 3
	case BuiltinJWT:
		ru.det, ru.minLen = jwtDetector{}, 6
	case BuiltinBearerToken:
		ru.det, ru.minLen = bearerDetector{}, 7
		ru.maskTok = maskToken
		ru.keepsScheme = ru.act == actDrop
	case BuiltinAWSAccessKey:
		ru.det, ru.minLen = awsKeyDetector{}, 20
	case BuiltinQuerySecrets:
		names := append([]string(nil), defaultSecretParams...)
		for _, p := range rl.Params {
			if p == "" {
				return errors.New("params: empty parameter name")
			}
			for i := 0; i < len(p); i++ {
				if !is(p[i], cName) {
					return fmt.Errorf("params: %q: a parameter name is letters, digits, _ . and -", p)
				}
			}
			if strings.ContainsAny(p, "[]") {
				// Brackets are dropped from a name in a line before it
				// is compared: such a name never matched, and its values
				// shipped (regress23b P4).
				inner := strings.Trim(p[strings.LastIndexByte(strings.TrimRight(p, "]"), '[')+1:], "[]")
				return fmt.Errorf("params: %q: write the name without brackets (%q): a name is found inside brackets too (user[%s]=, user%%5B%s%%5D=)", p, inner, inner, inner)
			}
			names = append(names, strings.ToLower(p))
		}
		ru.det, ru.minLen = newQueryDetector(names), 2
		ru.maskTok = maskToken
	default:
		return fmt.Errorf("unknown builtin %q (known: %s)", rl.Builtin, strings.Join(builtinNames, ", "))
	}
	return nil
}

func (ru *rule) compilePattern(rl Rule) error {
	re, err := regexp.Compile(rl.Pattern)
	if err != nil {
		return err
	}
	if re.Match(nil) {
		return errors.New("pattern matches the empty string")
	}
	ru.re = re
	if strings.Contains(rl.Replace, "$") {
		ru.tmpl = []byte(rl.Replace)
	} else if rl.Replace != "" {
		ru.maskTok = rl.Replace
	}
	ru.rebuilds = ru.tmpl != nil || strings.Contains(rl.Replace, `"`)
	if p, _ := re.LiteralPrefix(); p != "" {
		ru.req = []reqLit{newReqLit(p, false)}
	}
	if sre, err := syntax.Parse(rl.Pattern, syntax.Perl); err == nil {
		if set := requiredSet(sre.Simplify()); set != nil && (ru.req == nil || score(set) > score(ru.req)) {
			ru.req = set
		}
	}
	return nil
}

// reqLit is a literal a regexp match must contain (one of a set). k is the
// index of its rarest byte, which the search looks for first.
type reqLit struct {
	s    string // lower case when fold
	fold bool   // ignore ASCII case
	k    int
}

func newReqLit(s string, fold bool) reqLit {
	if fold {
		s = strings.ToLower(s)
	}
	k := 0
	for i := 1; i < len(s); i++ {
		if commonness(s[i]) < commonness(s[k]) {
			k = i
		}
	}
	return reqLit{s: s, fold: fold, k: k}
}

// commonness ranks how often a byte appears in log lines (higher: more
// often), to search for the rarest byte of a literal first.
func commonness(c byte) int {
	const letters = "zqxjkvbpygfwmucldrhsnioate" // English, rarest first
	switch {
	case c >= 'A' && c <= 'Z':
		return 10 + strings.IndexByte(letters, c-'A'+'a')
	case c >= 'a' && c <= 'z':
		return 40 + strings.IndexByte(letters, c)
	case c >= '0' && c <= '9':
		return 60
	}
	switch c {
	case ' ', '/', '.', '-', ':', '"':
		return 70
	case '=', '&', '?', ',', ';', '(', ')', '[', ']':
		return 45
	}
	return 5
}

// score rates a literal set as a pre-filter: the length of its shortest
// literal, then fewer literals.
func score(set []reqLit) int {
	m := 1 << 20
	for _, l := range set {
		m = min(m, len(l.s))
	}
	return m*64 - len(set)
}

// requiredSet returns literals one of which every match of re contains,
// nil when it finds none: literals of a concatenation (the best child),
// alternations (the union), captures and repetitions of at least one.
func requiredSet(re *syntax.Regexp) []reqLit {
	switch re.Op {
	case syntax.OpLiteral:
		if lit, fold := literalPiece(re.Rune, re.Flags&syntax.FoldCase != 0); lit != "" {
			return []reqLit{newReqLit(lit, fold)}
		}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredSet(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredSet(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []reqLit
		for _, sub := range re.Sub {
			if set := requiredSet(sub); set != nil && (best == nil || score(set) > score(best)) {
				best = set
			}
		}
		return best
	case syntax.OpAlternate:
		var all []reqLit
		for _, sub := range re.Sub {
			set := requiredSet(sub)
			if set == nil {
				return nil
			}
			all = append(all, set...)
		}
		if len(all) <= 16 {
			return all
		}
	}
	return nil
}

// literalPiece returns the longest part of a literal that a byte search
// can require. Without case folding that is the literal (unless it holds
// U+FFFD, which also matches invalid UTF-8). With folding only ASCII letters
// other than k and s qualify: Unicode folds 'k' with the Kelvin sign and
// 's' with the long s, which an ASCII-only search would miss.
func literalPiece(runes []rune, fold bool) (string, bool) {
	if !fold {
		for _, r := range runes {
			if r == utf8.RuneError {
				return "", false
			}
		}
		return string(runes), false
	}
	best, cur := "", []rune(nil)
	flush := func() {
		if len(cur) > len(best) {
			best = string(cur)
		}
		cur = cur[:0]
	}
	for _, r := range runes {
		if r >= utf8.RuneSelf || r == 'k' || r == 'K' || r == 's' || r == 'S' {
			flush()
			continue
		}
		cur = append(cur, unicode.ToLower(r))
	}
	flush()
	return best, strings.ToLower(best) != strings.ToUpper(best)
}

func (ru *rule) loadKey(rl Rule, opts Options) error {
	if ru.act != actHash {
		if rl.KeyEnv != "" || rl.KeyFile != "" {
			return errors.New("key_env and key_file only apply to action hash")
		}
		return nil
	}
	switch {
	case rl.KeyEnv != "" && rl.KeyFile != "":
		return errors.New("action hash: key_env and key_file are mutually exclusive")
	case rl.KeyEnv != "":
		v, ok := opts.LookupEnv(rl.KeyEnv)
		if !ok {
			return fmt.Errorf("action hash: environment variable %s (key_env) is not set", rl.KeyEnv)
		}
		if v == "" {
			return fmt.Errorf("action hash: environment variable %s (key_env) is empty", rl.KeyEnv)
		}
		ru.key = []byte(v)
	case rl.KeyFile != "":
		b, err := opts.ReadFile(rl.KeyFile)
		if err != nil {
			return fmt.Errorf("action hash: key_file: %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return fmt.Errorf("action hash: key_file %s is empty", rl.KeyFile)
		}
		ru.key = b
	default:
		return errors.New("action hash needs a key: set key_env or key_file")
	}
	return nil
}

// newRedactor returns a Redactor over sh with its own scratch and counters.
func (sh *shared) newRedactor() *Redactor {
	r := &Redactor{sh: sh, c: &counters{rules: make([]atomic.Uint64, len(sh.rules))}}
	r.macs = make([]macState, len(sh.rules))
	for _, ru := range sh.rules {
		if ru.act == actHash {
			r.macs[ru.idx].h = hmac.New(sha256.New, ru.key)
		}
	}
	sh.mu.Lock()
	sh.clones = append(sh.clones, r.c)
	sh.mu.Unlock()
	return r
}

// Stats are cumulative counters of a Redactor and all its clones.
type Stats struct {
	// Rules has one entry per rule, in configuration order.
	Rules []RuleStats
	// Redacted counts records that Apply changed.
	Redacted uint64
	// Withheld counts messages replaced by the withheld marker because a
	// field rule's value could not be found in them.
	Withheld uint64
	// Failed counts records on which a redaction bug panicked: their
	// message was withheld and every field value masked.
	Failed uint64
}

// RuleStats are one rule's counters.
type RuleStats struct {
	Name string
	// Redactions counts replaced matches (for a field rule: fields
	// redacted, whether or not the value was also in the message).
	Redactions uint64
}

// Redactions returns the redaction count of the rule named name.
func (s Stats) Redactions(name string) uint64 {
	for _, r := range s.Rules {
		if r.Name == name {
			return r.Redactions
		}
	}
	return 0
}

// Stats returns a snapshot of the counters of r and every clone of it. It
// may be called from any goroutine at any time.
func (r *Redactor) Stats() Stats {
	sh := r.sh
	st := Stats{Rules: make([]RuleStats, len(sh.rules))}
	for i, ru := range sh.rules {
		st.Rules[i].Name = ru.name
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for _, c := range sh.clones {
		for i := range c.rules {
			st.Rules[i].Redactions += c.rules[i].Load()
		}
		st.Redacted += c.redacted.Load()
		st.Withheld += c.withheld.Load()
		st.Failed += c.failed.Load()
	}
	return st
}

// Clone returns a Redactor with the same rules and its own scratch state,
// for use by another goroutine. The compiled rules are shared (they are
// immutable); Stats of either covers both. Cloning is cheap: no rule is
// recompiled and no key re-read.
func (r *Redactor) Clone() *Redactor { return r.sh.newRedactor() }
