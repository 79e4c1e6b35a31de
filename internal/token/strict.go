package token

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxTokenSize is the largest compact JWT, in bytes, that Verify reads and
// Mint produces.
const MaxTokenSize = 8192

const (
	// maxDecoded bounds the decoded header plus payload of a token of
	// MaxTokenSize bytes.
	maxDecoded       = MaxTokenSize / 4 * 3
	maxJSONDepth     = 16
	maxObjectMembers = 64 // per object, at any level
	maxHeaderMembers = 16
)

const b64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// b64Val maps a base64url character to its value, anything else to 0xFF.
var b64Val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < len(b64URLAlphabet); i++ {
		t[b64URLAlphabet[i]] = byte(i)
	}
	return t
}()

// b64Bad maps a base64url character to 0, anything else to 1.
var b64Bad = func() (t [256]byte) {
	for i := range t {
		if b64Val[i] == 0xFF {
			t[i] = 1
		}
	}
	return t
}()

// checkShape is step 1's cheap byte loop, run before anything else: at
// most MaxTokenSize bytes, exactly two dots, three non-empty segments of
// base64url characters. It returns the positions of the dots.
//
// A well-formed token is confirmed with a vectorised search for the dots
// and a branch-free pass over the segments; anything else is left to
// checkShapeExact, which finds the first fault in the token's order and so
// gives each malformed token its error.
func checkShape(raw string) (d1, d2 int, err error) {
	if n := len(raw); n > 0 && n <= MaxTokenSize {
		d1 = strings.IndexByte(raw, '.')
		if d1 > 0 {
			if j := strings.IndexByte(raw[d1+1:], '.'); j > 0 {
				d2 = d1 + 1 + j
				if d2 < n-1 && strings.IndexByte(raw[d2+1:], '.') < 0 &&
					b64Only(raw[:d1]) && b64Only(raw[d1+1:d2]) && b64Only(raw[d2+1:]) {
					return d1, d2, nil
				}
			}
		}
	}
	return checkShapeExact(raw)
}

// b64Only reports whether s holds base64url characters only.
func b64Only(s string) bool {
	var bad byte
	for len(s) >= 8 {
		bad |= b64Bad[s[0]] | b64Bad[s[1]] | b64Bad[s[2]] | b64Bad[s[3]] |
			b64Bad[s[4]] | b64Bad[s[5]] | b64Bad[s[6]] | b64Bad[s[7]]
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		bad |= b64Bad[s[i]]
	}
	return bad == 0
}

// checkShapeExact is checkShape one byte at a time, in the token's order.
func checkShapeExact(raw string) (d1, d2 int, err error) {
	if len(raw) == 0 {
		return 0, 0, fail(ErrMalformed, "empty token")
	}
	if len(raw) > MaxTokenSize {
		return 0, 0, fail(ErrMalformed, "token larger than 8192 bytes")
	}
	d1, d2 = -1, -1
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if b64Val[c] != 0xFF {
			continue
		}
		if c != '.' {
			return 0, 0, fail(ErrMalformed, "character outside the base64url alphabet")
		}
		switch {
		case d1 < 0:
			d1 = i
		case d2 < 0:
			d2 = i
		default:
			return 0, 0, fail(ErrMalformed, "more than three segments")
		}
	}
	if d2 < 0 {
		return 0, 0, fail(ErrMalformed, "fewer than three segments")
	}
	if d1 == 0 || d2 == d1+1 || d2 == len(raw)-1 {
		return 0, 0, fail(ErrMalformed, "empty segment")
	}
	return d1, d2, nil
}

