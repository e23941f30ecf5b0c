package httpapi

import (
	"os"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestMain runs the tests with Gin in test mode: no route list or debug
// warnings on stdout (gin.SetMode is process-wide and NewRouter leaves it
// to its caller).
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}
