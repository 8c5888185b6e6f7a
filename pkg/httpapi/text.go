package httpapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// CodeInvalidText is the code of text that is not valid Unicode: bytes
// that are not UTF-8, or an escaped UTF-16 surrogate without its pair
// (which decoders would otherwise store silently as U+FFFD).
const CodeInvalidText = "invalid_text"

// checkParameters refuses query and path parameters that are not UTF-8,
// naming the first.
func checkParameters(req ports.Request) error {
	for _, name := range slices.Sorted(maps.Keys(req.Query)) {
		ok := utf8.ValidString(name)
		for _, v := range req.Query[name] {
			ok = ok && utf8.ValidString(v)
		}
		if !ok {
			name = strings.ToValidUTF8(name, "\uFFFD")
			return Errorf(http.StatusBadRequest, CodeInvalidText, "query parameter %q is not valid UTF-8 text", name).WithDetail("parameter", name)
		}
	}
	for name, v := range req.PathParams {
		if !utf8.ValidString(v) {
			return Errorf(http.StatusBadRequest, CodeInvalidText, "path parameter %q is not valid UTF-8 text", name).WithDetail("parameter", name)
		}
	}
	return nil
}

// invalidText returns the path (a.b[2].c) of the first string of body, key
// or value, that is not valid Unicode. body is valid JSON.
func invalidText(body []byte) (string, bool) {
	type frame struct {
		object    bool
		expectKey bool
		key       string
		index     int
	}
	var stack []*frame
	path := func(inKey string) string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.object && f.expectKey:
			case f.object:
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			default:
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		if inKey != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(inKey)
		}
		return b.String()
	}
	for i := 0; i < len(body); {
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch body[i] {
		case '{', '[':
			stack = append(stack, &frame{object: body[i] == '{', expectKey: body[i] == '{'})
			i++
		case '}', ']':
			stack = stack[:len(stack)-1]
			i++
		case ':':
			top.expectKey = false
			i++
		case ',':
			if top.object {
				top.expectKey = true
			} else {
				top.index++
			}
			i++
		case '"':
			end, valid := scanString(body, i)
			isKey := top != nil && top.object && top.expectKey
			if isKey {
				var name string
				_ = json.Unmarshal(body[i:end], &name)
				top.key = name
				if !valid {
					return path(name), true
				}
			} else if !valid {
				return path(""), true
			}
			i = end
		default:
			i++
		}
	}
	return "", false
}

// scanString reads the JSON string starting at body[start] (a quote) and
// returns the index after its closing quote, and whether its text is
// valid Unicode.
func scanString(body []byte, start int) (int, bool) {
	valid := true
	hex4 := func(at int) (rune, bool) {
		if at+4 > len(body) {
			return 0, false
		}
		n, err := strconv.ParseInt(string(body[at:at+4]), 16, 32) // four hex digits: at most 0xFFFF
		return rune(n), err == nil
	}
	for j := start + 1; j < len(body); {
		switch c := body[j]; {
		case c == '"':
			return j + 1, valid
		case c == '\\' && j+1 < len(body) && body[j+1] == 'u':
			r, _ := hex4(j + 2)
			j += 6
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				if j+1 < len(body) && body[j] == '\\' && body[j+1] == 'u' {
					if low, ok := hex4(j + 2); ok && low >= 0xDC00 && low <= 0xDFFF {
						j += 6
						continue
					}
				}
				valid = false
			case r >= 0xDC00 && r <= 0xDFFF:
				valid = false
			}
		case c == '\\':
			j += 2
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(body[j:])
			if r == utf8.RuneError && size <= 1 {
				valid = false
			}
			j += max(size, 1)
		}
	}
	return len(body), valid
}

// textError is the answer to a body with invalid text at field.
func textError(field string) *Error {
	return Errorf(http.StatusBadRequest, CodeInvalidText,
		"field %q is not valid Unicode text (a byte that is not UTF-8, or an escaped UTF-16 surrogate without its pair)", field).
		WithDetail("field", field)
}
