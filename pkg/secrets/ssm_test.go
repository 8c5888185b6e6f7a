package secrets_test

import (
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/secrets"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func TestReadsASecureStringFromParameterStore(t *testing.T) {
	t.Parallel()
	cfg := awstest.Config(t, awstest.Endpoint(t))
	_, err := ssm.NewFromConfig(cfg).PutParameter(t.Context(), &ssm.PutParameterInput{
		Name: aws.String("/hexlambda/test/secret"), Value: aws.String("s3cret-value-0123456789"), Type: ssmtypes.ParameterTypeSecureString,
	})
	require.NoError(t, err)
	got, err := secrets.Parameter(t.Context(), cfg, "/hexlambda/test/secret")
	require.NoError(t, err)
	assert.Equal(t, "s3cret-value-0123456789", got, "decrypted")

	_, err = secrets.Parameter(t.Context(), cfg, "/hexlambda/test/missing")
	require.ErrorIs(t, err, secrets.ErrNotFound)
}

// BenchmarkParameter measures the init cost of reading a cursor key: one
// signed request (here to the emulator; on AWS add the network to SSM).
func BenchmarkParameter(b *testing.B) {
	ep := awstest.Endpoint(b)
	cfg := awstest.Config(b, ep)
	awstest.PutSecureString(b, ep, "/hexlambda/bench/secret", "s3cret-value-0123456789")
	for b.Loop() {
		if _, err := secrets.Parameter(b.Context(), cfg, "/hexlambda/bench/secret"); err != nil {
			b.Fatal(err)
		}
	}
}
