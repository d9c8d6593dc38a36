package redact

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"hash"
	mathbits "math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sidetrail/sidetrail"
)

// maxPasses bounds how often Apply runs the rule chain over one value. A
// pass that changes nothing ends it; a second pass only happens when an
// earlier rule's replacement or removal let a rule match anew (action drop,
// user templates).
const maxPasses = 4

// Redactor applies compiled rules to records.
//
// A Redactor is NOT safe for concurrent use: Apply reuses per-Redactor
// scratch memory and HMAC state. Give each pipeline goroutine its own
// (Clone). Stats may be called from any goroutine.
type Redactor struct {
	sh *shared
	c  *counters

	macs   []macState // per rule index, set for hash rules
	needle []byte     // escaped forms of a field value
	// locLeft is how many bytes of the message locate may still search in
	// this record; overLoc says it ran out (see locate).
	locLeft int
	overLoc bool
	curRule *rule // the field rule applyFieldRules is at
	// keptIn and keptOut carry applyChain's kept (its scheme-keeping
	// rules that dropped a token) into and out of one call: the
	// message's pass after syncMessage starts from its first pass's.
	keptIn, keptOut uint64
	overBy          *rule  // the one at which locLeft ran out
	unesc           []byte // an unescaped JSON string
	unesc2          []byte
	member          []byte   // an unescaped member name
	members         [][2]int // nestedFieldRule: the spans of a path's values
	canon           []byte   // canonical's result
	canon2          []byte   // canonicalEmail's other buffer
	jout            []byte   // applyJSON's output
	fst             findState
	vmemo           valueMemo             // fst's
	jmemo           valueMemo             // applyJSON's (applyChain inside it resets vmemo)
	keyed           nameCache[bool]       // fieldKeyed's answers
	masked          nameCache[maskedName] // keyMask's answers
	keyRec          sidetrail.Record      // keyMask's scratch
	keySeq          int                   // keys masked in this record so far
	kbuf            []byte                // a masked member name

	found      bool   // the last applyRule found a match (replaced or not)
	msgNoMatch uint64 // rules that found nothing in the original message
	tmp        []byte // one replacement
	tmp2       []byte // tmp put in quotes (quoteWith)
	spans      []span // field-rule spans in the original message
	drops      []int  // indexes of fields to drop
	fvals      []span // field-rule values and their replacements
	inPlace    []span // replaceInPlace's
	changed    []changedField
	changedOwn []changedField // resyncDropped's

	// jsonText: the chain runs over a JSON line's message, which is valid
	// JSON (see newQuote).
	jsonText bool
	// crossed: a match ran past the end of its JSON string (putMatch).
	crossed bool
	orig    []byte // the message Apply was given (syncMessage)
	// onText: the chain runs over the original message of a line with
	// parsed fields, not JSON (nginx); covered collects what patterns
	// matched there (followCovered).
	onText   bool
	covered  []coveredText
	members2 [][2]int // fieldsFollowMessage's spans of the message after
}

// fieldsFollowMessage gives the fields of a JSON line the values the
// message rules left in its top-level members, where a match that ran
// from one member into others changed them there (before and after are
// the message's JSON before and after the rules, which keep its
// structure). A field gets a member's new value when it holds the
// member's old one (a key the line repeats keeps its last value); a time
// read from a changed member is no event time.
func (r *Redactor) fieldsFollowMessage(rec *sidetrail.Record, before, after []byte) {
	if !isJSONText(before) {
		return // only a JSON line's message (FuzzOracle gives others)
	}
	r.members = topMembers(before, r.members[:0])
	if !isJSONText(after) {
		r.members2 = r.members2[:0]
	} else {
		r.members2 = topMembers(after, r.members2[:0])
	}
	if len(r.members) != len(r.members2) {
		// A replacement written with quotes left no JSON, or other
		// members ('"x', '"pw":"[REDACTED]","y":1'): it stands as
		// written, and the fields of the members it changed cannot take
		// their new values. They are masked: they shipped the secret the
		// message no longer holds (regress22 R4).
		r.maskChangedMembers(rec, before, after)
		return
	}
	for i := 0; i < len(r.members); i += 2 {
		k, v := r.members[i], r.members[i+1]
		v2 := r.members2[i+1]
		oldV, newV := before[v[0]:v[1]], after[v2[0]:v2[1]]
		if bytes.Equal(oldV, newV) {
			continue
		}
		name := before[k[0]:k[1]]
		if bytes.IndexByte(name, '\\') >= 0 {
			name = appendUnescapeJSON(nil, name)
		}
		old, kind := jsonScalar(oldV)
		nv, nkind := jsonScalar(newV)
		if tf := rec.TimeField; tf.Value != nil && (tf.Key == string(name) && bytes.Equal(tf.Value, old) ||
			below(tf.Key, string(name)) && bytes.Contains(oldV, tf.Value) && !bytes.Contains(newV, tf.Value)) {
			// The time key, or one below the member (time_key: meta.ts)
			// whose value the match took (regress14 B).
			rec.Time = time.Time{}
			rec.TimeField = sidetrail.Field{}
		}
		for j := range rec.Fields[:len(rec.Fields)-rec.Statics] {
			f := &rec.Fields[j]
			if f.Kind != kind || !bytes.Equal(f.Value, old) || !lineKeyIs(rec, f.Key, name) {
				continue
			}
			start := len(rec.Scratch)
			rec.Scratch = append(rec.Scratch, nv...)
			f.Value, f.Kind = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)], nkind
		}
	}
}

// maskChangedMembers masks the fields parsed from the top-level members of
// before (r.members) that the rules changed on the way to after, which has
// another structure: the members that the bytes between the two texts'
// common prefix and common suffix touch. With several changes that is all
// the members from the first to the last, the unchanged ones between them
// too: more than was needed, never less. A time read from those members is
// no event time.
func (r *Redactor) maskChangedMembers(rec *sidetrail.Record, before, after []byte) {
	p := 0
	for p < len(before) && p < len(after) && before[p] == after[p] {
		p++
	}
	q := 0
	for q < len(before)-p && q < len(after)-p && before[len(before)-1-q] == after[len(after)-1-q] {
		q++
	}
	from, to := p, max(len(before)-q, p+1) // an insertion touches the bytes on both sides
	// The members touched, by name: each copy's old value (a key the line
	// repeats keeps only its last in the field). The fields are then
	// walked once: a field per member took time in the square of a long
	// line's members (regress24 R9: 34 s for 968 KB).
	touched := map[string][]changedField{}
	for i := 0; i < len(r.members); i += 2 {
		k, v := r.members[i], r.members[i+1]
		if k[0]-1 >= to || v[1] < from {
			continue // the member's text, its opening quote to its value's end, is untouched
		}
		name := before[k[0]:k[1]]
		if bytes.IndexByte(name, '\\') >= 0 {
			name = appendUnescapeJSON(nil, name)
		}
		old, kind := jsonScalar(before[v[0]:v[1]])
		touched[string(name)] = append(touched[string(name)], changedField{old: old, kind: kind})
	}
	if len(touched) == 0 {
		return
	}
	isTouched := func(name string) bool { _, ok := touched[name]; return ok }
	reached := func(key string) bool { // key, or a name above it, touched
		return isTouched(key) || dottedAbove(key, isTouched) != ""
	}
	if tf := rec.TimeField; tf.Value != nil && reached(tf.Key) {
		rec.Time = time.Time{}
		rec.TimeField = sidetrail.Field{}
	}
	for j := range rec.Fields[:len(rec.Fields)-rec.Statics] {
		f := &rec.Fields[j]
		// The field of a member so named: as lineKeyIs matches them.
		lk := lineKey(rec, f.Key)
		own, ok := touched[lk]
		if !ok {
			own, ok = touched[strings.TrimPrefix(lk, "json.")]
		}
		if !ok && lk != f.Key {
			own, ok = touched[f.Key]
		}
		switch {
		case ok:
			if !slices.ContainsFunc(own, func(c changedField) bool { return c.kind == f.Kind && bytes.Equal(c.old, f.Value) }) {
				continue // a key the line repeats: another copy's value
			}
		case !reached(f.Key) && !reached(lk):
			continue
		}
		f.Value, f.Kind = []byte(maskToken), sidetrail.KindString
	}
}

// lineKeyIs reports whether the field key is the line's key name: the
// same, the name the JSON parser gives a key that meets the record's own
// ("json." + name), or a renamed one's (rec.Renamed).
func lineKeyIs(rec *sidetrail.Record, key string, name []byte) bool {
	if key == string(name) {
		return true
	}
	key = lineKey(rec, key)
	return key == string(name) || len(key) > 5 && key[:5] == "json." && key[5:] == string(name)
}

// lineKey returns the key the line gave the field now named key: the same,
// or the one the parser renamed (Record.Renamed).
func lineKey(rec *sidetrail.Record, key string) string {
	if len(rec.Renamed) > 0 {
		if from, ok := rec.RenamedFrom(key); ok {
			return from
		}
	}
	return key
}

// jsonScalar returns a JSON value's text as a field holds it: a string
// unescaped, anything else as it is written, and its kind.
func jsonScalar(v []byte) ([]byte, sidetrail.Kind) {
	switch {
	case len(v) == 0:
		return v, sidetrail.KindNull
	case v[0] == '"' && len(v) >= 2:
		return appendUnescapeJSON(nil, v[1:len(v)-1]), sidetrail.KindString
	case v[0] == '{' || v[0] == '[':
		return v, sidetrail.KindJSON
	case v[0] == 't' || v[0] == 'f':
		return v, sidetrail.KindBool
	case v[0] == 'n':
		return v, sidetrail.KindNull
	case bytes.ContainsAny(v, ".eE"):
		return v, sidetrail.KindFloat
	}
	return v, sidetrail.KindInt
}

// topMembers appends the spans of the key (inside its quotes) and the
// value of each top-level member of the JSON object b, in order; nil when
// b is no object.
func topMembers(b []byte, out [][2]int) [][2]int {
	i := skipJSONSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	for i++; ; {
		t, vs, ve, next, ok := nextMember(b, i)
		if !ok {
			return out
		}
		out = append(out, [2]int{t.s, t.e}, [2]int{vs, ve})
		i = next
	}
}

// changedField is a field value the value rules changed: before and after.
type changedField struct {
	old, new []byte
	kind     sidetrail.Kind
	// keyed: changed for its name (a secret's, an Authorization
	// header's), as a whole value, which the message must follow
	// though its own rules changed part of it (see syncMessage).
	keyed bool
}

type macState struct {
	h   hash.Hash
	sum []byte
}

// span is a region of the original message and what replaces it (in
// fvals: a field rule's value v and its replacement).
type span struct {
	s, e int
	repl []byte
	v    []byte
	json bool // repl is a JSON value, written as it is (not as a string)
}

