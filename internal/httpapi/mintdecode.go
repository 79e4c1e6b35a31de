package httpapi

// fastDecoder is a request type with a hand-written decoder for the plain
// form of its body. decodeFast either fills the receiver exactly as the
// strict decoder (encoding/json with unknown fields refused, exactNames,
// nothing after the value) would, and returns true, or leaves the receiver
// untouched and returns false: then the strict decoder runs, so every
// refusal, its code, field and message, comes from one place. decodeFast
// never refuses anything itself; a body it does not recognise is simply not
// fast (TestMintFastDecodeMatchesStrict compares the two over many bodies).
type fastDecoder interface {
	decodeFast(body []byte) bool
}

var _ fastDecoder = (*mintRequest)(nil)

// decodeFast reads the usual mint body: one object whose members are each
// at most once, with exactly these names, dashboardId, dashboardSecret and
// sub as strings, tokenExpiry as a non-negative integer, params as an
// object of strings, and JSON white space around the tokens. Strings must
// hold no escape and no control character (the body is valid UTF-8 already:
// decodeJSON checked it). Anything else (securityPolicies, null, numbers or
// objects in params, escapes, another name, a repeated name, trailing data)
// returns false.
func (r *mintRequest) decodeFast(body []byte) bool {
	p := mintParser{b: body}
	var out mintRequest
	var seen uint8
	p.ws()
	if !p.byte('{') {
		return false
	}
	p.ws()
	if p.peek() == '}' {
		return false // {} is refused by Validate; the strict path says how
	}
	for {
		name, ok := p.str()
		if !ok {
			return false
		}
		p.ws()
		if !p.byte(':') {
			return false
		}
		p.ws()
		var bit uint8
		switch name {
		case "dashboardId":
			bit = 1
			out.DashboardID, ok = p.strValue()
		case "dashboardSecret":
			bit = 2
			out.DashboardSecret, ok = p.strValue()
		case "sub":
			bit = 4
			out.Sub, ok = p.strValue()
		case "tokenExpiry":
			bit = 8
			var n int64
			n, ok = p.uint()
			out.TokenExpiry = &n
		case "params":
			bit = 16
			out.Params, ok = p.stringMap()
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		p.ws()
		if p.byte(',') {
			p.ws()
			continue
		}
		if !p.byte('}') {
			return false
		}
		break
	}
	p.ws()
	if p.i != len(p.b) {
		return false
	}
	out.maxExpiry = r.maxExpiry
	*r = out
	return true
}

// mintParser walks a body for decodeFast.
type mintParser struct {
	b []byte
	i int
}

func (p *mintParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// byte consumes c if it is next.
func (p *mintParser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// ws skips JSON white space (RFC 8259: space, tab, line feed, carriage return).
func (p *mintParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// str reads a string without escapes or control characters and returns its
// bytes as a string sharing nothing with the body.
func (p *mintParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) && strByte[p.b[p.i]] {
		p.i++
	}
	if p.i == len(p.b) || p.b[p.i] != '"' {
		return "", false // the end, an escape or a control character
	}
	v := string(p.b[start:p.i])
	p.i++
	return v, true
}

// strByte holds the bytes str reads on: all but '"', '\\' and controls.
var strByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// strValue is str for a member value.
func (p *mintParser) strValue() (string, bool) { return p.str() }

// uint reads 0 or a positive integer without sign, fraction or exponent, of
// at most 18 digits (no int64 overflow); a number in any other form is not
// fast. The digits must end where a JSON number ends.
func (p *mintParser) uint() (int64, bool) {
	start := p.i
	var n int64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		n = n*10 + int64(p.b[p.i]-'0')
		p.i++
		if p.i-start > 18 {
			return 0, false
		}
	}
	switch {
	case p.i == start:
		return 0, false
	case p.b[start] == '0' && p.i-start > 1:
		return 0, false // a leading zero is not JSON
	}
	if c := p.peek(); c == '.' || c == 'e' || c == 'E' {
		return 0, false
	}
	return n, true
}

// stringMap reads an object whose members are strings, each name at most
// once, into a new map (encoding/json gives an empty object an empty map).
func (p *mintParser) stringMap() (map[string]any, bool) {
	if !p.byte('{') {
		return nil, false
	}
	m := make(map[string]any, 4)
	p.ws()
	if p.byte('}') {
		return m, true
	}
	for {
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if !p.byte(':') {
			return nil, false
		}
		p.ws()
		v, ok := p.str()
		if !ok {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		m[k] = v
		if len(m) > 64 {
			return nil, false // large maps: the strict path (it reads them the same way)
		}
		p.ws()
		if p.byte(',') {
			p.ws()
			continue
		}
		if !p.byte('}') {
			return nil, false
		}
		return m, true
	}
}
