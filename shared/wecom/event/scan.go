package event

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// scanner walks the children of the <xml> root of a document, one element at
// a time. It works on a string so that field values can be substrings of the
// document: a typical callback costs a single allocation for all fields.
type scanner struct {
	s    string
	i    int
	done bool // the root's end has been reached
}

// newScanner positions a scanner just inside the root element, skipping any
// prolog (XML declaration, comments, DOCTYPE, text). It returns ErrNoRoot if
// the first element is not <xml>, ErrSyntax if there is no element at all.
func newScanner(s string) (scanner, error) {
	sc := scanner{s: s}
	for {
		j := strings.IndexByte(sc.s[sc.i:], '<')
		if j < 0 {
			return scanner{}, errSyntax("no root element")
		}
		sc.i += j
		if ok, err := sc.skipMisc(); err != nil {
			return scanner{}, err
		} else if ok {
			continue
		}
		if strings.HasPrefix(sc.s[sc.i:], "</") || strings.HasPrefix(sc.s[sc.i:], "<![CDATA[") {
			return scanner{}, errSyntax("no root element")
		}
		name, selfClosing, err := sc.startTag()
		if err != nil {
			return scanner{}, err
		}
		if localName(name) != "xml" {
			return scanner{}, ErrNoRoot
		}
		sc.done = selfClosing // an empty root has no children
		return sc, nil
	}
}

// next returns the local name and the character data of the next child
// element of the root. ok is false once the root's end tag (or the end of
// a self-closing root) is reached; a missing end tag is ErrSyntax.
func (sc *scanner) next() (name, value string, ok bool, err error) {
	for !sc.done {
		j := strings.IndexByte(sc.s[sc.i:], '<')
		if j < 0 {
			return "", "", false, errSyntax("unexpected end of input in <xml>")
		}
		sc.i += j // text directly inside the root is ignored
		if skipped, err := sc.skipMisc(); err != nil {
			return "", "", false, err
		} else if skipped {
			continue
		}
		if strings.HasPrefix(sc.s[sc.i:], "<![CDATA[") {
			if err := sc.skipCDATA(); err != nil {
				return "", "", false, err
			}
			continue
		}
		if strings.HasPrefix(sc.s[sc.i:], "</") {
			if err := sc.endTag(); err != nil {
				return "", "", false, err
			}
			sc.done = true // whatever follows the root is ignored
			return "", "", false, nil
		}
		raw, selfClosing, err := sc.startTag()
		if err != nil {
			return "", "", false, err
		}
		if selfClosing {
			return localName(raw), "", true, nil
		}
		value, err := sc.content()
		if err != nil {
			return "", "", false, err
		}
		return localName(raw), value, true, nil
	}
	return "", "", false, nil
}

// content reads the character data of the element whose start tag was just
// consumed, up to and including its end tag. Nested elements are skipped.
func (sc *scanner) content() (string, error) {
	var (
		single  string // the only segment so far, when it needs no rewriting
		nseg    int
		builder []byte
	)
	add := func(seg string, cdata bool) {
		if seg == "" {
			return
		}
		if nseg == 0 && !needsRewrite(seg, cdata) {
			single = seg
			nseg = 1
			return
		}
		if nseg == 1 && builder == nil {
			builder = append(make([]byte, 0, len(single)+len(seg)+8), single...)
		}
		nseg++
		builder = appendText(builder, seg, cdata)
	}
	for {
		j := strings.IndexByte(sc.s[sc.i:], '<')
		if j < 0 {
			return "", errSyntax("unexpected end of input in element")
		}
		add(sc.s[sc.i:sc.i+j], false)
		sc.i += j
		rest := sc.s[sc.i:]
		switch {
		case strings.HasPrefix(rest, "<![CDATA["):
			start := sc.i + len("<![CDATA[")
			if err := sc.skipCDATA(); err != nil {
				return "", err
			}
			add(sc.s[start:sc.i-len("]]>")], true)
		case strings.HasPrefix(rest, "</"):
			if err := sc.endTag(); err != nil {
				return "", err
			}
			if builder != nil {
				return string(builder), nil
			}
			return single, nil
		default:
			if skipped, err := sc.skipMisc(); err != nil {
				return "", err
			} else if skipped {
				continue
			}
			if err := sc.skipElement(); err != nil {
				return "", err
			}
		}
	}
}

// skipElement skips a whole element starting at its start tag, with all
// its descendants.
func (sc *scanner) skipElement() error {
	depth := 0
	for {
		j := strings.IndexByte(sc.s[sc.i:], '<')
		if j < 0 {
			return errSyntax("unexpected end of input in nested element")
		}
		sc.i += j
		rest := sc.s[sc.i:]
		switch {
		case strings.HasPrefix(rest, "<![CDATA["):
			if err := sc.skipCDATA(); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "</"):
			if err := sc.endTag(); err != nil {
				return err
			}
			depth--
			if depth == 0 {
				return nil
			}
		default:
			if skipped, err := sc.skipMisc(); err != nil {
				return err
			} else if skipped {
				continue
			}
			_, selfClosing, err := sc.startTag()
			if err != nil {
				return err
			}
			if !selfClosing {
				depth++
			} else if depth == 0 {
				return nil
			}
		}
	}
}

