package localgw

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Principal is an identity the emulator's IAM and STS know, with the
// credentials it signs with.
type Principal struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is set for temporary credentials: a request must carry
	// it, and a request carrying any other is refused.
	SessionToken string
	ARN          string // as STS GetCallerIdentity names it
	ID           string // the principal id (UserId)
	Account      string
}

// IAMVerifier checks AWS_IAM (SigV4) requests as API Gateway does, against
// the principals it knows: the signature must be valid for service
// execute-api in the region, over the headers the client chose to sign,
// and recent.
type IAMVerifier struct {
	Region string
	// Principals are the known identities by access key id.
	Principals map[string]Principal
	Now        func() time.Time
}

// authError is a refusal, worded as API Gateway words it.
type authError struct {
	kind    string // x-amzn-ErrorType
	message string
}

func (e *authError) Error() string { return e.message }

var (
	errMissingToken = &authError{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	errIncomplete   = &authError{"IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters, and 'host' and 'x-amz-date' must be signed."}
	// An unknown access key, an unknown session token and a credential
	// scoped to another region, service or day get the same answer: the
	// answer must not tell a caller which keys exist.
	errInvalidToken = &authError{"UnrecognizedClientException", "The security token included in the request is invalid."}
	errExpired      = &authError{"InvalidSignatureException", "Signature expired: the request was signed more than 5 minutes from the server's time."}
	errSignature    = &authError{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
)

// Verify returns the caller or an *authError carrying API Gateway's answer.
func (v *IAMVerifier) Verify(r *http.Request, body []byte) (Principal, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Principal{}, errMissingToken
	}
	a, ok := parseAuthorization(auth)
	signed := strings.Split(a.signedHeaders, ";")
	amzDate := r.Header.Get("X-Amz-Date")
	if !ok || a.signature == "" || !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") || amzDate == "" {
		return Principal{}, errIncomplete
	}
	scope := a.scope
	p, known := v.Principals[scope[0]]
	token := r.Header.Get("X-Amz-Security-Token")
	if !known || scope[2] != v.Region || scope[3] != "execute-api" || scope[4] != "aws4_request" ||
		!strings.HasPrefix(amzDate, scope[1]+"T") ||
		subtle.ConstantTimeCompare([]byte(token), []byte(p.SessionToken)) != 1 {
		return Principal{}, errInvalidToken
	}
	signedAt, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return Principal{}, errIncomplete
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if now().Sub(signedAt).Abs() > 5*time.Minute {
		return Principal{}, errExpired
	}
	sum := sha256.Sum256(body)
	canonical := strings.Join([]string{
		r.Method, canonicalURI(r.URL), canonicalQuery(r.URL), canonicalHeaders(r, signed), a.signedHeaders, hex.EncodeToString(sum[:]),
	}, "\n")
	creq := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(creq[:])
	key := []byte("AWS4" + p.SecretAccessKey)
	for _, s := range scope[1:] {
		key = hmacSHA256(key, s)
	}
	want := hmacSHA256(key, toSign)
	got, err := hex.DecodeString(a.signature)
	if err != nil || !hmac.Equal(want, got) {
		return Principal{}, errSignature
	}
	return p, nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// authorization is a SigV4 Authorization header's parts.
type authorization struct {
	// scope is the credential: access key id, date, region, service,
	// aws4_request.
	scope         []string
	signedHeaders string
	signature     string
}

// parseAuthorization reads an AWS4-HMAC-SHA256 Authorization header; ok is
// false when it is none or its credential is not a full scope.
func parseAuthorization(header string) (authorization, bool) {
	rest, ok := strings.CutPrefix(header, "AWS4-HMAC-SHA256 ")
	if !ok {
		return authorization{}, false
	}
	var a authorization
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			a.scope = strings.Split(val, "/")
		case "SignedHeaders":
			a.signedHeaders = val
		case "Signature":
			a.signature = val
		}
	}
	return a, len(a.scope) == 5
}

// canonicalURI is the request path as sent, URI-encoded once more (every
// service but S3 signs the path encoded twice).
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery sorts the parameters by name, then value, each encoded
// as RFC 3986 says.
func canonicalQuery(u *url.URL) string {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return u.RawQuery
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, val := range vals {
			parts = append(parts, uriEncode(k, true)+"="+uriEncode(val, true))
		}
	}
	return strings.Join(parts, "&")
}

// canonicalHeaders lists the signed headers, in the client's order, each
// with its values trimmed, inner runs of spaces collapsed and joined by
// commas.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		var vals []string
		switch name {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			vals = append([]string(nil), r.Header.Values(name)...)
			if len(vals) == 0 && r.ContentLength >= 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			vals = append([]string(nil), r.Header.Values(name)...)
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(name + ":" + strings.Join(vals, ",") + "\n")
	}
	return b.String()
}

// uriEncode percent-encodes every byte but the unreserved characters (and
// '/' unless encodeSlash).
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
