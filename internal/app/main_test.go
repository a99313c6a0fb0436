package app_test

import (
	"os"
	"testing"

	"github.com/saasplatform/saas/internal/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }
