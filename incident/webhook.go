package incident

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Standard Webhooks (https://www.standardwebhooks.com) headers.
const (
	headerID        = "webhook-id"
	headerTimestamp = "webhook-timestamp"
	headerSignature = "webhook-signature"
	secretPrefix    = "whsec_"
)

// parseSecret decodes a Standard Webhooks secret: "whsec_" (optional) and the
// base64 of 24 to 64 random bytes. Its errors never quote the secret.
func parseSecret(s string) ([]byte, error) {
	b64 := strings.TrimPrefix(s, secretPrefix)
	if b64 == "" {
		return nil, errors.New("empty secret")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New(`not "whsec_" followed by standard base64`)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("decodes to %d bytes; Standard Webhooks wants 24 to 64", len(key))
	}
	return key, nil
}

// sign is the webhook-signature header value: "v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body".
func sign(key []byte, id string, unix int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, unix, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// messageID makes Event.ID() a header value. Terms may be Devanagari and a
// header should be ASCII, so bytes outside printable ASCII, and '%' itself, are
// percent-encoded: an ASCII ID goes out unchanged, and the mapping stays
// one-to-one and the same on every retry and replay, which is what a receiver
// dedups on.
func messageID(id string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c > ' ' && c < 0x7f && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}
