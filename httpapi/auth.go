package httpapi

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gin-gonic/gin"
	passwordvalidator "github.com/wagslane/go-password-validator"

	"github.com/qiuai/parking/occupancy"
)

// Role is what a staff token may do. Each role may do everything the roles
// below it may: viewer < operator < admin.
type Role string

// Staff roles.
const (
	RoleViewer   Role = "viewer"   // reads staff views (rejected messages, sensors, incidents)
	RoleOperator Role = "operator" // acts: closures, incident acknowledgement
	RoleAdmin    Role = "admin"    // runs the service: /api/v1/admin/*
)

// rank orders the roles; an unknown role ranks 0 and may do nothing.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Token is a staff bearer token and the role it grants.
type Token struct {
	Role   Role
	Secret string
}

// String hides the secret, so a token printed by mistake leaks nothing.
func (t Token) String() string { return string(t.Role) + ":<redacted>" }

// minTokenLen is the shortest secret accepted: shorter ones are guessable.
const minTokenLen = 16

// MinTokenBits is the least apparent entropy of a token, in bits
// (TokenEntropy): 128, the strength of 16 random bytes.
const MinTokenBits = 128

// TokenEntropy estimates the bits of entropy a token appears to have, as
// github.com/wagslane/go-password-validator does: log2(base^length), base
// the size of the character classes it uses (lower case, upper case,
// digits, symbols) and length its length once runs of a character
// ("aaaa") and of a sequence ("1234", "abcd", "qwer") past two are taken
// out. 32 random hex digits give about 165 bits; aaaaaaaaaaaaaaaa gives 9.
func TokenEntropy(secret string) float64 { return passwordvalidator.GetEntropy(secret) }

// CheckToken refuses a secret that a guess could find: one shorter than
// 16 characters, holding a space, or with less than MinTokenBits of
// apparent entropy. The error never shows the secret.
func CheckToken(secret string) error {
	switch bits := TokenEntropy(secret); {
	case len(secret) < minTokenLen:
		return fmt.Errorf("token shorter than %d characters", minTokenLen)
	case strings.ContainsAny(secret, " \t"):
		return errors.New("token holds a space")
	case bits < MinTokenBits:
		return fmt.Errorf("token has about %.0f bits of apparent entropy, under %d: use a random one, "+
			"e.g. `openssl rand -hex 24`", bits, MinTokenBits)
	}
	return nil
}

// ParseTokens reads staff tokens written "role:secret", separated by commas
// or newlines (PARKD_TOKENS, or the lines of PARKD_TOKENS_FILE). Blank
// entries and lines starting with # are skipped; every secret must pass
// CheckToken. The error names the entry by position and role, never by
// secret.
func ParseTokens(s string) ([]Token, error) {
	var out []Token
	seen := map[string]bool{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' })
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "#") {
			continue
		}
		role, secret, ok := strings.Cut(f, ":")
		t := Token{Role: Role(strings.TrimSpace(role)), Secret: strings.TrimSpace(secret)}
		if !ok || !t.Role.Valid() {
			return nil, fmt.Errorf("tokens: entry %d: want role:token with role viewer, operator or admin", i+1)
		}
		if err := CheckToken(t.Secret); err != nil {
			return nil, fmt.Errorf("tokens: entry %d (%s): %w", i+1, t.Role, err)
		}
		if seen[t.Secret] {
			return nil, fmt.Errorf("tokens: entry %d (%s): token given twice", i+1, t.Role)
		}
		seen[t.Secret] = true
		out = append(out, t)
	}
	return out, nil
}

// ReadTokens is ParseTokens on a reader (a tokens file).
func ReadTokens(r io.Reader) ([]Token, error) {
	var b strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return ParseTokens(b.String())
}

// Error codes of staff access and rate limits.
const (
	eUnauthorized = "unauthorized"
	eForbidden    = "forbidden"
)

// roleKey is where authenticate leaves the caller's role in the gin context.
const roleKey = "httpapi.role"

// authenticator knows the staff tokens. Secrets are kept as SHA-256 digests,
// so every comparison is of 32 bytes and takes the same time whatever the
// length of the presented token.
type authenticator struct {
	digests [][32]byte
	roles   []Role
}

func newAuthenticator(tokens []Token) *authenticator {
	a := &authenticator{}
	for _, t := range tokens {
		a.digests = append(a.digests, sha256.Sum256([]byte(t.Secret)))
		a.roles = append(a.roles, t.Role)
	}
	return a
}

// role returns the role of secret, or "" when it matches no token. It
// compares against every token, in constant time each, and never stops at
// the first match.
func (a *authenticator) role(secret string) Role {
	d := sha256.Sum256([]byte(secret))
	var found Role
	for i := range a.digests {
		if subtle.ConstantTimeCompare(d[:], a.digests[i][:]) == 1 {
			found = a.roles[i]
		}
	}
	return found
}

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authenticate puts the caller's role, if it presents a valid token, in the
// context. It rejects nothing: requireRole does.
func (a *authenticator) authenticate(c *gin.Context) {
	if tok, ok := bearer(c); ok && len(a.digests) > 0 {
		if role := a.role(tok); role != "" {
			c.Set(roleKey, role)
		}
	}
	c.Next()
}

// callerRole is the role authenticate found, or "".
func callerRole(c *gin.Context) Role {
	r, _ := c.Get(roleKey)
	role, _ := r.(Role)
	return role
}

// requireRole lets through callers whose token grants at least role: 401
// (with WWW-Authenticate: Bearer) without a valid token, 403 for a role too
// low. It runs after authenticate.
func requireRole(role Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		got := callerRole(c)
		switch {
		case got == "":
			c.Header("WWW-Authenticate", `Bearer realm="parkd"`)
			fail(c, occupancy.Errorf(eUnauthorized, "a valid staff bearer token is required"))
		case got.rank() < role.rank():
			fail(c, occupancy.Errorf(eForbidden, "role %s may not do this; it needs %s", got, role))
		default:
			c.Next()
		}
	}
}
