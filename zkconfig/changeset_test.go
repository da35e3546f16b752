package zkconfig

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go-micro.dev/v4/config/source"

	"github.com/zkmicro/zookeeper/internal/configdoc"
	"github.com/zkmicro/zookeeper/internal/engine"
)

func TestNewChangeSet(t *testing.T) {
	doc := configdoc.ReadDocument(configdoc.TreeOf(&engine.TreeSnapshot{Root: DefaultPrefix, Nodes: map[string]*engine.TreeNode{
		"":   {Children: []string{"a", "b"}},
		"/a": {Data: []byte("1")},
		"/b": {Data: []byte("x")},
	}}))
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cs := newChangeSet(doc, ts)
	assert.Equal(t, `{"a":1,"b":"x"}`, string(cs.Data))
	assert.Equal(t, "json", cs.Format)
	assert.Equal(t, "zookeeper", cs.Source)
	assert.Equal(t, ts, cs.Timestamp)
	assert.Equal(t, cs.Sum(), cs.Checksum, "filled as go-micro's sources fill it")
	assert.Equal(t, doc.Checksum, cs.Checksum, "the document's checksum is go-micro's")

	empty := newChangeSet(configdoc.ReadDocument(configdoc.TreeOf(&engine.TreeSnapshot{Root: DefaultPrefix})), ts)
	assert.Equal(t, (&source.ChangeSet{Data: []byte("{}")}).Sum(), empty.Checksum)
}

func TestChangeSetData(t *testing.T) {
	data, err := changeSetData(&source.ChangeSet{Format: "json", Data: []byte(`{"a":1}`)})
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(data))

	tests := []struct {
		name string
		cs   *source.ChangeSet
		want string
	}{
		{"nil", nil, "zookeeper: config write: change set is nil"},
		{"yaml", &source.ChangeSet{Format: "yaml", Data: []byte("a: 1")}, `zookeeper: config write: format "yaml" is not supported, want "json"`},
		{"no format", &source.ChangeSet{Data: []byte(`{}`)}, `zookeeper: config write: format "" is not supported, want "json"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := changeSetData(tt.cs)
			assert.EqualError(t, err, tt.want)
		})
	}
}