// strictB64 is unpadded base64url that also refuses stray bits in the last
// character, so that one token has one decoding.
var strictB64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes unpadded base64url strictly (the spare low bits of
// the last character must be zero) into dst. s holds only alphabet
// characters (checkShape). It reports false for an impossible length, stray
// bits, or a dst too small.
func decodeSegment(dst []byte, s string) ([]byte, bool) {
	if strictB64.DecodedLen(len(s)) > len(dst) {
		return nil, false
	}
	n, err := strictB64.Decode(dst, unsafe.Slice(unsafe.StringData(s), len(s)))
	if err != nil {
		return nil, false
	}
	return dst[:n], true
}

// jsonKind is the type of a JSON value.
type jsonKind uint8

const (
	kindObject jsonKind = iota + 1
	kindArray
	kindString
	kindNumber
	kindBool
	kindNull
)

// jstr is the content of a JSON string (between the quotes) as offsets into
// the scanned input; plain means ASCII without escapes.
type jstr struct {
	start, end int32
	plain      bool
}

// member is one member of the top-level object.
type member struct {
	name   jstr
	hash   uint32 // foldHash of name
	kind   jsonKind
	vstart int32
	vend   int32
	val    jstr // for kindString
}

// memberName is a member name of a nested object.
type memberName struct {
	name jstr
	hash uint32
}

// scanner validates one JSON text strictly, without allocating: RFC 8259
// grammar, valid UTF-8, no lone surrogates, no trailing data, bounded depth
// and members, and no two members of one object whose names are equal under
// encoding/json's case folding (so "exp" beside "exp", "EXP" or "\u0065xp").
type scanner struct {
	b   []byte
	i   int
	dup bool // the failure was a duplicate member name
	// shared, when set, holds b as a string, made on the first text of a
	// plain string: the claims' strings are then substrings of it, one
	// allocation per token rather than one per claim (fewer objects for
	// the collector to mark in every cached token, and one place in memory
	// to read them from). A pointer, not the string itself: escape analysis
	// would otherwise see text's result come from *s, as b does, and move
	// Verify's stack buffer to the heap.
	shared *string
}

const (
	errSyntax   = "invalid JSON"
	errNotObj   = "not a JSON object"
	errDup      = "duplicate or case-variant member names"
	errDepth    = "JSON nested too deeply"
	errMembers  = "too many JSON object members"
	errEscape   = "invalid escape in JSON string"
	errUTF8     = "invalid UTF-8 in JSON string"
	errTrailing = "data after the JSON object"
)

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// topObject parses the whole input as one object, appending its members to
// ms (whose capacity bounds their number). It returns a failure detail, or "".
func (s *scanner) topObject(ms []member) ([]member, string) {
	if !s.consume('{') {
		return nil, errNotObj
	}
	if !s.consume('}') {
		for {
			s.ws()
			if len(ms) == cap(ms) {
				return nil, errMembers
			}
			name, d := s.str()
			if d != "" {
				return nil, d
			}
			h := s.foldHash(name)
			for k := range ms {
				if ms[k].hash == h && s.foldEq(ms[k].name, name) {
					s.dup = true
					return nil, errDup
				}
			}
			if !s.consume(':') {
				return nil, errSyntax
			}
			s.ws()
			start := s.i
			kind, val, d := s.value(1)
			if d != "" {
				return nil, d
			}
			ms = append(ms, member{name: name, hash: h, kind: kind, vstart: int32(start), vend: int32(s.i), val: val})
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			return nil, errSyntax
		}
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, errTrailing
	}
	return ms, ""
}

func (s *scanner) value(depth int) (jsonKind, jstr, string) {
	if s.i >= len(s.b) {
		return 0, jstr{}, errSyntax
	}
	switch c := s.b[s.i]; c {
	case '{':
		return kindObject, jstr{}, s.object(depth + 1)
	case '[':
		return kindArray, jstr{}, s.array(depth + 1)
	case '"':
		v, d := s.str()
		return kindString, v, d
	case 't':
		return kindBool, jstr{}, s.literal("true")
	case 'f':
		return kindBool, jstr{}, s.literal("false")
	case 'n':
		return kindNull, jstr{}, s.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return kindNumber, jstr{}, s.number()
		}
		return 0, jstr{}, errSyntax
	}
}

