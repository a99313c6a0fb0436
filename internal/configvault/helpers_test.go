package configvault_test

import (
	"crypto"
	"encoding/base64"
	"net/http"

	"github.com/lestrrat-go/jwx/v2/jwk"

	client "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
)

const cryptoSHA256 = crypto.SHA256

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// storedSigner opens the key's sealed private key from the database, as the
// signing operation will.
func (e *env) storedSigner(k client.SigningKey) crypto.Signer {
	e.t.Helper()
	var sealed []byte
	var mk string
	if err := e.pool.QueryRow(ctx, "SELECT private_key_ciphertext, master_key_id FROM configvault.signing_keys WHERE id = $1", k.Id).Scan(&sealed, &mk); err != nil {
		e.t.Fatal(err)
	}
	s, err := e.keyring.OpenSigner(sealed, mk, k.Id[:], keycrypto.Algorithm(k.Algorithm))
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// jwks fetches a key set as a relying party would.
func (e *env) jwks(url string) jwk.Set {
	e.t.Helper()
	resp, err := e.http.Get(url)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	set, err := jwk.ParseReader(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return set
}
