package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"clean", `{"status":"OK","count":3}`, `{"status":"OK","count":3}`},
		{"json token", `{"access_token":"eyJhbGciOi.abc","expires_in":1079}`, `{"access_token":"***","expires_in":1079}`},
		{"json secret spaced", `{"client_secret" : "s3cr\"et", "x":1}`, `{"client_secret" : "***", "x":1}`},
		{"query", `/v2/token?client_secret=abc123&x=1`, `/v2/token?client_secret=***&x=1`},
		{"bearer", `Authorization: Bearer abc.def-ghi`, `Authorization: Bearer ***`},
		{"bearer in text", `sent "Bearer abc.def" to api`, `sent "Bearer ***" to api`},
		{"soap header", `<fueloauth xmlns="http://exacttarget.com">tok123</fueloauth>`, `<fueloauth xmlns="http://exacttarget.com">***</fueloauth>`},
		{"email", `jane.doe+x@example.co.uk is not a valid email`, `***@example.co.uk is not a valid email`},
		{"email url-encoded", `to=jane.doe%40example.com&x=1`, `to=***%40example.com&x=1`},
		{"email IDN domain", `jörg@bücher.de bounced`, `***@bücher.de bounced`},
		{"bare JWT", `token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U expired`, `token *** expired`},
		{"phone", `call +44 20 7946 0958 now`, `call *** now`},
		{"MID is not a phone", `account 510000001 blocked`, `account 510000001 blocked`},
		{"object key field is not a secret key", `{"messageKey":"abc","customerKey":"nightly"}`, `{"messageKey":"abc","customerKey":"nightly"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := String(c.in); got != c.want {
				t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

func TestNoSecretSurvives(t *testing.T) {
	const secret = "TOPSECRETVALUE42"
	inputs := []string{
		`{"access_token":"` + secret + `"}`, `client_secret=` + secret, `Bearer ` + secret,
		`<oAuthToken>` + secret + `</oAuthToken>`, `{"refresh_token": "` + secret + `"}`,
		`authorization=` + secret,
		// SFMC legacy tokens and common secret key names.
		`{"accessToken":"` + secret + `"}`, `{"refreshToken":"` + secret + `"}`, `{"legacyToken":"` + secret + `"}`,
		`{"token":"` + secret + `"}`, `{"secret":"` + secret + `"}`, `{"key":"` + secret + `"}`,
		`{"private_key":"` + secret + `"}`, `{"privateKey":"` + secret + `"}`, `{"signature":"` + secret + `"}`,
		`Authorization: Basic ` + "VE9QU0VDUkVUVkFMVUU0Mg==",
		`postgres://sfmcwatch:` + secret + `@db.internal:5432/sfmcwatch`,
	}
	for _, in := range inputs {
		if got := String(in); strings.Contains(got, secret) || strings.Contains(got, "VE9QU0VDUkVUVkFMVUU0Mg") {
			t.Errorf("secret survived in %q -> %q", in, got)
		}
	}
}

func FuzzBytes(f *testing.F) {
	f.Add([]byte(`{"access_token":"x"} a@b.cd Bearer z`))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := Bytes(b)
		if reEmail.Match(out) {
			t.Fatalf("e-mail survived: %q", out)
		}
	})
}

func BenchmarkBytesClean(b *testing.B) {
	in := []byte(strings.Repeat(`{"status":"OK","count":3,"items":[1,2,3]}`, 20))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Bytes(in)
	}
}

func TestMixedCaseKeys(t *testing.T) {
	for _, in := range []string{`{"Access_Token":"S3CRET"}`, `CLIENT_SECRET=S3CRET`, `{"clientSecret":"S3CRET"}`, `<OAuthToken>S3CRET</OAuthToken>`, `BEARER S3CRET`} {
		if got := String(in); strings.Contains(got, "S3CRET") {
			t.Errorf("%q -> %q", in, got)
		}
	}
}

func BenchmarkBytesURL(b *testing.B) {
	in := []byte(`https://mc123.rest.marketingcloudapis.com/data/v1/customobjectdata/key/DE_Orders/rowset?$page=1&$pageSize=50`)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Bytes(in)
	}
}