// Apply redacts rec in place, before it is buffered: rec.Message and every
// string, number and JSON field value (strings and numbers inside JSON
// values). New bytes are appended to rec.Scratch and the changed slices
// point there (per the Record contract, earlier slices stay valid);
// unchanged values are left as they were. A changed number or JSON value
// that had to become a token is turned into a KindString field. Field rules
// with action drop remove their field from rec.Fields, keeping the order of
// the others. When the rules would change rec.TimeField's value and it reads
// as a time more than a day ahead of rec.Ingested (or a field rule names its
// key), rec.Time is set to zero: the caller gives the record its read time. Apply keeps no reference to rec or its bytes after it
// returns.
//
// Apply never fails and never panics: if a bug in a detector panicked, the
// message is withheld, every field value is masked and Stats.Failed counts
// it. It does no I/O and does not block; it allocates only when something
// matched (and, for user patterns, what the regexp package allocates).
func (r *Redactor) Apply(rec *sidetrail.Record) {
	defer r.recoverApply(rec)
	sh := r.sh
	orig := rec.Message
	r.orig = orig
	redacted := false

	// Which rules may match the original message. A field that is a slice
	// of the original message cannot match a rule the message cannot match
	// (the pre-filters are monotone), which makes the common no-candidate
	// record cost one pre-filter pass over the message.
	origMaybe := ^uint64(0) // with 64 rules or more: no shortcut
	if len(sh.valueRules) < 64 {
		origMaybe = sh.maybeMask(orig)
	}

	r.msgNoMatch = 0
	r.keySeq = 0
	r.changed = r.changed[:0]
	msgDone := false
	if tf := rec.TimeField; tf.Value != nil && len(sh.fieldRules) > 0 && r.fieldRuleReaches(tf.Key) {
		// A field rule reaches the key the time was read from: the value
		// is the rule's, in the message and as a field, and no event time.
		// It shipped in the message (regress13 R2). A time read inside an
		// object the record keeps (time_key: meta.ts) is there already.
		if !heldByField(rec, tf.Value) {
			// A static field of that name gives way, as it does to any
			// parsed field: the record held the key twice (regress13b N3).
			if j := slices.IndexFunc(rec.Fields, func(f sidetrail.Field) bool { return f.Key == tf.Key }); j >= len(rec.Fields)-rec.Statics {
				rec.Fields = slices.Delete(rec.Fields, j, j+1)
				rec.Statics--
			}
			if !slices.ContainsFunc(rec.Fields, func(f sidetrail.Field) bool { return f.Key == tf.Key }) {
				at := len(rec.Fields) - rec.Statics
				rec.Fields = slices.Insert(rec.Fields, at, tf)
			}
		}
		rec.TimeField = sidetrail.Field{}
		rec.Time = time.Time{}
	}
	if len(sh.fieldRules) > 0 {
		changed, withheld := r.applyFieldRules(rec)
		redacted = redacted || changed
		msgDone = withheld
	}

	var chainBase []byte // the message the value rules' pass began at: orig, or as the field rules left it
	var msgKept uint64   // the bearer drops of that pass (applyChain's kept)
	if !msgDone {
		exact := len(rec.Message) == len(orig) && (len(orig) == 0 || &rec.Message[0] == &orig[0])
		chainBase = rec.Message
		mask := origMaybe
		if !exact {
			// Field rules rewrote it (a removal may join new candidates).
			mask = ^uint64(0)
		}
		r.jsonText = exact && jsonLine(rec)
		r.onText = exact && !r.jsonText && sh.patterns && len(rec.Fields) > rec.Statics
		r.crossed = false
		before := rec.Message
		m, ch := r.applyChain(rec, rec.Message, "", true, mask, exact, false)
		msgKept = r.keptOut
		r.jsonText = false
		if r.onText {
			r.onText = false
			if len(r.covered) > 0 && r.followCovered(rec) {
				redacted = true
			}
		}
		if ch && r.crossed && rec.KeysFromLine {
			// A match ran from one member of a JSON line into others
			// (pattern: 'pin\W+\d+' over {"pin": "1234"}): the fields
			// parsed from those members follow (redact14 F5).
			r.fieldsFollowMessage(rec, before, m)
		}
		if bytes.IndexByte(m, '\\') >= 0 && looksJSON(m) && textJSON(orig) {
			if m2, ch2 := r.applyJSON(rec, m, "", true, true, ^uint64(0)); ch2 {
				// What its strings' unescaped redaction wrote back may
				// join what follows into a new match (a value dropped
				// before a quote: a quoted value now), as after
				// syncMessage: a second Apply found it.
				m, _ = r.applyChain(rec, m2, "", true, ^uint64(0), false, false)
				ch = true
			}
		}
		if ch {
			rec.Message = m
			redacted = true
		}
	}

	for i := range rec.Fields {
		f := &rec.Fields[i]
		key := f.Key
		if rec.KeysFromLine {
			// The key is the line's own text (a JSON member name): it gets
			// the message's rules. The value still gets its key's.
			if m, ch := r.keyMask(key); ch {
				f.Key = r.uniqueKey([]byte(m))
				for hasKey(rec.Fields, i, f.Key) {
					// The line may hold a name like "#1 [REDACTED:email]"
					// already: one key twice is an invalid document.
					f.Key = r.uniqueKey([]byte(m))
				}
				redacted = true
			}
		}
		switch f.Kind {
		case sidetrail.KindString, sidetrail.KindInt, sidetrail.KindFloat:
			mask := ^uint64(0)
			if off, ok := offsetIn(orig, f.Value); ok {
				mask = origMaybe
				// A "local" rule (query_secrets) that found nothing in the
				// original message finds nothing in a slice of it either,
				// provided the slice does not start inside a parameter name
				// nor end inside a "%XX" (a value that "%26" or "%20" ends
				// in the message would run to the slice's end instead).
				if (off == 0 || (!is(orig[off-1], cName) && orig[off-1] != '%')) && !endsInEscape(orig, off+len(f.Value)) {
					mask &^= r.msgNoMatch & sh.localBits
				}
			}
			// A name the rules changed may have become a secret's
			// (".keYabc" with "abc" dropped is ".keY"): either counts.
			keyed := r.fieldKeyed(key)
			if !keyed && f.Key != key && r.fieldKeyed(f.Key) {
				key, keyed = f.Key, true
			}
			if !keyed && rec.KeysFromLine && i < len(rec.Fields)-rec.Statics {
				// A line's dotted key below a secret's name
				// ({"password.old":…}), which the record writes inside it
				// ({"password":{"old":…}}, masked whole when the line
				// nests it; redact24 P2), also renamed flat beside that
				// name ({"token":"t","token.refresh":"x"} ships
				// token_refresh; P4). Only the line's keys: a source's
				// static key.env took "prod" out of every message
				// (regress24 R6).
				if above := r.keyedAbove(lineKey(rec, key)); above != "" {
					key, keyed = above, true
				}
			}
			// A string holding JSON with escapes may hide from the
			// pre-filters what its strings say unescaped (see below).
			if mask&sh.allBits == 0 && !keyed && !(f.Kind == sidetrail.KindString && looksJSON(f.Value) && bytes.IndexByte(f.Value, '\\') >= 0) {
				continue // no rule can match (applyChain would say so)
			}
			jsonStr := f.Kind == sidetrail.KindString && looksJSON(f.Value)
			v, ch := r.applyChain(rec, f.Value, key, false, mask, false, keyed)
			if jsonStr && looksJSON(v) {
				// A string holding JSON (a request body): a secret member
				// holding an object or array in it is masked whole, as in
				// a JSON value.
				if v2, ch2 := r.applyJSON(rec, v, key, false, true, ^uint64(0)); ch2 {
					// A new match its rewrite may have joined, as in
					// the message.
					v, _ = r.applyChain(rec, v2, key, false, ^uint64(0), false, keyed)
					ch = true
				}
			}
			if ch {
				r.changed = append(r.changed, changedField{old: f.Value, new: v, kind: f.Kind, keyed: keyed})
				f.Value, f.Kind = v, sidetrail.KindString
				redacted = true
			}
		case sidetrail.KindJSON:
			if rec.KeysFromLine && i < len(rec.Fields)-rec.Statics && !r.fieldKeyed(key) {
				if above := r.keyedAbove(lineKey(rec, key)); above != "" {
					key = above // see above
				}
			}
			if r.fieldKeyed(key) {
				// A secret's name (password, authorization) holding an
				// object or array: a secret whole, as the message and a
				// member so named below the top level have it. Its
				// member names and true/false shipped (redact12 F6).
				if v, ch := r.applyChain(rec, f.Value, key, false, 0, false, true); ch {
					// The message follows, the value as a JSON string:
					// a dotted key below a secret's name
					// ({"secret.data":{…}}) is one its own rules do not
					// see (redact24 P2).
					r.changed = append(r.changed, changedField{old: f.Value, new: sidetrail.AppendJSONString(nil, v), kind: sidetrail.KindJSON, keyed: true})
					f.Value, f.Kind = v, sidetrail.KindString
					redacted = true
					continue
				}
			}
			// A JSON value cut from the original message can only match
			// the rules the message's pre-filters let through.
			bound := ^uint64(0)
			if within(orig, f.Value) {
				bound = origMaybe
			}
			if v, ch := r.applyJSON(rec, f.Value, key, false, false, bound); ch {
				r.changed = append(r.changed, changedField{old: f.Value, new: v, kind: f.Kind})
				f.Value = v
				redacted = true
			}
		}
	}
	if len(r.changed) > 0 {
		r.scrubKeyed(rec)
	}
	if len(r.changed) > 0 && !msgDone {
		var m []byte
		var ch, missed bool
		if len(r.changed)*len(rec.Message) > maxSyncScan && looksJSON(rec.Message) && textJSON(orig) {
			// A JSON line with many fields changed: each looked for in
			// the whole message took time in the square of the line's
			// length (regress17c R3: 15 s for 800 KB). Its strings are
			// redacted in place instead, as when a value is missed.
			m, missed = rec.Message, true
		} else {
			m, ch, missed = r.syncMessage(rec, rec.Message)
		}
		if missed && chainBase != nil && !looksJSON(orig) && !bytes.Equal(rec.Message, chainBase) {
			// A changed field's old value is no longer in the message
			// whole: another rule changed part of it there (the e-mail in
			// a request body whose card only the unescaped field showed).
			// Take the fields' changes to the line the rules began at
			// instead (the original, or as the field rules left it: with
			// a cookie dropped, "Basic a, Bearer t" shipped its Basic
			// credential beside a masked Authorization; regress25b R4);
			// the rules then run over it again. (A JSON line's strings
			// are redacted unescaped by applyJSON already.)
			if m2, ch2, missed2 := r.syncMessage(rec, chainBase); ch2 && !missed2 {
				m, ch = m2, true
				if m3, ok := r.resyncDropped(rec, chainBase, msgKept); ok {
					m, msgKept = m3, r.keptOut
				} else {
					msgKept = 0 // no rule has run over m yet
				}
			}
		}
		if missed && looksJSON(m) && textJSON(orig) {
			// A JSON line: its values are redacted in place instead, the
			// structural rules included (a secret member holding an
			// object or array, below the top level, where the e-mail rule
			// had changed the same top-level field in the message).
			if m2, ch2 := r.applyJSON(rec, m, "", true, true, ^uint64(0)); ch2 {
				m, ch = m2, true
			}
		}
		if ch {
			// What was put in may join what follows into a new match. A
			// bearer_token drop's scheme does not run again: it took the
			// word after it for another token ("Bearer  good news" lost
			// "good" once an Authorization header was masked for its
			// name; regress22b B8), as within one chain.
			r.keptIn = msgKept
			m, _ = r.applyChain(rec, m, "", true, ^uint64(0), false, false)
			rec.Message = m
		}
	}
	if rec.TimeField.Value != nil && r.timeSecret(rec, orig, origMaybe) {
		// The event time was read from a value the rules take for a secret
		// (a card number as Unix microseconds in "ts"): @timestamp would
		// give it back exactly (redact12 F13). The record gets the read
		// time instead; the message keeps the value masked.
		rec.Time = time.Time{}
		redacted = true
	}
	if redacted {
		r.c.redacted.Add(1)
	}
}

// timeSecret reports whether the rules would change the value rec's time
// was read from, as they change it in the message (where every rule runs,
// those limited to other fields too: redact14 F6) or in its field, and the
// time is more than a day ahead of rec.Ingested (or now) or more than
// secretTimeAge before it. A field rule reaching its key was dealt with at
// Apply's start. A card number read as a Unix time is 2033 or later, or
// 2001 or earlier (a 15-digit one as microseconds, 1980 to 1982; a 16-digit
// one as nanoseconds, 1970: redact14 F1); a time of now whose digits a rule
// takes for a card (a compact 20261126100405, 10% of them pass the Luhn
// check) stays the time.
func (r *Redactor) timeSecret(rec *sidetrail.Record, orig []byte, origMaybe uint64) bool {
	tf := rec.TimeField
	ref := rec.Ingested
	if ref.IsZero() {
		ref = time.Now()
	}
	ahead := rec.Time.After(ref.Add(24 * time.Hour))
	if !ahead && !(rec.Time.Before(ref.Add(-secretTimeAge)) && unixDigits(tf.Value, rec.Time)) {
		return false
	}
	mask := ^uint64(0)
	if len(r.sh.valueRules) < 64 {
		// The rules that may match the value itself, exactly: a time
		// string asks few, and every JSON line has one.
		bound := ^uint64(0)
		if within(orig, tf.Value) {
			bound = origMaybe
		}
		mask = r.sh.maybeMaskWithin(tf.Value, bound)
	}
	if _, ch := r.applyChain(rec, tf.Value, tf.Key, false, mask, mask != ^uint64(0), r.fieldKeyed(tf.Key)); ch {
		return true
	}
	_, ch := r.applyChain(rec, tf.Value, "", true, mask, false, false)
	return ch
}

// unixDigits reports whether v is t written as a Unix time in seconds,
// milliseconds, microseconds or nanoseconds (with a fraction or not): the
// digits of a card read as one. A date written out ("2023-06-15T10:30:00Z", a compact
// "20230615103000") is not: a card is no valid date in the past, and an
// old log replayed keeps its times, also where a rule masks its dates
// (regress14 F).
func unixDigits(v []byte, t time.Time) bool {
	if i := bytes.IndexByte(v, '.'); i >= 0 {
		// A fraction read as a smaller unit: the integer part is the
		// card's digits (4111111111111111.0 as nanoseconds; regress14b N3).
		v = v[:i]
	}
	var buf [24]byte
	for _, n := range [...]int64{t.Unix(), t.UnixMilli(), t.UnixMicro(), t.UnixNano()} {
		if bytes.Equal(v, strconv.AppendInt(buf[:0], n, 10)) {
			return true
		}
	}
	return false
}

// secretTimeAge is how far back an event time read from a value the rules
// take for a secret may lie and still be the time: old logs read late keep
// their times, a card read as a Unix time does not.
const secretTimeAge = 366 * 24 * time.Hour

// maxSyncScan bounds what syncMessage may scan, changed fields times the
// message's length, before a JSON line is redacted in place instead.
const maxSyncScan = 16 << 20

// syncMessage takes out of the message what the rules took out of a field
// alone. A field masked because of its name ("http_authorization",
// "cookie_session_token", "password"), a JSON array or object under a
// secret member name, a member whose name the line escapes, a pattern
// anchored to the field's ends: each changes the field while the message
// text around the same bytes gives the rules nothing to match. Wherever a
// changed field's old value still appears whole in the message (literally,
// or escaped as nginx or JSON writes it), it is replaced by the field's new
// value written the same way, so the two forms agree. It reports whether
// the message changed, and whether some changed field's old value was not
// found in it.
func (r *Redactor) syncMessage(rec *sidetrail.Record, msg []byte) (m []byte, changed, missed bool) {
	r.spans = r.spans[:0]
	for _, c := range r.changed {
		if unlocatable(c.old) || isToken(c.old) {
			continue
		}
		n := len(r.spans)
		found := r.addAll(msg, c.old, c.new)
		if c.kind == sidetrail.KindJSON {
			// A JSON value with a string changed inside: the message gets
			// the new value as JSON, not as a string holding it.
			for i := n; i < len(r.spans); i++ {
				r.spans[i].json = true
			}
		}
		if c.kind == sidetrail.KindString && needsEscape(c.old) {
			for k, esc := range escapers {
				if k == nginxJSON && !oddControls(c.old) {
					continue // written as JSON writes it
				}
				r.needle = esc(r.needle[:0], c.old)
				if bytes.Equal(r.needle, c.old) || !bytes.Contains(msg, r.needle) {
					continue
				}
				start := len(rec.Scratch)
				rec.Scratch = esc(rec.Scratch, c.new)
				if r.addAll(msg, r.needle, rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]) {
					found = true
				}
			}
		}
		if !found && (!r.shows(msg, c) || c.keyed && within(r.orig, c.old) || c.kind == sidetrail.KindString && needsEscape(c.old) && r.holdsEscaped(r.orig, c.old)) {
			// Neither the old value nor the new one: another rule
			// changed part of the value in the message. Or the new one
			// shows where the message held the old one escaped: a
			// rule matched across the escape there, other bytes
			// ('CORP\\[a-z]+' over nginx's "CORP\x5Cjdoe" masked
			// "CORP\x" and shipped "5Cjdoe"; redact22 P5).
			missed = true
		}
	}
	if len(r.spans) == 0 {
		return msg, false, missed
	}
	return r.rewrite(rec, msg), true, missed
}

// resyncDropped is syncMessage's take of the fields' changes to base, the
// line the rules' pass over the message began at, when that pass dropped a
// bearer token (kept, applyChain's): base with the changes that pass did not
// make in the message, then the rules over it, its new text and true. A
// field the message's rules changed alike (a User-Agent's "Bearer of good
// news") keeps its old text there for them to change once: given the
// field's new value, they ran over "Bearer  good news" again and dropped
// "good" too (regress22b B8). Only if they did change each such value as in
// the field (its new value in the result, its old one nowhere); otherwise
// false.
func (r *Redactor) resyncDropped(rec *sidetrail.Record, base []byte, kept uint64) ([]byte, bool) {
	if kept == 0 {
		return nil, false
	}
	alike := func(c changedField, m []byte) bool {
		return !c.keyed && c.kind == sidetrail.KindString && !isToken(c.new) && len(c.old) >= shortNeedle &&
			!bytes.Contains(m, c.old) && bytes.Contains(m, c.new)
	}
	all := r.changed
	own := r.changedOwn[:0]
	for _, c := range all {
		if !alike(c, rec.Message) {
			own = append(own, c)
		}
	}
	r.changedOwn = own
	if len(own) == len(all) {
		return nil, false
	}
	r.changed = own
	m, _, missed := r.syncMessage(rec, base)
	r.changed = all
	if missed {
		return nil, false
	}
	m, _ = r.applyChain(rec, m, "", true, ^uint64(0), false, false)
	for _, c := range all {
		if alike(c, rec.Message) && !alike(c, m) {
			return nil, false
		}
	}
	return m, true
}