// skipMisc skips a comment, processing instruction or directive at sc.i
// (which holds '<') and reports whether it did.
func (sc *scanner) skipMisc() (bool, error) {
	rest := sc.s[sc.i:]
	switch {
	case strings.HasPrefix(rest, "<!--"):
		k := strings.Index(rest[4:], "-->")
		if k < 0 {
			return false, errSyntax("unterminated comment")
		}
		sc.i += 4 + k + 3
		return true, nil
	case strings.HasPrefix(rest, "<?"):
		k := strings.Index(rest[2:], "?>")
		if k < 0 {
			return false, errSyntax("unterminated processing instruction")
		}
		sc.i += 2 + k + 2
		return true, nil
	case strings.HasPrefix(rest, "<![CDATA["):
		return false, nil
	case strings.HasPrefix(rest, "<!"):
		return true, sc.skipDirective()
	}
	return false, nil
}

// skipDirective skips <!DOCTYPE …> and similar, balancing nested angle
// brackets and honouring quotes and comments, as encoding/xml does.
func (sc *scanner) skipDirective() error {
	depth := 0
	var quote byte
	// Like encoding/xml, the byte right after "<!" belongs to the directive
	// whatever it is (so "<!>" does not end there).
	for k := sc.i + 3; k < len(sc.s); k++ {
		c := sc.s[k]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '<' && strings.HasPrefix(sc.s[k:], "<!--"):
			e := strings.Index(sc.s[k+4:], "-->")
			if e < 0 {
				return errSyntax("unterminated comment in directive")
			}
			k += 4 + e + 2
		case c == '<':
			depth++
		case c == '>':
			if depth == 0 {
				sc.i = k + 1
				return nil
			}
			depth--
		}
	}
	return errSyntax("unterminated directive")
}

// skipCDATA skips a CDATA section starting at sc.i.
func (sc *scanner) skipCDATA() error {
	start := sc.i + len("<![CDATA[")
	k := strings.Index(sc.s[start:], "]]>")
	if k < 0 {
		return errSyntax("unterminated CDATA section")
	}
	sc.i = start + k + 3
	return nil
}

// startTag consumes a start tag at sc.i and returns its raw name and whether
// it is self-closing. Attributes are skipped (quoted values may hold '>').
func (sc *scanner) startTag() (name string, selfClosing bool, err error) {
	k := sc.i + 1
	n := nameLen(sc.s[k:])
	if n == 0 {
		return "", false, errSyntax("expected element name")
	}
	name = sc.s[k : k+n]
	k += n
	var quote byte
	for ; k < len(sc.s); k++ {
		c := sc.s[k]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			sc.i = k + 1
			return name, sc.s[k-1] == '/', nil
		case c == '<':
			return "", false, errSyntax("'<' in start tag")
		}
	}
	return "", false, errSyntax("unterminated start tag")
}

// endTag consumes an end tag at sc.i ("</name>").
func (sc *scanner) endTag() error {
	k := strings.IndexByte(sc.s[sc.i:], '>')
	if k < 0 {
		return errSyntax("unterminated end tag")
	}
	sc.i += k + 1
	return nil
}

// nameLen returns the length of the XML name at the start of s, using the
// byte classes of encoding/xml (ASCII name bytes plus any non-ASCII byte).
func nameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' ||
			'0' <= c && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-' {
			continue
		}
		return i
	}
	return len(s)
}

// localName strips a namespace prefix ("p:Name" → "Name") the way
// encoding/xml splits names.
func localName(s string) string {
	i := strings.IndexByte(s, ':')
	if i <= 0 || i == len(s)-1 || strings.IndexByte(s[i+1:], ':') >= 0 {
		return s
	}
	return s[i+1:]
}

// needsRewrite reports whether seg must be unescaped or line-end normalised.
func needsRewrite(seg string, cdata bool) bool {
	if strings.IndexByte(seg, '\r') >= 0 {
		return true
	}
	return !cdata && strings.IndexByte(seg, '&') >= 0
}

// appendText appends seg to b, normalising "\r\n" and "\r" to "\n" and, for
// plain text, replacing the five predefined entities and character
// references. Unknown or malformed references are kept literally.
func appendText(b []byte, seg string, cdata bool) []byte {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '\r':
			b = append(b, '\n')
			if i+1 < len(seg) && seg[i+1] == '\n' {
				i++
			}
		case c == '&' && !cdata:
			if r, n, ok := entity(seg[i:]); ok {
				b = utf8.AppendRune(b, r)
				i += n - 1
			} else {
				b = append(b, c)
			}
		default:
			b = append(b, c)
		}
	}
	return b
}

// entity decodes the reference at the start of s ("&amp;", "&#60;",
// "&#x3C;") and returns the rune and the reference length.
func entity(s string) (rune, int, bool) {
	semi := strings.IndexByte(s, ';')
	if semi < 2 {
		return 0, 0, false
	}
	ref := s[1:semi]
	switch ref {
	case "lt":
		return '<', semi + 1, true
	case "gt":
		return '>', semi + 1, true
	case "amp":
		return '&', semi + 1, true
	case "apos":
		return '\'', semi + 1, true
	case "quot":
		return '"', semi + 1, true
	}
	if ref[0] != '#' || len(ref) < 2 {
		return 0, 0, false
	}
	digits, base := ref[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' || strings.IndexByte(digits, '_') >= 0 {
		return 0, 0, false
	}
	n, err := strconv.ParseUint(digits, base, 64)
	if err != nil || n > utf8.MaxRune {
		return 0, 0, false
	}
	return rune(n), semi + 1, true
}
