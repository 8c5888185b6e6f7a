package localgw

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// IAMVerifier checks AWS_IAM (SigV4) requests as API Gateway would, against
// the credentials it knows (an emulator has no real IAM): the signature
// must be valid for service execute-api in the region, and recent.
type IAMVerifier struct {
	Region string
	// Secrets maps access key ids to secret keys.
	Secrets map[string]string
	Now     func() time.Time
}

// authError is a refusal, worded as API Gateway words it.
type authError string

func (e authError) Error() string { return string(e) }

// Verify returns the caller's access key id or an error whose text is
// API Gateway's message.
func (v *IAMVerifier) Verify(r *http.Request, body []byte) (string, error) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return "", authError("Missing Authentication Token")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = val
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[3] != "execute-api" || scope[4] != "aws4_request" {
		return "", authError("Authorization header requires 'Credential' for execute-api")
	}
	akid, region := scope[0], scope[2]
	secret, ok := v.Secrets[akid]
	if !ok {
		return "", authError("The security token included in the request is invalid.")
	}
	if region != v.Region {
		return "", authError("Credential should be scoped to a valid region.")
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if err != nil || now().Sub(signedAt).Abs() > 5*time.Minute {
		return "", authError("Signature expired or not yet current")
	}
	// Sign the same request again with the known secret and compare.
	clone := httptest.NewRequestWithContext(r.Context(), r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	clone.ContentLength = int64(len(body)) // signed as content-length when present
	clone.Header = http.Header{}
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h == "host" {
			continue
		}
		if vals := r.Header.Values(h); len(vals) > 0 {
			clone.Header[http.CanonicalHeaderKey(h)] = vals
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, clone, hex.EncodeToString(sum[:]), "execute-api", region, signedAt); err != nil {
		return "", authError("The request signature we calculated does not match the signature you provided.")
	}
	if clone.Header.Get("Authorization") != auth {
		return "", authError("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return akid, nil
}