func (s *scanner) object(depth int) string {
	if depth > maxJSONDepth {
		return errDepth
	}
	s.i++ // '{'
	if s.consume('}') {
		return ""
	}
	var names [maxObjectMembers]memberName
	n := 0
	for {
		s.ws()
		if n == len(names) {
			return errMembers
		}
		name, d := s.str()
		if d != "" {
			return d
		}
		h := s.foldHash(name)
		for k := range n {
			if names[k].hash == h && s.foldEq(names[k].name, name) {
				s.dup = true
				return errDup
			}
		}
		names[n] = memberName{name: name, hash: h}
		n++
		if !s.consume(':') {
			return errSyntax
		}
		s.ws()
		if _, _, d := s.value(depth); d != "" {
			return d
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return ""
		}
		return errSyntax
	}
}

func (s *scanner) array(depth int) string {
	if depth > maxJSONDepth {
		return errDepth
	}
	s.i++ // '['
	if s.consume(']') {
		return ""
	}
	for {
		s.ws()
		if _, _, d := s.value(depth); d != "" {
			return d
		}
		if s.consume(',') {
			continue
		}
		if s.consume(']') {
			return ""
		}
		return errSyntax
	}
}

func (s *scanner) literal(word string) string {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return errSyntax
	}
	s.i += len(word)
	return ""
}

// number checks the RFC 8259 number grammar.
func (s *scanner) number() string {
	b, i := s.b, s.i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return errSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return errSyntax
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return errSyntax
		}
	}
	s.i = i
	return ""
}

// strPlain marks the bytes a JSON string holds as they are: printable
// ASCII other than the quote and the backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans a string at s.i and returns its content span.
func (s *scanner) str() (jstr, string) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return jstr{}, errSyntax
	}
	s.i++
	start, plain := s.i, true
	for s.i < len(s.b) {
		if strPlain[s.b[s.i]] { // the common case, one lookup a byte
			s.i++
			continue
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			v := jstr{start: int32(start), end: int32(s.i), plain: plain}
			s.i++
			return v, ""
		case c == '\\':
			plain = false
			if s.i+1 >= len(s.b) {
				return jstr{}, errSyntax
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				r, ok := hex4(s.b, s.i+2)
				if !ok {
					return jstr{}, errEscape
				}
				s.i += 6
				if utf16.IsSurrogate(r) {
					// Only a high surrogate followed by an escaped low one.
					if r >= 0xDC00 || s.i+6 > len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
						return jstr{}, errEscape
					}
					r2, ok := hex4(s.b, s.i+2)
					if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
						return jstr{}, errEscape
					}
					s.i += 6
				}
			default:
				return jstr{}, errEscape
			}
		case c < 0x20:
			return jstr{}, errSyntax
		case c < utf8.RuneSelf:
			s.i++
		default:
			plain = false
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return jstr{}, errUTF8
			}
			s.i += size
		}
	}
	return jstr{}, errSyntax
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// nextRune decodes the rune at b[i] of validated string content, resolving
// escapes, and returns it with the index after it.
func nextRune(b []byte, i int) (rune, int) {
	c := b[i]
	if c != '\\' {
		if c < utf8.RuneSelf {
			return rune(c), i + 1
		}
		r, n := utf8.DecodeRune(b[i:])
		return r, i + n
	}
	switch b[i+1] {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
		r, _ := hex4(b, i+2)
		if utf16.IsSurrogate(r) {
			r2, _ := hex4(b, i+8)
			return utf16.DecodeRune(r, r2), i + 12
		}
		return r, i + 6
	default: // '"', '\\', '/'
		return rune(b[i+1]), i + 2
	}
}

