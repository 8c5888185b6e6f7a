package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// MaxBodyBytes is the largest request body DecodeJSON accepts.
const MaxBodyBytes = 64 << 10

// Codes of body decoding.
const (
	CodeEmptyBody        = "empty_body"
	CodeBodyTooLarge     = "body_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidType      = "invalid_type"
	CodeUnknownField     = "unknown_field"
	CodeReadOnlyField    = "read_only_field"
	CodeDuplicateField   = "duplicate_field"
)

// JSON returns a response with v encoded as JSON. A value that cannot be
// encoded is a programming error and yields a 500 error body.
func JSON(status int, v any) ports.Response {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"error":{"code":"internal_error","message":"internal error"}}`)
		status = http.StatusInternalServerError
	}
	h := make(http.Header, 2)
	h.Set("Content-Type", "application/json")
	return ports.Response{Status: status, Header: h, Body: body}
}

// NoContent returns an empty 204 response.
func NoContent() ports.Response {
	return ports.Response{Status: http.StatusNoContent, Header: make(http.Header)}
}

// DecodeJSON decodes the request body, a JSON object, into dst strictly:
// the body must be present, at most MaxBodyBytes, JSON (when a Content-Type
// is given), free of unknown fields and trailing data, with values of the
// right types. Fields named in readOnly (compared case-insensitively) are
// refused with a read_only_field error. Every failure is an *Error with a 4xx
// status.
func DecodeJSON(req ports.Request, dst any, readOnly ...string) error {
	if len(req.Body) > MaxBodyBytes {
		return Errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the request body is larger than %d bytes", MaxBodyBytes)
	}
	if len(bytes.TrimSpace(req.Body)) == 0 {
		return NewError(http.StatusBadRequest, CodeEmptyBody, "a JSON request body is required")
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "the request body must be application/json")
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &fields); err != nil {
		return jsonError(err)
	}
	if fields == nil {
		return NewError(http.StatusBadRequest, CodeInvalidJSON, "the request body must be a JSON object")
	}
	if field, bad := invalidText(req.Body); bad {
		return textError(field)
	}
	if name, dup := duplicateKey(req.Body); dup {
		// Parsers disagree on which of two equal keys wins; refuse rather
		// than pick one that a proxy or a validator did not see.
		return Errorf(http.StatusBadRequest, CodeDuplicateField, "field %q appears more than once", name).WithDetail("field", name)
	}
	for name := range fields {
		for _, ro := range readOnly {
			if strings.EqualFold(name, ro) {
				return Errorf(http.StatusBadRequest, CodeReadOnlyField, "field %q is set by the server and cannot be written", name).
					WithDetail("field", name)
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return NewError(http.StatusBadRequest, CodeInvalidJSON, "the request body has data after the JSON object")
	}
	return nil
}

// duplicateKey reports the first key that appears twice in one object of
// body, at any depth. body is known to be valid JSON.
func duplicateKey(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next token of an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.object {
					top.key = true // the object or array was a value
				}
				stack = append(stack, &frame{object: d == '{', keys: map[string]bool{}, key: true})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if top.key {
			name, _ := tok.(string)
			if top.keys[name] {
				return name, true
			}
			top.keys[name] = true
			top.key = false
			continue
		}
		top.key = true
	}
}

func jsonError(err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return Errorf(http.StatusBadRequest, CodeInvalidJSON, "the request body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return NewError(http.StatusBadRequest, CodeInvalidJSON, "the request body must be a JSON object")
		}
		return Errorf(http.StatusBadRequest, CodeInvalidType, "field %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value).
			WithDetail("field", typeErr.Field)
	case errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(err.Error(), "unexpected end of JSON input"):
		return NewError(http.StatusBadRequest, CodeInvalidJSON, "the request body is truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Errorf(http.StatusBadRequest, CodeUnknownField, "field %q is not part of this request", name).WithDetail("field", name)
	default:
		return NewError(http.StatusBadRequest, CodeInvalidJSON, fmt.Sprintf("the request body could not be decoded: %s", sanitize(err.Error())))
	}
}

func jsonKind(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	default:
		return "of another type"
	}
}

// sanitize keeps a decoder message short and printable.
func sanitize(s string) string {
	s = strings.TrimPrefix(s, "json: ")
	if len(s) > 120 {
		s = s[:120]
	}
	return strings.ToValidUTF8(s, "?")
}
