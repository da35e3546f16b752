package zkconfig

import (
	"errors"
	"fmt"
	"time"

	"go-micro.dev/v4/config/source"

	"github.com/zkmicro/zookeeper/internal/configdoc"
)

// sourceName is the Source of the change sets the source produces.
const sourceName = "zookeeper"

// documentFormat is the only ChangeSet format the source reads and writes:
// the String of go-micro's JSON encoder.
const documentFormat = "json"

// newChangeSet wraps a document for go-micro, read at ts. Checksum is
// filled as go-micro's own sources fill it (cs.Checksum = cs.Sum()), which
// is the document's checksum.
func newChangeSet(doc configdoc.Document, ts time.Time) *source.ChangeSet {
	cs := &source.ChangeSet{
		Timestamp: ts,
		Format:    documentFormat,
		Source:    sourceName,
		Data:      doc.Data,
	}
	cs.Checksum = cs.Sum()
	return cs
}

// changeSetData returns the document a change set given to Write carries.
// Only the JSON format is stored: a source cannot turn another encoding into
// znodes without an encoder for it.
func changeSetData(cs *source.ChangeSet) ([]byte, error) {
	switch {
	case cs == nil:
		return nil, errors.New("zookeeper: config write: change set is nil")
	case cs.Format != documentFormat:
		return nil, fmt.Errorf("zookeeper: config write: format %q is not supported, want %q", cs.Format, documentFormat)
	}
	return cs.Data, nil
}
