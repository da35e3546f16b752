package configdoc

import (
	"fmt"
	"testing"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// BenchmarkDocumentOf10000Keys is the CPU a change to a 10,000-key tree
// costs a source once the tree is read: the engine snapshot converted and
// the document rebuilt (once per change, shared by the source's watchers).
// The snapshot is the one zkconfig's BenchmarkSourceMemory reads from
// ZooKeeper: 100 znodes of 100 keys each.
func BenchmarkDocumentOf10000Keys(b *testing.B) {
	const dirs, keys = 100, 100
	snap := &engine.TreeSnapshot{Root: "/big", Nodes: map[string]*engine.TreeNode{"": {}}}
	for d := range dirs {
		dir := fmt.Sprintf("d%03d", d)
		snap.Nodes[""].Children = append(snap.Nodes[""].Children, dir)
		n := &engine.TreeNode{Data: []byte{}}
		for k := range keys {
			key := fmt.Sprintf("k%03d", k)
			n.Children = append(n.Children, key)
			snap.Nodes["/"+dir+"/"+key] = &engine.TreeNode{Data: fmt.Appendf(nil, "value-%06d", d*keys+k)}
		}
		snap.Nodes["/"+dir] = n
	}
	b.ReportAllocs()
	for b.Loop() {
		doc := ReadDocument(TreeOf(snap))
		if len(doc.Data) < dirs*keys*len(`"k000":"value-000000",`) {
			b.Fatalf("a document of %d bytes", len(doc.Data))
		}
	}
}
