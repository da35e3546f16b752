package zkresolver

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The manual and the package documentation state what the code does:
// the scheme, the version parameter, the metadata conventions, the retry
// waits and the weight's scale.
func TestManualsStateTheCode(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	require.NoError(t, err)
	retry := fmt.Sprintf("after %s, doubling up to %s", minRetry, maxRetry)
	for _, want := range []string{
		"`" + Scheme + ":///greeter`",
		"`" + Scheme + ":///greeter?" + VersionParam + "=1.2.0`",
		"| `" + MetaWeight + "` |",
		"| `" + MetaStatus + "` | `" + StatusDraining + "`: ",
		retry,
		fmt.Sprintf("weight ×%d, rounded, at least 1", weightScale),
	} {
		assert.Contains(t, string(readme), want, "README.md")
	}
	flat := strings.Join(strings.Fields(f.Doc.Text()), " ")
	assert.Contains(t, flat, retry, "doc.go")
	assert.Contains(t, flat, Scheme+":///SERVICE?"+VersionParam+"=VERSION", "doc.go")
}
