package keycrypto

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// SignJWT signs payload, a JSON claims object, as a compact JWS whose
// protected header carries alg, kid and typ. Verifiers select the key by kid
// in the JWKS and, per RFC 8725, check typ (e.g. "at+jwt" for access tokens)
// so that one kind of token cannot be replayed as another; both are therefore
// required. Claims are the caller's business; this only signs.
func SignJWT(signer crypto.Signer, alg Algorithm, kid string, payload []byte, typ string) ([]byte, error) {
	if kid == "" || typ == "" {
		return nil, errors.New("keycrypto: kid and typ are required")
	}
	if !json.Valid(payload) || !bytes.HasPrefix(bytes.TrimLeft(payload, " \t\r\n"), []byte("{")) {
		return nil, errors.New("keycrypto: payload is not a JSON object")
	}
	if err := alg.accepts(signer.Public()); err != nil {
		return nil, err
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.KeyIDKey, kid); err != nil {
		return nil, err
	}
	if err := h.Set(jws.TypeKey, typ); err != nil {
		return nil, err
	}
	token, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), signer, jws.WithProtectedHeaders(h)))
	if err != nil {
		return nil, fmt.Errorf("keycrypto: sign: %w", err)
	}
	return token, nil
}