// shows reports whether msg holds c's new value as the message would write
// it: literally, or escaped as nginx or JSON writes it (the message's own
// rules made the same change).
// holdsEscaped reports whether msg holds v in one of the escaped forms
// (escapers) that differ from v.
func (r *Redactor) holdsEscaped(msg, v []byte) bool {
	for k, esc := range escapers {
		if k == nginxJSON && !oddControls(v) {
			continue
		}
		r.needle = esc(r.needle[:0], v)
		if !bytes.Equal(r.needle, v) && bytes.Contains(msg, r.needle) {
			return true
		}
	}
	return false
}

func (r *Redactor) shows(msg []byte, c changedField) bool {
	if len(c.new) < shortNeedle || bytes.Contains(msg, c.new) {
		return true // a short value is no proof either way
	}
	if c.kind != sidetrail.KindString {
		return false
	}
	for k, esc := range escapers {
		if k == nginxJSON && !oddControls(c.new) {
			continue
		}
		r.needle = esc(r.needle[:0], c.new)
		if bytes.Contains(msg, r.needle) {
			return true
		}
	}
	return false
}

// hasKey reports whether a field other than fields[i] is named key.
func hasKey(fields []sidetrail.Field, i int, key string) bool {
	for j := range fields {
		if j != i && fields[j].Key == key {
			return true
		}
	}
	return false
}

// recoverApply is deferred by Apply: on a panic it withholds everything.
func (r *Redactor) recoverApply(rec *sidetrail.Record) {
	p := recover()
	if p == nil {
		return
	}
	r.c.failed.Add(1)
	r.jsonText = false
	if rec.TimeField.Value != nil {
		rec.Time = time.Time{} // it may hold what the rules would have masked
	}
	const marker = "[message withheld: redaction failed]"
	start := len(rec.Scratch)
	rec.Scratch = append(rec.Scratch, marker...)
	rec.Message = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
	start = len(rec.Scratch)
	rec.Scratch = append(rec.Scratch, maskToken...)
	tok := rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
	for i := range rec.Fields {
		if k := rec.Fields[i].Kind; k != sidetrail.KindNull && k != sidetrail.KindBool {
			rec.Fields[i].Kind, rec.Fields[i].Value = sidetrail.KindString, tok
		}
		if rec.KeysFromLine {
			rec.Fields[i].Key = "#" + strconv.Itoa(i+1) + " " + maskToken
		}
	}
	if !r.sh.panicked.Swap(true) {
		r.sh.logger.Error("redact: panic while redacting; record withheld (further cases are only counted in Stats.Failed)", "panic", fmt.Sprint(p))
	}
}

// endsInEscape reports whether a slice of m ending at end cuts a
// percent-escape ("%2|6" or "%|26").
func endsInEscape(m []byte, end int) bool {
	return end < len(m) && (m[end-1] == '%' || end >= 2 && m[end-2] == '%')
}

// within reports whether v is a slice of m's bytes (same backing array,
// inside m's length).
func within(m, v []byte) bool {
	_, ok := offsetIn(m, v)
	return ok
}

// offsetIn returns where v starts in m when v is a slice of m's bytes
// (same backing array, inside m's length).
func offsetIn(m, v []byte) (int, bool) {
	if len(v) == 0 || len(m) == 0 || cap(v) > cap(m) {
		return 0, false
	}
	off := cap(m) - cap(v)
	if off+len(v) > len(m) {
		return 0, false
	}
	return off, &m[:cap(m)][off] == &v[0]
}

// applyChain runs the value rules over v (a field named key, or the message
// when msg) until a pass changes nothing. mask has bit j set when rule j
// may match v as it is on entry: exactly (exact) or as an upper bound.
func (r *Redactor) applyChain(rec *sidetrail.Record, v []byte, key string, msg bool, mask uint64, exact, keyed bool) ([]byte, bool) {
	sh := r.sh
	need := mask & sh.allBits
	if !msg && keyed {
		need |= sh.keyedBits
	}
	if need == 0 {
		r.keptIn, r.keptOut = 0, 0
		return v, false // no rule can match: the common case
	}
	changed := false
	first := 0
	// kept: bearer_token rules that dropped a token from v. What they
	// leave is its scheme ("Bearer ", "Authorization: Basic "), which the
	// next pass took with the word after it for another token, until the
	// whole value was masked (redact22 P2: "from client" gone, then the
	// whole message): they do not run again over v.
	kept := r.keptIn
	r.keptIn = 0
	if len(sh.valueRules) < 64 {
		// First pass: only the rules the mask allows, while v is the value
		// the mask describes.
		for bits := need; bits != 0; bits &= bits - 1 {
			j := mathbits.TrailingZeros64(bits)
			ru := sh.valueRules[j]
			if !msg && !ru.targets(key) || kept&(1<<j) != 0 {
				continue
			}
			if (changed || !exact) && !(keyed && sh.keyedBits&(1<<j) != 0) && !ru.maybe(v) {
				continue
			}
			nv, n := r.applyRule(rec, ru, v, key)
			if msg && exact && !changed && !r.found {
				r.msgNoMatch |= 1 << j // on the original message
			}
			if n > 0 {
				v, changed = nv, true
				if ru.keepsScheme {
					kept |= 1 << j
				}
			}
		}
		if !changed {
			r.keptOut = kept
			return v, false
		}
		first = 1
	}
	// Further passes over every rule until nothing changes: a replacement
	// (or removal) may have made a new match.
	for pass := first; pass <= maxPasses; pass++ {
		passChanged := false
		// The rules' maybe(v) at once (the summary spares most of them),
		// again after each change.
		m := sh.maybeMask(v)
		for j, ru := range sh.valueRules {
			if !msg && !ru.targets(key) {
				continue
			}
			if j < 64 && kept&(1<<j) != 0 {
				continue
			}
			if !(keyed && ru.keyed(key)) {
				if j < 63 && m&(1<<j) == 0 || j >= 63 && !ru.maybe(v) {
					continue
				}
			}
			if nv, n := r.applyRule(rec, ru, v, key); n > 0 {
				v, passChanged = nv, true
				m = sh.maybeMask(v)
				if ru.keepsScheme && j < 64 {
					kept |= 1 << j
				}
			}
		}
		if !passChanged {
			break
		}
		changed = true
		if pass == maxPasses {
			// Still changing after maxPasses: replacements keep making new
			// matches (drop, or a template that rebuilds its match). Mask
			// the whole value rather than let a match through.
			start := len(rec.Scratch)
			rec.Scratch = append(rec.Scratch, maskToken...)
			v = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
		}
	}
	r.keptOut = kept
	return v, changed
}

// fieldKeyed is anyKeyed cached (see nameCache).
func (r *Redactor) fieldKeyed(key string) bool {
	if r.sh.keyedBits == 0 || key == "" {
		return false
	}
	if k, ok := r.keyed.lookup(key); ok {
		return k
	}
	k := r.anyKeyed(key)
	r.keyed.put(key, k)
	return k
}

// keyMask returns what a field key taken from the line becomes under the
// rules that apply to the message ("" and false when they leave it as it
// is), cached (see nameCache): the answer depends on the key alone.
func (r *Redactor) keyMask(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	m, ok := r.masked.lookup(key)
	if !ok {
		m = r.maskName(key)
		r.masked.put(key, m)
	}
	return m.name, m.changed
}

// maskName is keyMask uncached.
func (r *Redactor) maskName(key string) maskedName {
	r.keyRec.Reset()
	v, changed := r.applyChain(&r.keyRec, []byte(key), "", true, ^uint64(0), false, false)
	if !changed {
		return maskedName{}
	}
	return maskedName{name: string(v), changed: true}
}

type maskedName struct {
	name    string
	changed bool
}

// uniqueKey returns a masked member name made unique within the record:
// "#1 [REDACTED:email]", "#2 ...". Two names masked alike would otherwise
// be one key twice in an object, which Elasticsearch rejects. A prefix,
// not a suffix: after a masked "token=" or `"password":` a suffix would
// read as the secret's value.
func (r *Redactor) uniqueKey(masked []byte) string {
	r.keySeq++
	r.kbuf = strconv.AppendInt(append(r.kbuf[:0], '#'), int64(r.keySeq), 10)
	r.kbuf = append(append(r.kbuf, ' '), masked...)
	return string(r.kbuf)
}

// nameCache remembers what a check found for a field name: a parser gives
// the same few key strings record after record, and comparing a string
// with itself is a pointer comparison. It is a small hash table on the
// name's length and end bytes with linear probing, emptied when half full:
// names that collide both stay (with one slot per hash, two of a JSON
// line's dozen names sharing one missed on every record).
type nameCache[V any] struct {
	slots [nameCacheSize]nameSlot[V]
	n     int
}

type nameSlot[V any] struct {
	name string
	v    V
	set  bool
}

const nameCacheSize = 128

func nameHash(name string) uint {
	return uint(len(name))*5 + uint(name[0])*3 + uint(name[len(name)-1])*7
}

// lookup returns what was put for name. name is not empty.
func (c *nameCache[V]) lookup(name string) (V, bool) {
	for h := nameHash(name); ; h++ {
		e := &c.slots[h%nameCacheSize]
		if !e.set {
			var zero V
			return zero, false
		}
		if e.name == name {
			return e.v, true
		}
	}
}

// put remembers v for name, which lookup did not find.
func (c *nameCache[V]) put(name string, v V) {
	if c.n >= nameCacheSize/2 {
		clear(c.slots[:])
		c.n = 0
	}
	for h := nameHash(name); ; h++ {
		e := &c.slots[h%nameCacheSize]
		if !e.set {
			*e = nameSlot[V]{name: name, v: v, set: true}
			c.n++
			return
		}
	}
}

// keyedAbove returns the part of the dotted key before one of its dots that
// names a secret ("password" for "password.old"), or "".
func (r *Redactor) keyedAbove(key string) string {
	return dottedAbove(key, r.fieldKeyed)
}

