package auth

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"encoding/base64"
	"hash"
	"testing"
)

// saltedPassword is RFC 5802's Hi(password, salt, i).
func saltedPassword(t *testing.T, mech, password string, salt []byte, iter int) []byte {
	t.Helper()
	h, _ := scramHash(mech)
	k, err := pbkdf2.Key(func() hash.Hash { return h() }, password, salt, iter, h().Size())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// librdkafkaFinal builds the client-final message librdkafka sends, with
// nonce as given (its own nonce and then the server's whole nonce), and
// the proof RFC 5802 computes for it.
func librdkafkaFinal(t *testing.T, password string, cred Credential, clientBare, serverFirst, nonce string) string {
	t.Helper()
	h, _ := scramHash(ScramSHA256)
	salted := saltedPassword(t, ScramSHA256, password, cred.Salt, cred.Iterations)
	mac := func(key []byte, s string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	sum := h()
	sum.Write(clientKey)
	storedKey := sum.Sum(nil)
	withoutProof := "c=biws,r=" + nonce
	sig := mac(storedKey, clientBare+","+serverFirst+","+withoutProof)
	proof := make([]byte, len(sig))
	for i := range sig {
		proof[i] = clientKey[i] ^ sig[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)
}
