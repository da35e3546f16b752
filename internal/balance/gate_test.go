package balance

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLoadGatePublishesChangesThatMatter(t *testing.T) {
	type offer struct {
		load    float64
		text    string
		publish bool
	}
	tests := []struct {
		name   string
		offers []offer // each one published when publish is true
	}{
		{"the first load, whatever it is", []offer{{0, "0", true}}},
		{"steady: nothing", []offer{{3, "3", true}, {3.04, "3", false}, {3.3, "3.3", false}}},
		{"half a request at least", []offer{{1, "1", true}, {1.4, "1.4", false}, {1.5, "1.5", true}}},
		{"20% at least", []offer{{10, "10", true}, {11.9, "11.9", false}, {8.1, "8.1", false}, {12, "12", true}}},
		{"idle is always news", []offer{{0.3, "0.3", true}, {0, "0", true}, {0.4, "0.4", false}, {0, "0", false}}},
		{"rounded to one decimal", []offer{{2.345, "2.3", true}, {0.04, "0", true}}},
		{"negative and NaN are 0", []offer{{-3, "0", true}}},
		{"bounded", []offer{{1e300, "1000000000", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g LoadGate
			for _, o := range tt.offers {
				text, publish := g.Offer(o.load)
				assert.Equal(t, o.text, text, "offer %v", o.load)
				assert.Equal(t, o.publish, publish, "offer %v", o.load)
				if publish {
					g.Published(o.load)
				}
			}
		})
	}
}

func TestLoadGateRetriesWhatWasNotPublished(t *testing.T) {
	var g LoadGate
	_, publish := g.Offer(5)
	assert.True(t, publish)
	// The write failed: Published was not called, so the same load is
	// offered again.
	_, publish = g.Offer(5)
	assert.True(t, publish)
}
