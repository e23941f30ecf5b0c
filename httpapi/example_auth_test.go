package httpapi_test

import (
	"fmt"

	"github.com/qiuai/parking/httpapi"
)

// Staff tokens come from PARKD_TOKENS ("role:token,…") or the lines of
// PARKD_TOKENS_FILE; printing a token never shows its secret.
func ExampleParseTokens() {
	tokens, err := httpapi.ParseTokens("operator:op-bfeafb703b4c321c3e46e180334f7999,viewer:vw-a0d2c0e3aae1f2e9342a1469d23c1fdd")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tokens)
	_, err = httpapi.ParseTokens("root:0123456789abcdef0")
	fmt.Println(err)
	// Output:
	// [operator:<redacted> viewer:<redacted>]
	// tokens: entry 1: want role:token with role viewer, operator or admin
}