// foldRune folds r as encoding/json does when it matches member names to
// struct fields: ASCII letters to upper case, other runes to the smallest
// rune of their case-folding orbit (so 'ſ' matches 's', 'K' (Kelvin) 'k').
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// foldHash hashes (FNV-1a) a validated string unescaped and folded, so that
// duplicate detection compares few pairs of names rune by rune: linear, not
// quadratic, in the names' length.
func (s *scanner) foldHash(a jstr) uint32 {
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	x := s.b[a.start:a.end]
	if a.plain {
		for _, c := range x {
			h = (h ^ uint32(upperASCII(c))) * prime
		}
		return h
	}
	for i := 0; i < len(x); {
		var r rune
		r, i = nextRune(x, i)
		h = (h ^ uint32(foldRune(r))) * prime
	}
	return h
}

// foldEq reports whether two validated strings are equal once unescaped and
// folded.
func (s *scanner) foldEq(a, b jstr) bool {
	x, y := s.b[a.start:a.end], s.b[b.start:b.end]
	if a.plain && b.plain {
		if len(x) != len(y) {
			return false
		}
		for k := range x {
			if upperASCII(x[k]) != upperASCII(y[k]) {
				return false
			}
		}
		return true
	}
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		var r1, r2 rune
		r1, i = nextRune(x, i)
		r2, j = nextRune(y, j)
		if foldRune(r1) != foldRune(r2) {
			return false
		}
	}
	return i == len(x) && j == len(y)
}

// foldEqString reports whether a validated string folds to want (ASCII).
func (s *scanner) foldEqString(a jstr, want string) bool {
	x := s.b[a.start:a.end]
	if a.plain {
		if len(x) != len(want) {
			return false
		}
		for k := range x {
			if upperASCII(x[k]) != upperASCII(want[k]) {
				return false
			}
		}
		return true
	}
	i, j := 0, 0
	for i < len(x) && j < len(want) {
		var r rune
		r, i = nextRune(x, i)
		if foldRune(r) != foldRune(rune(want[j])) {
			return false
		}
		j++
	}
	return i == len(x) && j == len(want)
}

// text returns the unescaped string (allocating; with s.shared, a plain
// string is a substring of the one copy of b: b is not written while it is
// scanned).
func (s *scanner) text(a jstr) string {
	x := s.b[a.start:a.end]
	if a.plain {
		if s.shared == nil {
			return string(x)
		}
		if *s.shared == "" {
			*s.shared = string(s.b)
		}
		return (*s.shared)[a.start:a.end]
	}
	out := make([]byte, 0, len(x))
	for i := 0; i < len(x); {
		var r rune
		r, i = nextRune(x, i)
		out = utf8.AppendRune(out, r)
	}
	return string(out)
}

// raw returns the bytes of a plain string, or nil if it has escapes or
// non-ASCII (so callers can compare it with ASCII constants without
// allocating).
func (s *scanner) raw(a jstr) []byte {
	if !a.plain {
		return nil
	}
	return s.b[a.start:a.end]
}

// saneTime reports whether a JSON number (validated grammar) is a sane
// NumericDate: positive and below 1e11 (about year 5138).
func saneTime(num []byte) bool {
	if len(num) == 0 || num[0] == '-' {
		return false
	}
	i := 0
	for i < len(num) && num[i] >= '0' && num[i] <= '9' {
		i++
	}
	intPart := num[:i]
	fracNonZero := false
	if i < len(num) && num[i] == '.' {
		for i++; i < len(num) && num[i] >= '0' && num[i] <= '9'; i++ {
			if num[i] != '0' {
				fracNonZero = true
			}
		}
	}
	if i < len(num) { // exponent: rare, let strconv decide
		f, err := strconv.ParseFloat(string(num), 64)
		return err == nil && f > 0 && f < 1e11
	}
	if len(intPart) > 11 { // 1e11 has 12 digits
		return false
	}
	var v int64
	for _, c := range intPart {
		v = v*10 + int64(c-'0')
	}
	return (v > 0 || fracNonZero) && v < 1e11
}