// dottedAbove returns the first part of the dotted key before one of its
// dots ("a", then "a.b" for "a.b.c") that ok says yes to, or "".
func dottedAbove(key string, ok func(string) bool) string {
	for i := strings.IndexByte(key, '.'); i > 0; {
		if ok(key[:i]) {
			return key[:i]
		}
		j := strings.IndexByte(key[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return ""
}

// anyKeyed reports whether a rule wants the field key examined whatever
// its pre-filter says.
func (r *Redactor) anyKeyed(key string) bool {
	if key == "" {
		return false
	}
	for _, ru := range r.sh.keyed {
		if ru.keyed(key) {
			return true
		}
	}
	return false
}

// applyRule replaces every match of ru in v. It returns the new value (in
// rec.Scratch) and the number of replacements; v itself when there were
// none.
func (r *Redactor) applyRule(rec *sidetrail.Record, ru *rule, v []byte, key string) ([]byte, int) {
	if ru.kind == kindPattern {
		return r.applyPattern(rec, ru, v)
	}
	start, last, n := -1, 0, 0
	q := r.newQuote()
	r.vmemo.reset()
	r.fst = findState{vm: &r.vmemo}
	r.found = false
	for pos := 0; pos < len(v); {
		s, e0, ok := ru.det.find(v, pos, key, &r.fst)
		if !ok || e0 <= s || s < pos || e0 > len(v) {
			break
		}
		r.found = true
		pos = e0
		s, e, crossed, skip := q.place(v, s, e0)
		if start < 0 {
			start = len(rec.Scratch)
		}
		var repl []byte // a drop's is empty
		put := false
		// A JSON member's value that is no string becomes one: in a JSON
		// text numQuote quotes it, elsewhere (JSON inside a string, JSON
		// after a raw line's prefix) the detector says how.
		quote := r.fst.quote != "" && (r.fst.quote != `"` || !q.json)
		with := r.fst.quote
		if !quote && !skip && (!q.json || q.inString) {
			// A value rule's match that is a JSON member's whole number
			// where numQuote does not see JSON (after a raw line's
			// prefix, in JSON inside a string): the token went in bare,
			// and that JSON no longer parsed (regress17b L1).
			if with = memberNumberQuote(v, s, e); with != "" {
				quote = true
			}
		}
		if m := v[s:e]; !skip && !isToken(m) {
			repl = r.replacement(ru, m)
			if quote {
				repl = quoteWith(r.tmp2[:0], repl, with)
				r.tmp2 = repl
			}
			put = !bytes.Equal(repl, m)
		}
		q.raw = quote // escaped for where it goes already
		if r.putMatch(ru, &q, rec, v, &last, s, e, e0, crossed, put, repl) {
			n++
		}
		q.raw = false
		// A match that crossed its string's end masked whole the strings
		// it covered (maskCovered), the last one maybe past e0: the next
		// match starts after it. One inside it sliced backwards and the
		// redactor panicked: the record was withheld (regress17c R0).
		pos = max(pos, last)
	}
	if n == 0 {
		return v, 0
	}
	rec.Scratch = q.finish(rec.Scratch, v, last)
	r.c.rules[ru.idx].Add(uint64(n))
	end := len(rec.Scratch)
	return rec.Scratch[start:end:end], n
}

func (r *Redactor) applyPattern(rec *sidetrail.Record, ru *rule, v []byte) ([]byte, int) {
	find := func(b []byte) [][]int {
		if ru.tmpl != nil {
			return ru.re.FindAllSubmatchIndex(b, -1)
		}
		return ru.re.FindAllIndex(b, -1)
	}
	locs := find(v)
	r.found = len(locs) > 0
	start, last, n := -1, 0, 0
	q := r.newQuote()
	for _, loc := range locs {
		s, e0 := loc[0], loc[1]
		if e0 <= s || s < last {
			continue
		}
		src := v // what loc indexes, for a template
		s, e, crossed, skip := q.place(v, s, e0)
		if crossed && ru.tmpl != nil {
			// A template's groups are taken from the string's part alone.
			src, loc = v[s:e], ru.re.FindSubmatchIndex(v[s:e])
			if loc != nil && loc[0] != 0 {
				loc = nil
			}
		}
		if start < 0 {
			start = len(rec.Scratch)
		}
		if q.json && !q.inString && !skip && r.jsonText && bytes.ContainsAny(v[s:e0], `"{}[]:,`) {
			// A match over the punctuation of a JSON line (a pattern
			// over a member with its quotes, '"ssn":"[0-9-]+"'):
			// the fields parsed from the members it changed follow the
			// message (fieldsFollowMessage), which they did not: the
			// field shipped the value (redact22 P7). Unless the
			// replacement rebuilds the member ('"ssn":"[REDACTED]"'), the
			// strings and numbers it covers are masked and the structure
			// stays, as for a match that runs past a string's end, the
			// member names kept: "[REDACTED]" in place of the member
			// left no JSON. A drop too: taking the match whole left
			// the field its value and the message no JSON
			// (regress22b B4); a literal it covers stays.
			r.crossed = true
			if !ru.rebuilds {
				var k int
				rec.Scratch, last, k = maskCovered(&q, rec.Scratch, v, last, s, e0, false, func(c []byte) []byte { return r.replacement(ru, c) })
				if k > 0 {
					n++
				}
				continue
			}
		}
		var repl []byte // a drop's is empty
		put := false
		// A token is not the line's text: a pattern such as [A-Z]{6,}
		// rewrote "[REDACTED]", and the rules then chased each other until
		// the whole message was masked.
		if m := v[s:e]; !skip && !isToken(m) && !cutsToken(v, s, e) {
			switch {
			case ru.tmpl != nil && ru.act == actMask && loc != nil:
				r.tmp = ru.re.Expand(r.tmp[:0], ru.tmpl, src, loc)
				if crossed {
					// What the template's match leaves of the string's
					// part stays as it was.
					r.tmp = append(r.tmp, src[loc[1]:]...)
				}
				repl = r.tmp
			case ru.tmpl != nil && ru.act == actMask:
				// The pattern needs the text past the string to match:
				// its template has nothing to build from.
				r.tmp = append(r.tmp[:0], maskToken...)
				repl = r.tmp
			default:
				repl = r.replacement(ru, m)
			}
			put = !bytes.Equal(repl, m)
		}
		if put && r.onText && !q.json {
			// A pattern over the original text of a line with parsed
			// fields (nginx): the fields it covers follow (see
			// followCovered).
			c := coveredText{ru: ru, text: bytes.Clone(v[s:e]), s: -1}
			if len(v) == len(r.orig) && &v[0] == &r.orig[0] {
				c.s, c.e = s, e
			}
			r.covered = append(r.covered, c)
		}
		if r.putMatch(ru, &q, rec, v, &last, s, e, e0, crossed, put, repl) {
			n++
		}
	}
	if n == 0 {
		return v, 0
	}
	rec.Scratch = q.finish(rec.Scratch, v, last)
	r.c.rules[ru.idx].Add(uint64(n))
	end := len(rec.Scratch)
	return rec.Scratch[start:end:end], n
}

// coveredText is the text a pattern matched in a message (see
// followCovered).
type coveredText struct {
	ru   *rule
	text []byte
	// s, e: where it stands in the original message, when the pattern
	// ran over that (no rule before it changed the message); s < 0 when not.
	s, e int
}

// followCovered gives the rule's replacement to each parsed field whose
// value stands whole, as the line writes it, in the text a pattern matched
// in the message: a pattern written with what surrounds a value in the
// line ('"sess-[a-z0-9]+"' with the quotes of "$http_x_session", '- bob \['
// for $remote_user) finds nothing in the field's value alone, which then
// shipped what the message masked (redact22 P7). A value of one or two
// bytes counts only as all the match holds but punctuation and spaces. The
// rule's fields limit it, and a value the line holds outside the matches
// too is not the one matched: a status 200 beside "ref=200" stays
// (regress22 R1: it shipped "[REDACTED]", a string in one record). Where
// the parser took the value from the original message's bytes and the
// match covered them there, that is the value matched, whatever else holds
// the same (regress22b B5: a User-Agent repeating a session header's value
// unmasked the header's field).
func (r *Redactor) followCovered(rec *sidetrail.Record) bool {
	changed := false
	give := func(f *sidetrail.Field, c coveredText) {
		repl := r.replacement(c.ru, f.Value)
		start := len(rec.Scratch)
		rec.Scratch = append(rec.Scratch, repl...)
		f.Value, f.Kind = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)], sidetrail.KindString
		r.c.rules[c.ru.idx].Add(1)
		changed = true
	}
fields:
	for i := range rec.Fields[:len(rec.Fields)-rec.Statics] {
		f := &rec.Fields[i]
		if f.Kind != sidetrail.KindString && f.Kind != sidetrail.KindInt && f.Kind != sidetrail.KindFloat || len(f.Value) == 0 {
			continue
		}
		if off, ok := offsetIn(r.orig, f.Value); ok {
			for _, c := range r.covered {
				if c.s >= 0 && c.s <= off && off+len(f.Value) <= c.e && c.ru.targets(f.Key) {
					give(f, c)
					continue fields
				}
			}
		}
		inside := 0
		for _, c := range r.covered {
			inside += countWhole(c.text, f.Value)
		}
		if inside == 0 || countWhole(r.orig, f.Value) > inside {
			continue
		}
		for _, c := range r.covered {
			if c.ru.targets(f.Key) && standsWhole(c.text, f.Value) {
				give(f, c)
				break
			}
		}
	}
	r.covered = r.covered[:0]
	return changed
}

// countWhole counts where v stands whole in text (see standsWhole), at
// most 64 places.
func countWhole(text, v []byte) int {
	n := 0
	for p := 0; p+len(v) <= len(text) && n < 64; {
		k := bytes.Index(text[p:], v)
		if k < 0 {
			break
		}
		k += p
		if (k == 0 || !isAlnum(text[k-1])) && (k+len(v) == len(text) || !isAlnum(text[k+len(v)])) {
			n++
		}
		p = k + 1
	}
	return n
}

// standsWhole reports whether v occurs in text with no letter or digit
// glued to it on either side (a v of one or two bytes: whether it is all
// of text but what is neither letter nor digit).
func standsWhole(text, v []byte) bool {
	if len(v) < 3 {
		return bytes.Equal(bytes.TrimFunc(text, func(c rune) bool { return c >= utf8.RuneSelf || !isAlnum(byte(c)) }), v)
	}
	return countWhole(text, v) > 0
}

// textJSON reports whether a message, orig as read, is to be rewritten as
// JSON: whether it looked like JSON as read. A mask token ("[HASH:…]")
// put at the start of a text makes it look like JSON, and rewritten so, a
// "string" without its closing quote got one, with its escapes decoded:
// "\n" and "\u00400.AA" became the e-mail "n@0.AA" (FuzzRedact). Validity
// is not asked: a JSON line with a raw control byte is not valid JSON, and
// the escapes in its strings ("jane\u0040example.com") still hide secrets
// (regress11: five of twelve such lines shipped them). A text starting
// with a token is no JSON: run again over its own output, the rewrite
// changed it.
func textJSON(orig []byte) bool {
	if !looksJSON(orig) {
		return false
	}
	i := 0
	for i < len(orig) && is(orig[i], cSpace) {
		i++
	}
	j := bytes.IndexByte(orig[i:], ']')
	return orig[i] != '[' || j < 0 || !isToken(orig[i:i+j+1])
}

// jsonLine reports whether rec's message is a JSON line the parser read
// (valid JSON, which the parser has checked).
func jsonLine(rec *sidetrail.Record) bool {
	return rec.KeysFromLine && rec.Flags&sidetrail.FlagParseFailure == 0 && looksJSON(rec.Message)
}

// newQuote returns the numQuote for a rewrite of the value the chain runs
// over: one that knows the value is JSON when it is a JSON line's message
// (jsonText), else one that finds out (json.Valid) at the first match.
func (r *Redactor) newQuote() numQuote {
	if r.jsonText {
		return numQuote{checked: true, json: true}
	}
	return numQuote{}
}

// putMatch writes repl in place of v[s:e] (when put) and,
// for a match that crossed its JSON string's end on its way to e0, masks
// what it covered (maskCovered). It reports whether it wrote anything.
func (r *Redactor) putMatch(ru *rule, q *numQuote, rec *sidetrail.Record, v []byte, last *int, s, e, e0 int, crossed, put bool, repl []byte) bool {
	wrote := false
	if put {
		rec.Scratch = q.add(rec.Scratch, v, *last, s, e, repl)
		*last, wrote = e, true
	}
	if crossed {
		r.crossed = true
		var k int
		rec.Scratch, *last, k = maskCovered(q, rec.Scratch, v, *last, e+1, e0, true, func(c []byte) []byte { return r.replacement(ru, c) })
		wrote = wrote || k > 0
	}
	return wrote
}

// maskCovered masks, after a match that ran from a JSON string past its end
// (to end), every string and number it covers from index from on (member
// names only if keys: two of one object masked alike were one key twice,
// regress22 R2): each
// gets repl of it (the rule's replacement: a mask token, a hash, nothing),
// so that nothing the match took in ships and the text stays JSON. It
// returns out, the new last and how many it masked.
func maskCovered(q *numQuote, out, v []byte, last, from, end int, keys bool, repl func(c []byte) []byte) ([]byte, int, int) {
	n := 0
	for i := from; i < end; {
		t, next, ok := nextJSONToken(v, i)
		if !ok {
			break
		}
		if ts := t.s - btoi(t.str); ts >= end {
			break
		}
		i = next
		q.place(v, t.s, t.e)
		c := v[t.s:t.e]
		if len(c) == 0 || isToken(c) || !keys && t.key {
			continue
		}
		rc := repl(c)
		if bytes.Equal(rc, c) {
			continue
		}
		out = q.add(out, v, last, t.s, t.e, rc)
		last = t.e
		n++
	}
	return out, last, n
}

// memberNumberQuote returns, when v[s:e] is the whole number value of a
// JSON member ("n":4111…, \"n\": 4111…, \x22n\x22:4111…), the quote of
// that member's name, which the replacement is to be put in; else "".
func memberNumberQuote(v []byte, s, e int) string {
	if s == 0 || e <= s || s > 0 && isNumberByte(v[s-1]) || e < len(v) && isNumberByte(v[e]) {
		return ""
	}
	for _, c := range v[s:e] {
		if !isNumberByte(c) {
			return ""
		}
	}
	a := e
	for a < len(v) && isJSONSpace(v[a]) {
		a++
	}
	if a < len(v) && v[a] != ',' && v[a] != '}' && v[a] != ']' && v[a] != '\\' {
		return ""
	}
	j := s - 1
	for j > 0 && isJSONSpace(v[j]) {
		j--
	}
	if v[j] != ':' {
		return ""
	}
	ke, ok := nameQuoteBefore(v, 0, j)
	if !ok {
		return ""
	}
	quote := quoteAt(v, ke)
	lvl, nameEnd := 0, ke
	if quote == `"` {
		lvl = backslashesBefore(v, 0, ke)
		if lvl > 0 && (lvl+1)&lvl != 0 {
			return ""
		}
		quote, nameEnd = levelQuote(lvl), ke-lvl
	}
	// A member's name: back to its opening quote, of the same kind, after
	// '{' or ','. A string holding ':' before a number
	// ({"b":":4111…"}) read as one, and the quotes put in broke the JSON
	// (regress17c R2).
	ns := nameStart(v, 0, ke, nameEnd)
	if ns == nameEnd || !quoteEndsAt(v, 0, ns, ke) || v[ke] == '"' && backslashesBefore(v, 0, ns-1) != lvl {
		return "" // no opening quote, or one of another level
	}
	os := ns - len(quote)
	for os > 0 && isJSONSpace(v[os-1]) {
		os--
	}
	if os > 0 && v[os-1] != '{' && v[os-1] != ',' {
		return ""
	}
	return quote
}

// quoteWith appends repl (a builtin's replacement: a token, a hash,
// nothing) to out as a string in quote (findState.quote: `\"[REDACTED]\"`
// in JSON inside a string).
func quoteWith(out, repl []byte, quote string) []byte {
	out = append(out, quote...)
	out = append(out, repl...)
	return append(out, quote...)
}

// replacement returns what replaces the match m of ru, in r.tmp (valid
// until the next call).
func (r *Redactor) replacement(ru *rule, m []byte) []byte {
	switch ru.act {
	case actHash:
		r.tmp = r.appendHash(r.tmp[:0], ru, r.canonical(ru, m))
	case actDrop:
		r.tmp = r.tmp[:0]
	case actTruncate:
		if ru.builtin == BuiltinIPv4 {
			r.tmp = truncateIPv4(r.tmp[:0], m)
		} else {
			r.tmp = truncateIPv6(r.tmp[:0], m)
		}
	default:
		r.tmp = append(r.tmp[:0], ru.maskTok...)
	}
	return r.tmp
}

// canonical returns what a builtin's match is hashed as: one address
// written several ways is one value, so that it gets one token an auditor
// can follow. An e-mail address is lower-cased with "%40" as "@"; an IP
// address is in its canonical text ("2001:DB8:0:0::1" is "2001:db8::1").
// Anything else is hashed as it is.
func (r *Redactor) canonical(ru *rule, m []byte) []byte {
	switch ru.builtin {
	case BuiltinEmail:
		// Escapes decoded, as often as they nest (nginx writes a JSON
		// body's "\u00fc" as "\x5Cu00fc"), then letters in lower case.
		cur := m
		for range 3 {
			next, changed := appendUnescaped(r.canon2[:0], cur)
			r.canon2 = next
			if !changed {
				break
			}
			r.canon, r.canon2 = r.canon2, r.canon
			cur = r.canon
		}
		r.canon2 = appendLower(r.canon2[:0], cur)
		r.canon, r.canon2 = r.canon2, r.canon
		return r.canon
	case BuiltinIPv4, BuiltinIPv6:
		if a, err := netip.ParseAddr(string(m)); err == nil {
			r.canon = a.Unmap().AppendTo(r.canon[:0])
			return r.canon
		}
	}
	return m
}

// appendUnescaped appends m with its percent-escapes, nginx's "\xXX" and
// JSON's "\uXXXX" decoded, and reports whether there was any.
func appendUnescaped(dst, m []byte) ([]byte, bool) {
	changed := false
	for i := 0; i < len(m); i++ {
		c := m[i]
		switch {
		case c == '%' && i+2 < len(m) && is(m[i+1], cHex) && is(m[i+2], cHex):
			dst = append(dst, unhex(m[i+1])<<4|unhex(m[i+2]))
			i += 2
			changed = true
			continue
		case c == '\\' && i+3 < len(m) && m[i+1] == 'x' && is(m[i+2], cHex) && is(m[i+3], cHex):
			dst = append(dst, unhex(m[i+2])<<4|unhex(m[i+3]))
			i += 3
			changed = true
			continue
		case c == '\\' && i+5 < len(m) && m[i+1] == 'u':
			if r, ok := hex4(m, i+2); ok {
				n := 5
				if utf16.IsSurrogate(r) && i+11 < len(m) && m[i+6] == '\\' && m[i+7] == 'u' {
					if r2, ok := hex4(m, i+8); ok {
						if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
							r, n = p, 11
						}
					}
				}
				dst = utf8.AppendRune(dst, r)
				i += n
				changed = true
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst, changed
}

// appendLower appends m in lower case: ASCII letters always, letters beyond
// ASCII when m is UTF-8 (other bytes are kept as they are).
func appendLower(dst, m []byte) []byte {
	ascii := true
	for _, c := range m {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii || !utf8.Valid(m) {
		for _, c := range m {
			dst = append(dst, lower(c))
		}
		return dst
	}
	for i := 0; i < len(m); {
		r, n := utf8.DecodeRune(m[i:])
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += n
	}
	return dst
}

// appendHash appends "[HASH:" + the first 16 hex digits of
// HMAC-SHA256(key, m) + "]".
func (r *Redactor) appendHash(dst []byte, ru *rule, m []byte) []byte {
	ms := &r.macs[ru.idx]
	ms.h.Reset()
	ms.h.Write(m)
	ms.sum = ms.h.Sum(ms.sum[:0])
	dst = append(dst, hashPrefix...)
	dst = hex.AppendEncode(dst, ms.sum[:hashHexChars/2])
	return append(dst, ']')
}

// cutsToken reports whether v[s:e] cuts a replacement token in v: holds
// part of one, not all of it. (A match holding whole tokens is the line's
// text around them, and is replaced.)
func cutsToken(v []byte, s, e int) bool {
	const longest = 40 // longer than any token
	for i := max(0, s-longest); i < e; i++ {
		k := bytes.IndexByte(v[i:e], '[')
		if k < 0 {
			return false
		}
		i += k
		end := bytes.IndexByte(v[i:min(len(v), i+longest)], ']')
		if end < 0 {
			continue
		}
		te := i + end + 1
		if te > s && (i < s || te > e) && isToken(v[i:te]) {
			return true
		}
	}
	return false
}

// isToken reports whether m is exactly a replacement token: "[REDACTED]",
// "[REDACTED:name]" or "[HASH:" 16 hex "]". Such a match is not redacted
// again.
// tokenAt returns the length of the replacement token that starts at
// b[i:] (see isToken), or 0. It reads no further than the token.
func tokenAt(b []byte, i int) int {
	r := b[i:]
	switch {
	case bytes.HasPrefix(r, []byte(maskToken)):
		return len(maskToken)
	case bytes.HasPrefix(r, []byte(maskPrefix)):
		k := len(maskPrefix)
		for k < len(r) && (r[k] >= 'a' && r[k] <= 'z' || r[k] >= '0' && r[k] <= '9' || r[k] == '_') {
			k++
		}
		if k > len(maskPrefix) && k < len(r) && r[k] == ']' {
			return k + 1
		}
	case bytes.HasPrefix(r, []byte(hashPrefix)):
		k := len(hashPrefix)
		for k < len(r) && k-len(hashPrefix) < hashHexChars && (r[k] >= 'a' && r[k] <= 'f' || r[k] >= '0' && r[k] <= '9') {
			k++
		}
		if k == len(hashPrefix)+hashHexChars && k < len(r) && r[k] == ']' {
			return k + 1
		}
	}
	return 0
}

func isToken(m []byte) bool {
	if len(m) < len(maskToken) || m[0] != '[' || m[len(m)-1] != ']' {
		return false
	}
	s := string(m)
	switch {
	case s == maskToken:
		return true
	case len(s) > len(maskPrefix)+1 && s[:len(maskPrefix)] == maskPrefix:
		for i := len(maskPrefix); i < len(s)-1; i++ {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
		return true
	case len(s) == len(hashPrefix)+hashHexChars+1 && s[:len(hashPrefix)] == hashPrefix:
		for i := len(hashPrefix); i < len(s)-1; i++ {
			c := s[i]
			if !(c >= 'a' && c <= 'f' || c >= '0' && c <= '9') {
				return false
			}
		}
		return true
	}
	return false
}

// ---- field rules -----------------------------------------------------

// ApplyFieldRules runs the field rules alone: it takes the values of rec's
// fields they name out of its message (and redacts those fields). It is
// for a line the parser could only guess a split of (parser.Error.Guessed):
// its fields do not ship, but a client could otherwise make the values the
// field rules protect ship in its message (parser17 A2). The caller then
// drops the fields and runs Apply over the rest, which counts what the
// value rules find there; run over the guess, they counted matches in
// fields that never shipped (regress17b A2). Like Apply, it never panics.
func (r *Redactor) ApplyFieldRules(rec *sidetrail.Record) {
	if len(r.sh.fieldRules) == 0 {
		return
	}
	defer r.recoverApply(rec)
	r.msgNoMatch = 0
	r.keySeq = 0
	r.changed = r.changed[:0]
	r.applyFieldRules(rec)
}

// applyFieldRules redacts the fields named by field rules and takes their
// values out of the message. It reports whether anything changed and
// whether the message was withheld.
func (r *Redactor) applyFieldRules(rec *sidetrail.Record) (changed, withheld bool) {
	orig := rec.Message
	r.spans = r.spans[:0]
	r.drops = r.drops[:0]
	r.fvals = r.fvals[:0]
	r.locLeft, r.overLoc = locateBudget(len(orig)), false
	var withholdBy *rule
	for _, ru := range r.sh.fieldRules {
		r.curRule = ru
		for i := range rec.Fields {
			f := &rec.Fields[i]
			// The line's key, not the one the parser gave it ("user.email"
			// beside "user" is written "user_email"; regress13b N1).
			key := lineKey(rec, f.Key)
			if !reaches(key, ru.field) && !(rec.KeysFromLine && (renamedOwn(key, ru.field) || flattened(key, ru.field))) {
				if below(ru.field, key) && rec.KeysFromLine && looksJSON(orig) && i < len(rec.Fields)-rec.Statics {
					r.repeatedParents(rec, ru, orig, key, f.Value)
				}
				if f.Kind == sidetrail.KindJSON {
					// "client.ip" names a member of the JSON value "client"
					// as much as a flat key "client.ip": the record JSON
					// writes both the same way. So does "source.ip" one
					// of the JSON value the parser renamed "json.source"
					// (a key that meets the record's own): it shipped,
					// where the flat "source.ip" was dropped (parser17 G).
					own := key
					if k, ok := unrenamedOwn(key); ok && rec.KeysFromLine && below(ru.field, k) {
						own = k
					}
					if below(ru.field, own) && r.nestedFieldRule(rec, ru, f, ru.field[len(own)+1:], orig, &withholdBy) {
						changed = true
					}
				}
				continue
			}
			v := f.Value
			if isToken(v) {
				continue // already redacted (Apply run twice): keep it
			}
			if ru.act != actDrop && (len(v) == 0 || f.Kind == sidetrail.KindNull) {
				// Nothing to hide: a token for every empty value read as
				// one pseudonym for every anonymous request, and the
				// message kept "" (parser11).
				continue
			}
			repl := r.fieldRepl(rec, ru, v)
			// A static field's value is the configuration's, not the
			// line's: not to be found in the message, where looking for it
			// withheld every line's message (a rule for nginx_error's host
			// met a static host on another source).
			static := i >= len(rec.Fields)-rec.Statics
			if f.Kind != sidetrail.KindNull && !unlocatable(v) && !static {
				if !r.locate(orig, v, f.Kind, repl) && withholdBy == nil {
					withholdBy = ru
				}
				if f.Kind != sidetrail.KindBool { // every other true is not this one
					r.fvals = append(r.fvals, span{repl: repl, v: v})
				}
				if f.Kind == sidetrail.KindString {
					r.percentForms(rec, v, repl)
				}
			}
			if f.Kind == sidetrail.KindJSON && !static {
				// The values inside the object or array the rule takes
				// stand on their own elsewhere too: an error message
				// quoting the token of an "auth" object shipped where
				// "field: auth.token" took it (redact22 P1).
				r.leafValues(rec, ru, orig, v)
			}
			if rec.KeysFromLine && looksJSON(orig) && !static {
				r.repeatedMembers(rec, ru, orig, v)
			}
			if ru.act == actDrop {
				r.drops = append(r.drops, i)
			} else {
				f.Value, f.Kind = repl, sidetrail.KindString
			}
			r.c.rules[ru.idx].Add(1)
			changed = true
		}
	}
	if len(r.drops) > 0 {
		r.dropFields(rec)
	}
	if len(r.fvals) > 0 {
		r.scrubOtherFields(rec)
	}
	if r.overLoc && withholdBy == nil {
		withholdBy = r.overBy
	}
	if withholdBy != nil {
		start := len(rec.Scratch)
		rec.Scratch = append(rec.Scratch, withholdBy.withheld...)
		rec.Message = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
		r.c.withheld.Add(1)
		if !r.sh.warned[withholdBy.idx].Swap(true) {
			if r.overLoc && withholdBy == r.overBy {
				// Not "could not be found" (regress19c R4, redact20 F7).
				r.sh.logger.Warn("redact: too many values to look up in the message (the lookup budget); message withheld (further cases are only counted)",
					"rule", withholdBy.name, "field", withholdBy.field, "message_bytes", len(orig))
			} else {
				r.sh.logger.Warn("redact: a field's value could not be found in the message; message withheld (further cases are only counted)",
					"rule", withholdBy.name, "field", withholdBy.field)
			}
		}
		return true, true
	}
	if len(r.spans) > 0 {
		rec.Message = r.rewrite(rec, orig)
	}
	return changed, false
}

// nestedFieldRule applies field rule ru to the member at path (dotted)
// inside the JSON value of f: a string or number is replaced as the rule
// replaces (dropped: made ""), an object or array is replaced whole, and
// the old value is taken out of the message as for a top-level field. It
// reports whether it changed anything.
func (r *Redactor) nestedFieldRule(rec *sidetrail.Record, ru *rule, f *sidetrail.Field, path string, orig []byte, withholdBy **rule) bool {
	r.members = findMembers(f.Value, skipJSONSpace(f.Value, 0), path, r.members[:0])
	var out []byte // fieldRepl appends to rec.Scratch meanwhile
	last, n := 0, 0
	for _, m := range r.members {
		vs, ve := m[0], m[1]
		raw := f.Value[vs:ve]
		v, kind := raw, sidetrail.KindJSON
		switch {
		case raw[0] == '"':
			v, kind = appendUnescapeJSON(nil, raw[1:len(raw)-1]), sidetrail.KindString
		case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
			kind = sidetrail.KindInt
		case raw[0] != '{' && raw[0] != '[':
			continue // true, false, null: nothing to hide
		}
		if isToken(v) {
			continue
		}
		repl := r.fieldRepl(rec, ru, v)
		if !unlocatable(v) {
			if !r.locate(orig, v, kind, repl) && *withholdBy == nil {
				*withholdBy = ru
			}
			r.fvals = append(r.fvals, span{repl: repl, v: v})
		}
		out = append(out, f.Value[last:vs]...)
		out = sidetrail.AppendJSONString(out, repl)
		last = ve
		n++
	}
	if n == 0 {
		return false
	}
	out = append(out, f.Value[last:]...)
	start := len(rec.Scratch)
	rec.Scratch = append(rec.Scratch, out...)
	f.Value = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
	r.c.rules[ru.idx].Add(uint64(n))
	return true
}

// findMembers appends the spans of every value at path (dotted) in the
// JSON value starting at b[i], in order: in an object, a member named path
// or a dotted name below it ("ip.x" for "ip"), or one named a dotted
// prefix of path whose value holds the rest; in an
// array, the same in each element (Elasticsearch, Loki's | json and jq
// name a member of an array's objects payments.iban too).
func findMembers(b []byte, i int, path string, out [][2]int) [][2]int {
	if i >= len(b) {
		return out
	}
	switch b[i] {
	case '[':
		for i = skipJSONSpace(b, i+1); i < len(b) && b[i] != ']'; {
			ve, ok := skipValue(b, i)
			if !ok {
				return out
			}
			out = findMembers(b[:ve], i, path, out)
			i = skipJSONSpace(b, ve)
			if i < len(b) && b[i] == ',' {
				i = skipJSONSpace(b, i+1)
			}
		}
		return out
	case '{':
	default:
		return out
	}
	var name []byte
	for i++; ; {
		t, vs, ve, next, ok := nextMember(b, i)
		if !ok {
			return out
		}
		name = append(name[:0], b[t.s:t.e]...)
		if t.esc {
			name = appendUnescapeJSON(name[:0], b[t.s:t.e])
		}
		switch {
		case string(name) == path || below(string(name), path):
			// A member below path written flat in its parent
			// ({"ip.x":…} for ip) is inside it in the record JSON
			// (redact14 F2).
			out = append(out, [2]int{vs, ve})
		case len(path) > len(name) && path[len(name)] == '.' && path[:len(name)] == string(name):
			out = findMembers(b[:ve], vs, path[len(name)+1:], out)
		}
		i = next
	}
}

// nextMember reads the object member whose name starts at b[i] (after
// white space): the name's token, the value's span, and where the next
// member starts (past the ','; b's end after the last). ok is false when
// no member starts there.
func nextMember(b []byte, i int) (name jsonToken, vs, ve, next int, ok bool) {
	i = skipJSONSpace(b, i)
	if i >= len(b) || b[i] != '"' {
		return name, 0, 0, 0, false
	}
	t, n, ok := nextJSONToken(b, i)
	if !ok || !t.str {
		return name, 0, 0, 0, false
	}
	i = skipJSONSpace(b, n)
	if i >= len(b) || b[i] != ':' {
		return name, 0, 0, 0, false
	}
	vs = skipJSONSpace(b, i+1)
	if ve, ok = skipValue(b, vs); !ok {
		return name, 0, 0, 0, false
	}
	next = skipJSONSpace(b, ve)
	if next < len(b) && b[next] == ',' {
		next++
	} else {
		next = len(b)
	}
	return t, vs, ve, next, true
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		_, next, ok := nextJSONToken(b, i)
		return next, ok && next <= len(b) && b[next-1] == '"'
	case '{', '[':
		return bracketEnd(b, i, false)
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\r' && b[j] != '\n' {
			j++
		}
		return j, j > i
	}
}

// repeatedMembers adds a span for the value of every other top-level member
// of the JSON message named like ru's field: a key the line repeats, of
// which the parser kept the last value (kept), the others being only in the
// message. A string's content or a number is replaced as the field rule
// replaces (a number by a string); an object or array is left to the rules
// that run after.
func (r *Redactor) repeatedMembers(rec *sidetrail.Record, ru *rule, msg, kept []byte) {
	depth, prev := 0, 0
	for i := 0; ; {
		t, next, ok := nextJSONToken(msg, i)
		if !ok {
			return
		}
		start := t.s
		if t.str {
			start--
		}
		for _, c := range msg[prev:start] {
			switch c {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
		}
		i, prev = next, next
		if !t.key || depth != 1 {
			continue
		}
		name := msg[t.s:t.e]
		if t.esc {
			r.unesc = appendUnescapeJSON(r.unesc[:0], name)
			name = r.unesc
		}
		if string(name) != ru.field {
			continue
		}
		p := next
		for p < len(msg) && (msg[p] == ' ' || msg[p] == '\t' || msg[p] == '\r' || msg[p] == '\n' || msg[p] == ':') {
			p++
		}
		v, vnext, ok := nextJSONToken(msg, p)
		if !ok {
			return
		}
		if vs := v.s - btoi(v.str); vs != p {
			// An object or array (zap writes a key twice, the earlier
			// copy's secret shipped in the message; redact22 P9): taken
			// whole, and the values in it wherever else they stand. A
			// literal is left.
			if p < len(msg) && (msg[p] == '{' || msg[p] == '[') {
				end, ok := skipValue(msg, p)
				if !ok {
					return
				}
				i, prev = end, end
				if obj := msg[p:end]; !bytes.Equal(obj, kept) {
					r.spans = append(r.spans, span{s: p, e: end, repl: r.fieldRepl(rec, ru, obj)})
					r.leafValues(rec, ru, msg, obj)
				}
			}
			continue
		}
		content := msg[v.s:v.e]
		if v.esc {
			r.unesc = appendUnescapeJSON(r.unesc[:0], content)
			content = r.unesc
		}
		i, prev = vnext, vnext
		if bytes.Equal(content, kept) {
			continue // the value the field held: located already
		}
		// A number's replacement is quoted by rewrite.
		repl := r.fieldRepl(rec, ru, content)
		r.spans = append(r.spans, span{s: v.s, e: v.e, repl: repl})
		// The earlier value may stand elsewhere too, in the message and
		// in other fields, as the kept one may (redact12 F14: "by alicex"
		// shipped in a note).
		c := bytes.Clone(content)
		kind := sidetrail.KindString
		if !v.str {
			kind = sidetrail.KindInt
		}
		if !unlocatable(c) {
			r.locate(msg, c, kind, repl)
			r.fvals = append(r.fvals, span{repl: repl, v: c})
		}
	}
}

// percentForms adds v percent-encoded in each of pctForms, and with
// lower-case hex digits, to r.fvals with v's replacement repl: the other
// fields hold it so in URLs.
func (r *Redactor) percentForms(rec *sidetrail.Record, v, repl []byte) {
	var done [len(pctForms)][]byte
	for k, form := range pctForms {
		start := len(rec.Scratch)
		rec.Scratch = appendPercent(rec.Scratch, v, form)
		e := rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
		if bytes.Equal(e, v) || slices.ContainsFunc(done[:k], func(d []byte) bool { return bytes.Equal(d, e) }) {
			rec.Scratch = rec.Scratch[:start]
			continue
		}
		done[k] = e
		r.fvals = append(r.fvals, span{repl: repl, v: e})
		start = len(rec.Scratch)
		rec.Scratch = append(rec.Scratch, e...)
		if l := rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]; lowerPercentHex(l) {
			r.fvals = append(r.fvals, span{repl: repl, v: l})
		} else {
			rec.Scratch = rec.Scratch[:start]
		}
	}
}

// maxLeaves bounds how many values inside one JSON value leafValues takes.
const maxLeaves = 64

// minLeaf is the length from which a value inside an object or array a
// field rule takes is taken wherever else it stands: a config object's
// short words ("read", "info", "true", 8080) blanked unrelated fields and
// every JSON literal false in the message (regress22b B3).
const minLeaf = 8

// leafValues takes the strings and numbers of shortNeedle bytes or more in
// the JSON value obj, which rule ru takes whole, out of the message and of
// the other fields wherever they stand (as a field rule's value is), each
// replaced by the rule's replacement of it.
func (r *Redactor) leafValues(rec *sidetrail.Record, ru *rule, msg, obj []byte) {
	n := 0
	for i := 0; n < maxLeaves; {
		t, next, ok := nextJSONToken(obj, i)
		if !ok {
			return
		}
		i = next
		if t.key {
			continue
		}
		c := obj[t.s:t.e]
		if t.esc {
			c = appendUnescapeJSON(nil, c)
		} else {
			c = bytes.Clone(c)
		}
		if len(c) < minLeaf || isToken(c) {
			continue
		}
		n++
		kind := sidetrail.KindString
		if !t.str {
			kind = sidetrail.KindInt
		}
		repl := r.fieldRepl(rec, ru, c)
		r.locate(msg, c, kind, repl)
		r.fvals = append(r.fvals, span{repl: repl, v: c})
		if kind == sidetrail.KindString {
			// As URLs write it (regress22b B1: the message lost
			// "ACCT%20R7", the field shipped it).
			r.percentForms(rec, c, repl)
		}
	}
}

// repeatedParents takes, for rule ru naming a member below the top-level
// key own (field: user.ssn), that member's value out of the message in the
// copies of own the line repeats before the last, which the field (the
// last copy) never showed: zap writes a key twice, and the earlier copy's
// value shipped (redact22 P9). kept is the field's value before the rule.
func (r *Redactor) repeatedParents(rec *sidetrail.Record, ru *rule, msg []byte, own string, kept []byte) {
	path := strings.Split(ru.field[len(own)+1:], ".")
	eachMember(msg, skipJSONSpace(msg, 0), len(msg), func(name []byte, vs, ve int) bool {
		if string(name) != own || bytes.Equal(msg[vs:ve], kept) {
			return true
		}
		r.walkPath(rec, ru, msg, vs, ve, path, 0)
		return true
	})
}

// walkPath takes the values at path below msg[s:e] (see repeatedParents),
// in the objects of an array too, as a dotted name reaches them
// (regress22b B2: an earlier copy that was an array of objects shipped).
// depth counts the arrays entered, at most 64.
func (r *Redactor) walkPath(rec *sidetrail.Record, ru *rule, msg []byte, s, e int, path []string, depth int) {
	if len(path) == 0 {
		r.takeEarlierCopy(rec, ru, msg, s, e)
		return
	}
	switch msg[s] {
	case '{':
		eachMember(msg, s, e, func(name []byte, vs, ve int) bool {
			if string(name) == path[0] {
				r.walkPath(rec, ru, msg, vs, ve, path[1:], depth)
			}
			return true
		})
	case '[':
		if depth >= 64 {
			return
		}
		for i := skipJSONSpace(msg, s+1); i < e && msg[i] != ']'; {
			ve, ok := skipValue(msg[:e], i)
			if !ok {
				return
			}
			r.walkPath(rec, ru, msg, i, ve, path, depth+1)
			i = skipJSONSpace(msg, ve)
			if i < e && msg[i] == ',' {
				i = skipJSONSpace(msg, i+1)
			}
		}
	}
}

// eachMember calls fn with the name (unescaped) and value span of each
// member of the JSON object at b[i] that ends by end, until fn returns
// false; b[i] that is no '{' has none.
func eachMember(b []byte, i, end int, fn func(name []byte, vs, ve int) bool) {
	if i >= end || b[i] != '{' {
		return
	}
	for i++; ; {
		t, vs, ve, next, ok := nextMember(b[:end], i)
		if !ok {
			return
		}
		i = next
		name := b[t.s:t.e]
		if t.esc {
			name = appendUnescapeJSON(nil, name)
		}
		if !fn(name, vs, ve) {
			return
		}
	}
}

// takeEarlierCopy takes the value msg[s:e] of an earlier copy out of the
// message and, by its values, of the other fields (see repeatedParents).
func (r *Redactor) takeEarlierCopy(rec *sidetrail.Record, ru *rule, msg []byte, s, e int) {
	v := msg[s:e]
	switch {
	case v[0] == '{' || v[0] == '[':
		r.spans = append(r.spans, span{s: s, e: e, repl: r.fieldRepl(rec, ru, v)})
		r.leafValues(rec, ru, msg, v)
	case v[0] == '"' || v[0] == '-' || v[0] >= '0' && v[0] <= '9':
		content, kind := jsonScalar(v)
		if v[0] == '"' {
			s, e = s+1, e-1
		}
		repl := r.fieldRepl(rec, ru, content)
		r.spans = append(r.spans, span{s: s, e: e, repl: repl})
		if c := bytes.Clone(content); !unlocatable(c) {
			r.locate(msg, c, kind, repl)
			r.fvals = append(r.fvals, span{repl: repl, v: c})
			if kind == sidetrail.KindString {
				r.percentForms(rec, c, repl)
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendPercent appends v percent-encoded as url.QueryEscape (path
// false: space as '+') or url.PathEscape (path true: space as %20) writes
// it, without their string allocations.
func appendPercent(dst, v []byte, form pctForm) []byte {
	const hexUpper = "0123456789ABCDEF"
	for _, c := range v {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~':
			dst = append(dst, c)
		case form == pctPath && (c == '$' || c == '&' || c == '+' || c == ':' || c == '=' || c == '@'):
			dst = append(dst, c)
		case form == pctSlash && c == '/':
			dst = append(dst, c)
		case form == pctQuery && c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return dst
}

// pctForm is a way of percent-encoding a value (appendPercent).
type pctForm uint8

const (
	pctQuery  pctForm = iota // url.QueryEscape: space as '+'
	pctPath                  // url.PathEscape: space as %20, $&+:=@ kept
	pctStrict                // RFC 3986's unreserved kept, all else encoded: PHP's rawurlencode, JavaScript's encodeURIComponent (but for !*'()), Java's URLEncoder after its '+' is fixed
	pctSlash                 // pctStrict with '/' kept: Python's urllib.parse.quote, a path as nginx logs the request of $uri
)

// pctForms are the percent-encodings a field rule's value is looked for
// in: Go's two missed a value holding a space and one of $&+:=@ as
// browsers, PHP and Python write it (redact22 P3: "R7 ACCT=1" shipped as
// R7%20ACCT%3D1).
var pctForms = [...]pctForm{pctQuery, pctPath, pctStrict, pctSlash}

// lowerPercentHex turns the hex letters of b's percent-escapes to lower
// case, in place, and reports whether any changed.
func lowerPercentHex(b []byte) bool {
	changed := false
	for i := 0; i+2 < len(b); i++ {
		if b[i] != '%' {
			continue
		}
		for j := i + 1; j <= i+2; j++ {
			if 'A' <= b[j] && b[j] <= 'F' {
				b[j] += 'a' - 'A'
				changed = true
			}
		}
		i += 2
	}
	return changed
}

// reaches reports whether a field rule for name reaches the field key:
// the key itself, or a flat key below it ("meta.k" under "meta"), which
// the record JSON writes inside it ("meta":{"k":…}), as it writes a member
// of a JSON value "meta".
func reaches(key, name string) bool {
	return key == name || below(key, name)
}

// below reports whether key is a dotted name under name ("meta.k" under
// "meta").
func below(key, name string) bool {
	return len(key) > len(name) && key[len(name)] == '.' && key[:len(name)] == name
}

// renamedOwn reports whether key is name, or a key below it, as the JSON
// parser renames a line's key that meets the record's own
// (sidetrail.MeetsRecordKey): "json." + name. A rule for Docker's
// {"log":…} names "log"; it reaches "log.x" too.
func renamedOwn(key, name string) bool {
	k, ok := unrenamedOwn(key)
	return ok && reaches(k, name)
}

// unrenamedOwn returns the line's key the JSON parser renamed key from,
// when key is one it renames so ("json." + a key that meets the record's
// own).
func unrenamedOwn(key string) (string, bool) {
	if len(key) > len("json.") && key[:5] == "json." && sidetrail.MeetsRecordKey(key[5:]) {
		return key[5:], true
	}
	return "", false
}

// flattened reports whether key is the dotted name as the JSON parser
// writes a flat key that meets a nested one ({"customer":{"ssn":…},
// "customer.ssn":…} gives customer_ssn, customer_ssn_ if taken): the rule
// for customer.ssn missed the second, in field and message.
func flattened(key, name string) bool {
	if len(key) < len(name) || !strings.Contains(name, ".") || strings.Trim(key[len(name):], "_") != "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; key[i] != c && !(c == '.' && key[i] == '_') {
			return false
		}
	}
	return true
}

// fieldRepl returns what field rule ru puts in place of the value v, in
// rec.Scratch: nothing (drop), v's hash token, or the mask token.
func (r *Redactor) fieldRepl(rec *sidetrail.Record, ru *rule, v []byte) []byte {
	start := len(rec.Scratch)
	switch ru.act {
	case actDrop:
		return nil
	case actHash:
		rec.Scratch = r.appendHash(rec.Scratch, ru, v)
	default:
		rec.Scratch = append(rec.Scratch, ru.maskTok...)
	}
	return rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
}

// unlocatable values are not looked for in the message: empty, or nginx's
// "-" for a missing value (which is not a secret, and would match every
// dash).
func unlocatable(v []byte) bool {
	return len(v) == 0 || (len(v) == 1 && v[0] == '-')
}

// scrubOtherFields replaces, in every other string field, each place a
// field rule's value appears whole (a user name in the request path, a
// session id from the cookie in the query).
//
// Each field is searched for each value: with thousands of values (a line
// holding a field rule's key thousands of times) that took time in the
// square of the line (regress19b F8: 18 s). Past the budget of locate, a
// field that could hold a value is masked whole instead, and the message
// is withheld.
func (r *Redactor) scrubOtherFields(rec *sidetrail.Record) {
	work := 0
	for i := range rec.Fields {
		f := &rec.Fields[i]
		if r.isFieldRuleKey(f.Key) {
			continue
		}
		if f.Kind == sidetrail.KindString || f.Kind == sidetrail.KindJSON {
			if work += len(f.Value) * len(r.fvals); work > locateBudget(len(rec.Message)) && len(f.Value) >= shortNeedle {
				r.overrun()
				f.Value, f.Kind = []byte(maskToken), sidetrail.KindString
				continue
			}
		}
		switch f.Kind {
		case sidetrail.KindInt, sidetrail.KindFloat:
			// A number that is the value ({"uid":"12345","y":12345}), or
			// holds it, as the message's copy of the number does
			// ({"account":"98765432","ref":9876543201}: the message lost
			// it, the field shipped it; redact22 P4): a string then. A
			// value under minLeaf bytes inside a number is most likely
			// chance (a user 1200 in 12000 bytes sent; regress22b B9).
			for _, fv := range r.fvals {
				if len(fv.v) < shortNeedle || len(fv.v) > len(f.Value) {
					continue
				}
				if bytes.Equal(f.Value, fv.v) {
					f.Value, f.Kind = fv.repl, sidetrail.KindString
					break
				}
				if len(fv.v) >= minLeaf && bytes.Contains(f.Value, fv.v) {
					start := len(rec.Scratch)
					rec.Scratch = append(rec.Scratch, bytes.ReplaceAll(f.Value, fv.v, fv.repl)...)
					f.Value, f.Kind = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)], sidetrail.KindString
					break
				}
			}
			continue
		case sidetrail.KindJSON:
			if v, ch := r.scrubJSON(rec, f.Value); ch {
				f.Value = v
			}
			continue
		case sidetrail.KindString:
			if bytes.IndexByte(f.Value, '\\') >= 0 && looksJSON(f.Value) {
				// A string holding JSON whose strings escape the value
				// (redact22 P8): as a JSON field's.
				if v, ch := r.scrubJSON(rec, f.Value); ch {
					f.Value = v
				}
			}
		default:
			continue
		}
		r.replaceInPlace(rec, f)
		for _, fv := range r.fvals {
			// Short values stay: in another field the same few bytes are
			// most likely something else (a dropped "200" emptied the
			// status field and its Loki label).
			if len(fv.v) < shortNeedle || len(fv.v) > len(f.Value) || bytes.Index(f.Value, fv.v) < 0 {
				continue
			}
			start, last := len(rec.Scratch), 0
			for p := 0; ; {
				k := bytes.Index(f.Value[p:], fv.v)
				if k < 0 {
					break
				}
				p += k
				rec.Scratch = append(rec.Scratch, f.Value[last:p]...)
				rec.Scratch = append(rec.Scratch, fv.repl...)
				p += len(fv.v)
				last = p
			}
			rec.Scratch = append(rec.Scratch, f.Value[last:]...)
			f.Value = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
		}
	}
}

// replaceInPlace replaces, in f, the field rules' values under 4 bytes
// that are its very bytes (slices of the line it holds in place:
// request_query's in request_uri and request), all in one rewrite: a query
// of "?123" shipped there (parser25 P2), and after one value's replacement
// f held a copy, where a second value's bytes no longer were (regress25b
// R2: a masked request_method beside a dropped query).
func (r *Redactor) replaceInPlace(rec *sidetrail.Record, f *sidetrail.Field) {
	r.inPlace = r.inPlace[:0]
	for _, fv := range r.fvals {
		if off, ok := offsetIn(f.Value, fv.v); ok && len(fv.v) < shortNeedle {
			r.inPlace = append(r.inPlace, span{s: off, e: off + len(fv.v), repl: fv.repl})
		}
	}
	if len(r.inPlace) == 0 {
		return
	}
	slices.SortFunc(r.inPlace, func(a, b span) int { return a.s - b.s })
	start, last := len(rec.Scratch), 0
	for _, sp := range r.inPlace {
		if sp.s < last {
			continue // inside one replaced already
		}
		rec.Scratch = append(rec.Scratch, f.Value[last:sp.s]...)
		rec.Scratch = append(rec.Scratch, sp.repl...)
		last = sp.e
	}
	rec.Scratch = append(rec.Scratch, f.Value[last:]...)
	f.Value = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
}

// scrubKeyed takes the old value of each field changed for its name (a
// secret's, 4 bytes or more) out of the other string fields holding it, as
// the message loses it (syncMessage) and a field rule's value leaves the
// other fields (scrubOtherFields): a token the line repeated in a URL
// shipped there, the rules having judged it a secret (regress24 R10).
func (r *Redactor) scrubKeyed(rec *sidetrail.Record) {
	for _, c := range r.changed {
		if !c.keyed || c.kind != sidetrail.KindString || len(c.old) < shortNeedle || isToken(c.old) {
			continue
		}
		for i := range rec.Fields[:len(rec.Fields)-rec.Statics] {
			f := &rec.Fields[i]
			if f.Kind != sidetrail.KindString || len(f.Value) < len(c.old) || !bytes.Contains(f.Value, c.old) {
				continue
			}
			start := len(rec.Scratch)
			rec.Scratch = append(rec.Scratch, bytes.ReplaceAll(f.Value, c.old, c.new)...)
			f.Value = rec.Scratch[start:len(rec.Scratch):len(rec.Scratch)]
			// What was put in may join what follows into a new match,
			// as in the message.
			if v, ch := r.applyChain(rec, f.Value, f.Key, false, ^uint64(0), false, r.fieldKeyed(f.Key)); ch {
				f.Value = v
			}
		}
	}
}

// scrubJSON does scrubOtherFields' work inside a JSON value: every string
// (member names included) holding a field rule's value has it replaced,
// and a number that is the value becomes the replacement as a string. It
// returns the new JSON text, in rec.Scratch, and whether it changed.
func (r *Redactor) scrubJSON(rec *sidetrail.Record, v []byte) ([]byte, bool) {
	return r.scrubJSONIn(rec, v, r.jout[:0], maxJSONInStrings)
}

// maxJSONInStrings is how deep scrubJSON and locate look into strings of
// JSON holding JSON in strings (a request body logged as a string, in a
// line logged as a string...).
const maxJSONInStrings = 4

// scrubJSONIn is scrubJSON building the new text in out; a string of v that
// holds JSON escaping a value again is scrubbed so too, down to depth
// levels (regress24 R5: two levels down, the field shipped the value).
func (r *Redactor) scrubJSONIn(rec *sidetrail.Record, v, out []byte, depth int) ([]byte, bool) {
	last, changed := 0, false
	for i := 0; ; {
		t, next, ok := nextJSONToken(v, i)
		if !ok {
			break
		}
		i = next
		content := v[t.s:t.e]
		if t.esc {
			r.unesc2 = appendUnescapeJSON(r.unesc2[:0], content)
			content = r.unesc2
		}
		var nc []byte
		hit := false // nc holds the token's new content (empty for a drop)
		for _, fv := range r.fvals {
			if len(fv.v) < shortNeedle {
				continue
			}
			if !t.str {
				if bytes.Equal(content, fv.v) {
					nc, hit = append(r.tmp[:0], fv.repl...), true
				}
				continue
			}
			src := content
			if hit {
				src = nc
			}
			if bytes.Contains(src, fv.v) {
				nc, hit = bytes.ReplaceAll(src, fv.v, fv.repl), true
			}
		}
		if !hit && t.str && depth > 1 && bytes.IndexByte(content, '\\') >= 0 && looksJSON(content) {
			if nc2, ok := r.scrubJSONIn(rec, bytes.Clone(content), nil, depth-1); ok {
				nc, hit = nc2, true
			}
		}
		if !hit {
			continue
		}
		if t.key {
			// A member name changed: two of one object may now be one
			// name, which Elasticsearch refuses (regress22b B10). The
			// parser writes such an object with each name once after
			// the redaction (parser.DedupeFields).
			rec.Twins = true
		}
		out, last = replaceToken(out, v, last, t, nc)
		changed = true
	}
	return r.finishJSON(rec, v, out, last, changed)
}

// fieldRuleReaches reports whether a field rule names key or a name above
// it ("meta" reaches "meta.ts", as the record JSON nests). A rule for a
// name below it ("ts.sub") cannot reach a time's plain value: it took every
// line's event time (regress13b N5).
func (r *Redactor) fieldRuleReaches(key string) bool {
	for _, ru := range r.sh.fieldRules {
		if reaches(key, ru.field) || renamedOwn(key, ru.field) {
			return true // renamedOwn: the line's "@timestamp" as the time key (redact14 F9)
		}
	}
	return false
}

// heldByField reports whether v lies inside one of rec's field values.
func heldByField(rec *sidetrail.Record, v []byte) bool {
	for _, f := range rec.Fields {
		if within(f.Value, v) {
			return true
		}
	}
	return false
}

func (r *Redactor) isFieldRuleKey(key string) bool {
	for _, ru := range r.sh.fieldRules {
		if ru.field == key {
			return true
		}
	}
	return false
}

func (r *Redactor) dropFields(rec *sidetrail.Record) {
	ds := r.drops
	for i := 1; i < len(ds); i++ { // insertion sort: rules are not in field order
		for j := i; j > 0 && ds[j] < ds[j-1]; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
	out := rec.Fields[:0]
	d := 0
	firstStatic := len(rec.Fields) - rec.Statics
	for i, f := range rec.Fields {
		if d < len(r.drops) && r.drops[d] == i {
			for d < len(r.drops) && r.drops[d] == i {
				d++
			}
			if i >= firstStatic {
				rec.Statics--
			}
			continue
		}
		out = append(out, f)
	}
	clear(rec.Fields[len(out):])
	rec.Fields = out
}

// locate adds a span for every place v appears in msg: literally, escaped
// as nginx escapes ("\xHH" for '"', '\\', controls and bytes >= 0x7f),
// escaped as JSON, and (in a JSON message) inside any string that holds it
// once unescaped. It reports whether v was found at all.
func (r *Redactor) locate(msg, v []byte, kind sidetrail.Kind, repl []byte) bool {
	if off, ok := offsetIn(msg, v); ok && (len(v) < shortNeedle || kind == sidetrail.KindBool) {
		// A short value (or a true or false) cut from the line: where it
		// stands is known, and elsewhere the same bytes are most likely
		// something else (a dropped "200" took the status with it, a
		// dropped "1" turned "HTTP/1.1" into "HTTP/.", a dropped true every
		// other true).
		r.spans = append(r.spans, span{s: off, e: off + len(v), repl: repl})
		return true
	}
	// Each value is looked for in the whole message: a line holding a
	// field rule's key thousands of times took time in the square of its
	// length (regress19b F8: 14 s for 40,000 copies, which a client whose
	// body the app logs can send). Past a budget of a few times the line,
	// nothing is searched any more and the message is withheld.
	if r.locLeft -= len(msg); r.locLeft < 0 {
		r.overrun()
		return false
	}
	found := r.addAll(msg, v, repl)
	if kind == sidetrail.KindString && needsEscape(v) {
		r.needle = appendNginxEscaped(r.needle[:0], v)
		if !bytes.Equal(r.needle, v) && r.addAll(msg, r.needle, repl) {
			found = true
		}
		r.needle = appendJSONEscaped(r.needle[:0], v)
		if !bytes.Equal(r.needle, v) && r.addAll(msg, r.needle, repl) {
			found = true
		}
		if oddControls(v) {
			r.needle = appendNginxJSONEscaped(r.needle[:0], v)
			if r.addAll(msg, r.needle, repl) {
				found = true
			}
		}
	}
	if kind == sidetrail.KindString {
		// Percent-encoded as a URL writes it: a header value echoed in
		// the query ("ACCTLEAK R7" as ACCTLEAK%20R7) shipped so.
		var done [len(pctForms)][]byte
		for k, form := range pctForms {
			r.needle = appendPercent(r.needle[:0], v, form)
			if bytes.Equal(r.needle, v) || slices.ContainsFunc(done[:k], func(d []byte) bool { return bytes.Equal(d, r.needle) }) {
				continue
			}
			done[k] = bytes.Clone(r.needle)
			if r.addAll(msg, r.needle, repl) {
				found = true
			}
			// With lower-case hex digits too, as some clients write
			// them ("a%2fbob"; redact12 F3).
			if lowerPercentHex(r.needle) && r.addAll(msg, r.needle, repl) {
				found = true
			}
		}
	}
	if bytes.IndexByte(msg, '\\') >= 0 && looksJSON(msg) {
		for i := 0; ; {
			t, next, ok := nextJSONToken(msg, i)
			if !ok {
				break
			}
			i = next
			if !t.str || !t.esc {
				continue
			}
			r.unesc = appendUnescapeJSON(r.unesc[:0], msg[t.s:t.e])
			if bytes.Contains(r.unesc, v) || heldInside(r.unesc, v, maxJSONInStrings-1) {
				r.spans = append(r.spans, span{s: t.s, e: t.e, repl: repl})
				found = true
			}
		}
	}
	return found
}

// heldInside reports whether v stands in a string of the JSON text b,
// unescaped: b is a string of the line that holds JSON (a logged request
// body), whose own strings escape the value again (Python's "Jos\u00e9",
// "CORP\\jdoe"; redact22 P8: it shipped). Strings holding JSON in those
// are searched too, down to depth levels.
func heldInside(b, v []byte, depth int) bool {
	if depth == 0 || bytes.IndexByte(b, '\\') < 0 || !looksJSON(b) {
		return false
	}
	for i := 0; ; {
		t, next, ok := nextJSONToken(b, i)
		if !ok {
			return false
		}
		i = next
		if !t.str || !t.esc {
			continue
		}
		u := appendUnescapeJSON(nil, b[t.s:t.e])
		if bytes.Contains(u, v) || heldInside(u, v, depth-1) {
			return true
		}
	}
}

// addAll adds a span for every place needle appears in msg. A needle
// shorter than shortNeedle counts only where it stands alone (no letter or
// digit touching either end): a one-letter value taken out of every word
// turned "session" into "sssion" and timestamps into "2024-0-0T0::2Z".
func (r *Redactor) addAll(msg, needle, repl []byte) bool {
	found := false
	for i := 0; i < len(msg); {
		p := bytes.Index(msg[i:], needle)
		if p < 0 {
			break
		}
		s, e := i+p, i+p+len(needle)
		if len(needle) >= shortNeedle || ((s == 0 || !isAlnum(msg[s-1])) && (e == len(msg) || !isAlnum(msg[e]))) {
			r.spans = append(r.spans, span{s: s, e: e, repl: repl})
			found = true
			i = e
			continue
		}
		i = s + 1
	}
	return found
}

// overrun notes that the lookups of this record's field values ran out of
// their budget, at the rule applyFieldRules is at: the message is withheld.
func (r *Redactor) overrun() {
	if !r.overLoc {
		r.overLoc, r.overBy = true, r.curRule
	}
}

// locateBudget is how many bytes of a message of n bytes the lookups of
// one record's field values may search: 64 lookups of the whole line, and
// 64 MiB more, some tens of milliseconds. An array of 300 objects holding
// a field rule's key in a 17.8 KB line went past 4 MiB and was withheld
// (regress19c R4); a line holding a key tens of thousands of times still
// goes past it.
func locateBudget(n int) int { return 64*n + 64<<20 }

// shortNeedle is the length from which a value is taken out of the message
// wherever it appears, not only where it stands alone.
const shortNeedle = 4

// rewrite builds the message with r.spans replaced. Overlapping spans are
// merged: a span inside another takes the outer one's replacement (a
// hashed request_uri holds its path and query, hashed too), and spans that
// only overlap with different replacements become "[REDACTED]".
func (r *Redactor) rewrite(rec *sidetrail.Record, msg []byte) []byte {
	sp := r.spans
	// By start, longer first. Mostly few spans, in order already; an
	// insertion sort of two field values alternating over a line took time
	// in the square of their number (regress17c C2: 6.7 s for 400 KB).
	slices.SortStableFunc(sp, func(a, b span) int {
		if a.s != b.s {
			return cmp.Compare(a.s, b.s)
		}
		return cmp.Compare(b.e, a.e)
	})
	start := len(rec.Scratch)
	last := 0
	var q numQuote
	for i := 0; i < len(sp); {
		s, e, repl, isJSON := sp[i].s, sp[i].e, sp[i].repl, sp[i].json
		i++
		for i < len(sp) && sp[i].s < e {
			same := sp[i].s == s && sp[i].e == e
			if sp[i].e > e || same {
				e = max(e, sp[i].e)
				if !bytes.Equal(sp[i].repl, repl) {
					repl, isJSON = []byte(maskToken), false
				}
			}
			i++
		}
		if s < last {
			// Inside a value that masking a span's cover took whole.
			if e <= last {
				continue
			}
			s = last
		}
		if isJSON {
			rec.Scratch = q.addJSON(rec.Scratch, msg, last, s, repl)
			last = e
			continue
		}
		ns, ne, crossed, skip := q.place(msg, s, e)
		if !q.inString {
			// A whole string, quotes included: place's walk knows where
			// strings open (a span from a closing quote, `":"` in
			// {"":""}, reads like one to a scan that starts there).
			whole := q.json && q.more && q.tok.str && q.tok.s == s+1 && q.tok.e+1 == e
			if q.json && !whole && !bareValueAt(msg, s, e, q.walkFrom()) {
				// The bytes start in the JSON text's structure: they are
				// not the value, which the text would hold escaped in a
				// string, but they may show part of it (the value `"0`
				// found in {"":"0"}). Every string and number they cover
				// is masked; bytes of structure alone (`"` found in
				// {"":0}) are left.
				if q.more {
					from := q.next
					if ts := q.tok.s - btoi(q.tok.str); ts >= s {
						from = ts
					} else if !q.tok.str && s < q.tok.e {
						// The bytes start inside a number (the value
						// `111}` found in {"":1111}, which shipped;
						// FuzzRedact in CI): its part from s is masked
						// as a match within a number is.
						rec.Scratch = q.add(rec.Scratch, msg, last, s, q.tok.e, repl)
						last = q.tok.e
					}
					rec.Scratch, last, _ = maskCovered(&q, rec.Scratch, msg, last, from, e, true, func([]byte) []byte { return repl })
				}
				continue
			}
			if whole {
				// A whole string, quotes included (the value `""` found in
				// {"":""}): its content is replaced, so it stays a string.
				q.inString = true
				rec.Scratch = q.add(rec.Scratch, msg, last, s+1, e-1, repl)
				last = e - 1
				continue
			}
			rec.Scratch = q.add(rec.Scratch, msg, last, s, e, repl)
			last = e
			continue
		}
		// In a JSON string, the bytes found may cut an escape (the value
		// `\` found as the start of `\"`) or run past the string's end:
		// the text does not hold them as they read. What the span covers
		// is masked as place fits it, string by string, and the text stays
		// JSON.
		if !skip {
			rec.Scratch = q.add(rec.Scratch, msg, last, ns, ne, repl)
			last = ne
		}
		if crossed {
			rec.Scratch, last, _ = maskCovered(&q, rec.Scratch, msg, last, ne+1, e, true, func([]byte) []byte { return repl })
		}
	}
	rec.Scratch = q.finish(rec.Scratch, msg, last)
	end := len(rec.Scratch)
	return rec.Scratch[start:end:end]
}

// bareValueAt reports whether v[s:e] lies within a number of the JSON text
// v, or is a whole object, array or literal (see bareValue; from: where a
// token at or before s starts).
func bareValueAt(v []byte, s, e, from int) bool {
	_, _, ok := bareValue(v, s, e, true, from)
	return ok
}

// needsEscape reports whether nginx or JSON would escape a byte of v.
func needsEscape(v []byte) bool {
	for _, c := range v {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return true
		}
	}
	return false
}

// appendNginxEscaped appends v escaped as nginx's default escape mode
// writes variables: '"', '\\', bytes < 0x20 and >= 0x7f as \xHH.
func appendNginxEscaped(dst, v []byte) []byte {
	const hexUpper = "0123456789ABCDEF"
	for _, c := range v {
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			dst = append(dst, '\\', 'x', hexUpper[c>>4], hexUpper[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// escapers are the ways a message may write a field's value escaped: as
// nginx's default escaping, as JSON, and as nginx's escape=json (which
// JSON's differs from only for oddControls).
var escapers = [...]func(dst, v []byte) []byte{appendNginxEscaped, appendJSONEscaped, nginxJSON: appendNginxJSONEscaped}

const nginxJSON = 2

// oddControls reports whether v holds a byte nginx's escape=json writes
// otherwise than JSON does: below 0x20 but '\n', '\r' and '\t', or a byte
// of no valid UTF-8 (nginx writes it as it is, JSON as \ufffd: a Latin-1
// "é" beside the secret shipped it in the message, regress14 D).
func oddControls(v []byte) bool {
	for _, c := range v {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return true
		}
	}
	return !utf8.Valid(v)
}

// appendNginxJSONEscaped appends v as nginx writes it with
// `log_format … escape=json`: '"' and '\\' after a backslash, "\n", "\r",
// "\t", "\b" and "\f", other bytes below 0x20 as "\u00XX" with upper-case hex
// digits, and every other byte as it is. sidetrail's own JSON writes
// "\u0008" and lower-case digits: a header holding a control byte was masked
// in its field and shipped in the message (redact14 F13).
func appendNginxJSONEscaped(dst, v []byte) []byte {
	const hexUpper = "0123456789ABCDEF"
	for _, c := range v {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendJSONEscaped appends v as the inside of a JSON string, as
// sidetrail.AppendJSONString writes it (and nginx's escape=json).
func appendJSONEscaped(dst, v []byte) []byte {
	n := len(dst)
	dst = sidetrail.AppendJSONString(dst, v)
	// Drop the quotes AppendJSONString adds.
	copy(dst[n:], dst[n+1:len(dst)-1])
	return dst[:len(dst)-2]
}

// ---- JSON ------------------------------------------------------------

// secretMember returns the query_secrets rule (applying to the field key,
// or to the message when msg) for which a JSON member named name holds a
// secret, or nil.
func (r *Redactor) secretMember(name []byte, key string, msg bool) *rule {
	if len(name) == 0 {
		return nil
	}
	for _, ru := range r.sh.secrets {
		if !msg && !ru.targets(key) {
			continue
		}
		if q, ok := ru.det.(queryDetector); ok && q.secret(name) {
			return ru
		}
	}
	return nil
}

// looksJSON reports whether b starts (after white space) like a JSON object
// or array.
func looksJSON(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// jsonCandidate reports whether applyJSON should examine v, a JSON text
// without backslashes (so every string in it is a substring of it) whose
// key is not keyed: whether a rule targeting it may match it (its maybe,
// which gates secretMember too). bound is an upper bound of v's maybeMask
// (v is a slice of a text whose maybeMask is bound; the pre-filters are
// monotone): the rules outside it are not asked. A query_secrets rule must moreover find a
// secret name ending before a '=', "%3D" or a key's closing quote
// (candidate): without one, neither secretMember nor the detector on a
// string or number in v (candidate is monotone) finds anything, so v would
// come back unchanged.
func (r *Redactor) jsonCandidate(v []byte, key string, msg bool, bound uint64) bool {
	sh := r.sh
	if sh.exactJSON {
		return sh.maybeMask(v) != 0 && r.targetedMaybe(v, key, msg)
	}
	m := sh.maybeMaskWithin(v, bound)
	for j, ru := range sh.valueRules {
		if !(msg || ru.targets(key)) {
			continue
		}
		if j >= 63 {
			if bound&(1<<63) != 0 && ru.maybe(v) {
				return true
			}
			continue
		}
		if m&(1<<j) == 0 {
			continue
		}
		if sh.localBits&(1<<j) != 0 {
			if q, ok := ru.det.(queryDetector); ok && !q.candidate(v) {
				continue
			}
		}
		return true
	}
	return false
}

// targetedMaybe is the gate jsonCandidate refines: a rule targeting key
// whose maybe(v) is true. Tests use it as jsonCandidate's oracle.
func (r *Redactor) targetedMaybe(v []byte, key string, msg bool) bool {
	for _, ru := range r.sh.valueRules {
		if (msg || ru.targets(key)) && ru.maybe(v) {
			return true
		}
	}
	return false
}

// applyJSON runs the rule chain over the strings and numbers of a JSON text
// (object keys excluded). A changed string is re-escaped; a changed number
// becomes a string. onlyEscaped restricts it to strings holding escapes (for
// a message whose raw text the chain has already seen). bound is an upper
// bound of v's maybeMask (^0 when none is known; see jsonCandidate).
func (r *Redactor) applyJSON(rec *sidetrail.Record, v []byte, key string, msg, onlyEscaped bool, bound uint64) ([]byte, bool) {
	keyed := !msg && r.fieldKeyed(key)
	if !onlyEscaped && !keyed && bytes.IndexByte(v, '\\') < 0 && !r.jsonCandidate(v, key, msg, bound) {
		return v, false
	}
	// The output is built in r.jout: applyChain appends to rec.Scratch
	// while we go.
	out, last, changed := r.jout[:0], 0, false
	r.jmemo.reset()
	var member []byte  // the key of the member whose value comes next
	memberEsc := false // its name holds escapes
	for i := 0; ; {
		t, next, ok := nextJSONToken(v, i)
		if !ok {
			break
		}
		i = next
		if t.key {
			member, memberEsc = v[t.s:t.e], t.esc
			if t.esc {
				// Compared unescaped: "to\u006ben" is a token member.
				r.member = appendUnescapeJSON(r.member[:0], member)
				member = r.member
			}
			if !onlyEscaped || t.esc {
				// A member name is the line's text too.
				name := member
				if t.esc {
					r.unesc2 = appendUnescapeJSON(r.unesc2[:0], name)
					name = r.unesc2
				}
				if nn, ch := r.applyChain(rec, name, key, msg, ^uint64(0), false, false); ch {
					if !msg {
						// Structure: the name must stay unique in its object.
						r.uniqueKey(nn)
						nn = r.kbuf
					}
					out, last = replaceToken(out, v, last, t, nn)
					changed = true
				}
			}
			// "password": {…} or [...] at any depth: the value is a secret
			// as a whole, as a field of that name is (the tokens below
			// are judged by their own names, or none).
			if c := skipJSONSpace(v, next); c < len(v) && v[c] == ':' {
				vs := skipJSONSpace(v, c+1)
				if vs < len(v) && (v[vs] == '{' || v[vs] == '[') {
					if ru := r.secretMember(member, key, msg); ru != nil {
						// A token is what an earlier pass left (the text
						// need not be JSON): "[REDACTED]" reads as an
						// array, and quoting it made a second pass change
						// the value again. It is passed over whole: the
						// digits of "[HASH:…]" are no numbers of the text.
						// The memo: a value that never closes, given again
						// and again, was walked to the end each time
						// (regress13 R8: 28.5 s for 1 MB of
						// {"password":["\\").
						if ve, ok := r.jmemo.skipValue(v, vs); ok && isToken(v[vs:ve]) {
							i, member = ve, nil
						} else if ok {
							out = append(out, v[last:vs]...)
							out = sidetrail.AppendJSONString(out, r.replacement(ru, v[vs:ve]))
							last, i, member = ve, ve, nil
							r.c.rules[ru.idx].Add(1)
							changed = true
						}
					}
				}
			}
			continue
		}
		name, nameEsc := member, memberEsc
		member = nil
		// With onlyEscaped (the message, whose raw text the rules saw),
		// a value under a name that holds escapes counts too: a secret
		// name written "pass\u0077ord" is not one the raw text shows.
		if onlyEscaped && !t.esc && !nameEsc {
			continue
		}
		content := v[t.s:t.e]
		if t.esc {
			r.unesc2 = appendUnescapeJSON(r.unesc2[:0], content)
			content = r.unesc2
		}
		var nc []byte
		ch := false
		if ru := r.secretMember(name, key, msg); ru != nil && (!onlyEscaped || nameEsc) && !isToken(content) {
			// "password": VALUE inside a JSON value: the value is a secret
			// as a whole, as for a field of that name.
			nc, ch = r.replacement(ru, content), true
			r.c.rules[ru.idx].Add(1)
		} else {
			nc, ch = r.applyChain(rec, content, key, msg, ^uint64(0), false, keyed)
		}
		if !ch {
			continue
		}
		out, last = replaceToken(out, v, last, t, nc)
		changed = true
	}
	return r.finishJSON(rec, v, out, last, changed)
}

// replaceToken appends to out the text of v from last up to token t, then
// repl as a JSON string in t's place, and returns out and where t ends.
func replaceToken(out, v []byte, last int, t jsonToken, repl []byte) ([]byte, int) {
	s, e := t.s, t.e
	if t.str {
		s, e = s-1, min(e+1, len(v))
	}
	out = append(out, v[last:s]...)
	return sidetrail.AppendJSONString(out, repl), e
}

// finishJSON ends a rewrite of the JSON text v built in out (r.jout's
// memory) up to v[last:]: unchanged, v itself; changed, the new text
// copied into rec.Scratch.
func (r *Redactor) finishJSON(rec *sidetrail.Record, v, out []byte, last int, changed bool) ([]byte, bool) {
	if !changed {
		r.jout = out
		return v, false
	}
	out = append(out, v[last:]...)
	r.jout = out
	start := len(rec.Scratch)
	rec.Scratch = append(rec.Scratch, out...)
	end := len(rec.Scratch)
	return rec.Scratch[start:end:end], true
}
