package faulttest_test

import (
	"os"
	"testing"

	"github.com/saasplatform/saas/internal/platform/testkit"
)

func TestMain(m *testing.M) {
	code := testkit.Main(m)
	removeBinary()
	os.Exit(code)
}
