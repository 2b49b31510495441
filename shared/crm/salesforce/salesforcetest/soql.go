package salesforcetest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

type tokKind int

const (
	tIdent tokKind = iota
	tString
	tNumber // numbers, dates and date-times
	tPunct
	tEOF
)

type token struct {
	kind tokKind
	text string // for tString: the unescaped value
}

// lex splits a SOQL statement into tokens.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\\' {
					if i+1 >= len(s) {
						return nil, fmt.Errorf("unterminated escape")
					}
					switch e := s[i+1]; e {
					case '\\', '\'', '"':
						b.WriteByte(e)
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case 'b':
						b.WriteByte('\b')
					case 'f':
						b.WriteByte('\f')
					case '%', '_':
						b.WriteByte('\\') // keep LIKE escapes for the matcher
						b.WriteByte(e)
					default:
						return nil, fmt.Errorf("invalid escape \\%c", e)
					}
					i += 2
					continue
				}
				if s[i] == '\'' {
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string literal")
			}
			out = append(out, token{tString, b.String()})
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || strings.IndexByte("-:.TZ+", s[j]) >= 0) {
				j++
			}
			out = append(out, token{tNumber, s[i:j]})
			i = j
		case unicode.IsLetter(rune(c)) || c == '_':
			j := i + 1
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || s[j] == '_' || s[j] == '.') {
				j++
			}
			out = append(out, token{tIdent, s[i:j]})
			i = j
		case strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], ">="):
			out = append(out, token{tPunct, s[i : i+2]})
			i += 2
		case strings.IndexByte("(),=<>", c) >= 0:
			out = append(out, token{tPunct, string(c)})
			i++
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return append(out, token{kind: tEOF}), nil
}

// query is a parsed SELECT.
type query struct {
	fields []string
	object string
	where  cond
	order  []orderKey
	limit  int
}

type orderKey struct {
	field string
	desc  bool
}

// cond is a WHERE expression.
type cond interface{}

type boolCond struct {
	op    string // AND / OR
	terms []cond
}

type cmpCond struct {
	field  string
	op     string // = != < <= > >= LIKE IN NOTIN
	value  value
	values []value
	sub    *query
}

type value struct {
	kind string // string, number, bool, null, date
	text string
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == tIdent && strings.EqualFold(t.text, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(kw string) error {
	if !p.keyword(kw) {
		return fmt.Errorf("expecting %s, found %q", kw, p.peek().text)
	}
	return nil
}

func (p *parser) punct(s string) bool {
	if t := p.peek(); t.kind == tPunct && t.text == s {
		p.pos++
		return true
	}
	return false
}

// parseSOQL parses a full statement.
func parseSOQL(s string) (*query, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q, err := p.selectStmt(false)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, fmt.Errorf("unexpected token %q", p.peek().text)
	}
	return q, nil
}

func (p *parser) selectStmt(sub bool) (*query, error) {
	if err := p.expect("SELECT"); err != nil {
		return nil, err
	}
	q := &query{limit: -1}
	for {
		t := p.next()
		if t.kind != tIdent {
			return nil, fmt.Errorf("expecting a field, found %q", t.text)
		}
		q.fields = append(q.fields, t.text)
		if !p.punct(",") {
			break
		}
	}
	if err := p.expect("FROM"); err != nil {
		return nil, err
	}
	t := p.next()
	if t.kind != tIdent {
		return nil, fmt.Errorf("expecting an object, found %q", t.text)
	}
	q.object = t.text
	if p.keyword("WHERE") {
		c, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		q.where = c
	}
	if sub {
		return q, nil
	}
	if p.keyword("ORDER") {
		if err := p.expect("BY"); err != nil {
			return nil, err
		}
		for {
			f := p.next()
			if f.kind != tIdent {
				return nil, fmt.Errorf("expecting an order field, found %q", f.text)
			}
			k := orderKey{field: f.text}
			if p.keyword("DESC") {
				k.desc = true
			} else {
				p.keyword("ASC")
			}
			q.order = append(q.order, k)
			if !p.punct(",") {
				break
			}
		}
	}
	if p.keyword("LIMIT") {
		n := p.next()
		v, err := strconv.Atoi(n.text)
		if n.kind != tNumber || err != nil || v < 0 {
			return nil, fmt.Errorf("bad LIMIT %q", n.text)
		}
		q.limit = v
	}
	return q, nil
}

// orExpr parses terms joined by one kind of connective; SOQL rejects
// mixing AND and OR without parentheses.
func (p *parser) orExpr() (cond, error) {
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	b := &boolCond{terms: []cond{first}}
	for {
		var op string
		switch {
		case p.keyword("AND"):
			op = "AND"
		case p.keyword("OR"):
			op = "OR"
		default:
			if len(b.terms) == 1 {
				return first, nil
			}
			return b, nil
		}
		if b.op != "" && b.op != op {
			return nil, fmt.Errorf("unexpected token: mixing AND and OR without parentheses")
		}
		b.op = op
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		b.terms = append(b.terms, t)
	}
}

func (p *parser) term() (cond, error) {
	if p.punct("(") {
		c, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		if !p.punct(")") {
			return nil, fmt.Errorf("expecting )")
		}
		return c, nil
	}
	f := p.next()
	if f.kind != tIdent {
		return nil, fmt.Errorf("expecting a field, found %q", f.text)
	}
	c := &cmpCond{field: f.text}
	switch {
	case p.keyword("LIKE"):
		c.op = "LIKE"
	case p.keyword("IN"):
		c.op = "IN"
	case p.keyword("NOT"):
		if err := p.expect("IN"); err != nil {
			return nil, err
		}
		c.op = "NOTIN"
	default:
		t := p.next()
		if t.kind != tPunct || !strings.Contains("= != < <= > >=", t.text) || t.text == "(" || t.text == ")" || t.text == "," {
			return nil, fmt.Errorf("unexpected operator %q", t.text)
		}
		c.op = t.text
	}
	if c.op == "IN" || c.op == "NOTIN" {
		if !p.punct("(") {
			return nil, fmt.Errorf("expecting ( after IN")
		}
		if t := p.peek(); t.kind == tIdent && strings.EqualFold(t.text, "SELECT") {
			sub, err := p.selectStmt(true)
			if err != nil {
				return nil, err
			}
			if len(sub.fields) != 1 {
				return nil, fmt.Errorf("semi-join must select one field")
			}
			c.sub = sub
		} else {
			for {
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				c.values = append(c.values, v)
				if !p.punct(",") {
					break
				}
			}
		}
		if !p.punct(")") {
			return nil, fmt.Errorf("expecting ) after IN list")
		}
		return c, nil
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if c.op == "LIKE" && v.kind != "string" {
		return nil, fmt.Errorf("LIKE needs a string")
	}
	c.value = v
	return c, nil
}

func (p *parser) value() (value, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return value{"string", t.text}, nil
	case tNumber:
		if len(t.text) >= 10 && t.text[4] == '-' {
			return value{"date", t.text}, nil
		}
		if _, err := strconv.ParseFloat(t.text, 64); err != nil {
			return value{}, fmt.Errorf("bad literal %q", t.text)
		}
		return value{"number", t.text}, nil
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return value{"bool", strings.ToLower(t.text)}, nil
		case "null":
			return value{"null", ""}, nil
		}
	}
	return value{}, fmt.Errorf("expecting a literal, found %q", t.text)
}
