package configdoc

import (
	"testing"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ACLs as ZooKeeper shows them: resolved identities, and digest hashes
// hidden from a client without ADMIN.
var (
	svcACL     = zk.DigestACL(zk.PermAll, "svc", "pw")[0]
	opsHidden  = zk.ACL{Perms: zk.PermAll, Scheme: "digest", ID: "ops:x"}
	svcHidden  = zk.ACL{Perms: zk.PermRead | zk.PermWrite | zk.PermCreate | zk.PermDelete, Scheme: "digest", ID: "svc:x"}
	worldRead  = zk.ACL{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}
	ipAll      = zk.ACL{Perms: zk.PermAll, Scheme: "ip", ID: "10.0.0.0/8"}
	creatorACL = []zk.ACL{{Perms: zk.PermAll, Scheme: "auth"}}
)

func TestInheritACL(t *testing.T) {
	tests := []struct {
		name         string
		parent, want []zk.ACL
	}{
		{name: "private", parent: []zk.ACL{svcACL}, want: []zk.ACL{svcACL}},
		{name: "readable by everyone", parent: []zk.ACL{svcACL, worldRead}, want: []zk.ACL{svcACL, worldRead}},
		{name: "other schemes as they are", parent: []zk.ACL{ipAll, worldRead}, want: []zk.ACL{ipAll, worldRead}},
		{
			// The writer has no ADMIN on the parent: no hash is shown.
			// ops loses access; the writer gets what the hidden entries
			// granted, ADMIN excepted; world keeps READ.
			name:   "hidden hashes",
			parent: []zk.ACL{opsHidden, svcHidden, worldRead},
			want:   []zk.ACL{worldRead, {Perms: zk.PermRead | zk.PermWrite | zk.PermCreate | zk.PermDelete, Scheme: "auth"}},
		},
		{
			name:   "hidden read-only entries",
			parent: []zk.ACL{{Perms: zk.PermRead, Scheme: "digest", ID: "ops:x"}, ipAll},
			want:   []zk.ACL{ipAll, {Perms: zk.PermRead, Scheme: "auth"}},
		},
		{
			name:   "hidden ADMIN alone",
			parent: []zk.ACL{{Perms: zk.PermAdmin, Scheme: "digest", ID: "ops:x"}, worldRead},
			want:   []zk.ACL{worldRead},
		},
		{
			name:   "never empty",
			parent: []zk.ACL{{Perms: zk.PermAdmin, Scheme: "digest", ID: "ops:x"}},
			want:   []zk.ACL{{Perms: zk.PermRead, Scheme: "auth"}},
		},
		{
			// A hash that merely ends in x is a hash.
			name:   "a hash ending in x",
			parent: []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "ops:abcx"}},
			want:   []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "ops:abcx"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, inheritACL(tt.parent))
		})
	}
}

// createdACLs returns the ACL of each znode ops create, by path.
func createdACLs(ops []any) map[string][]zk.ACL {
	out := map[string][]zk.ACL{}
	for _, op := range ops {
		if c, ok := op.(*zk.CreateRequest); ok {
			out[c.Path] = c.Acl
		}
	}
	return out
}

// Issue 19, item 1: a key created in a private configuration by a writer
// whose own ACL is wider (no Private) was readable by anyone by its path.
func TestNewKeysTakeTheirParentsACL(t *testing.T) {
	private := []zk.ACL{svcACL}
	public := []zk.ACL{svcACL, worldRead}
	wide := ACLs{New: zk.WorldACL(zk.PermAll)} // the writer's own ACL: wider than either
	snap := func() *Tree {
		tr := buildTree(t, map[string]string{"": "", "/db": "", "/db/pass": "s3cret", "/open": "", "/open/k": "1"})
		tr.nodes[""].acl, tr.nodes["/db"].acl, tr.nodes["/db/pass"].acl = private, private, private
		tr.nodes["/open"].acl, tr.nodes["/open/k"].acl = public, public
		return tr
	}

	t.Run("SetKey below a private object", func(t *testing.T) {
		ops, err := PlanSetKey(DefaultPrefix, snap(), []string{"db", "newsecret"}, []byte(`"TOPSECRET"`), wide)
		require.NoError(t, err)
		assert.Equal(t, map[string][]zk.ACL{"/micro-config/db/newsecret": private}, createdACLs(ops))
	})
	t.Run("SetKey creating objects on the way", func(t *testing.T) {
		ops, err := PlanSetKey(DefaultPrefix, snap(), []string{"db", "replica", "pass"}, []byte(`"x"`), wide)
		require.NoError(t, err)
		assert.Equal(t, map[string][]zk.ACL{"/micro-config/db/replica": private, "/micro-config/db/replica/pass": private}, createdACLs(ops))
	})
	t.Run("SetKey turning a leaf into an object", func(t *testing.T) {
		ops, err := PlanSetKey(DefaultPrefix, snap(), []string{"db", "pass", "v2"}, []byte(`"x"`), wide)
		require.NoError(t, err)
		assert.Equal(t, map[string][]zk.ACL{"/micro-config/db/pass/v2": private}, createdACLs(ops))
	})
	t.Run("Write", func(t *testing.T) {
		ops, err := PlanWrite(DefaultPrefix, snap(), []byte(`{"db":{"pass":"s3cret","user":"svc"},"open":{"k":1,"l":{"m":2}},"top":1}`), wide)
		require.NoError(t, err)
		assert.Equal(t, map[string][]zk.ACL{
			"/micro-config/db/user":  private,
			"/micro-config/open/l":   public,
			"/micro-config/open/l/m": public,
			"/micro-config/top":      private,
		}, createdACLs(ops))
	})
	t.Run("Private narrows to the creator", func(t *testing.T) {
		ops, err := PlanSetKey(DefaultPrefix, snap(), []string{"open", "secret"}, []byte(`"x"`), ACLs{New: creatorACL, Private: true})
		require.NoError(t, err)
		assert.Equal(t, map[string][]zk.ACL{"/micro-config/open/secret": creatorACL}, createdACLs(ops))
	})
	t.Run("the writer's own ACL when the prefix is created", func(t *testing.T) {
		ops, err := PlanSetKey(DefaultPrefix, newTree(), []string{"a", "b"}, []byte(`1`), wide)
		require.NoError(t, err)
		assert.Equal(t, map[string][]zk.ACL{"/micro-config": wide.New, "/micro-config/a": wide.New, "/micro-config/a/b": wide.New}, createdACLs(ops))
	})
	t.Run("the writer's own ACL when no ACL was read (no credentials)", func(t *testing.T) {
		tr := buildTree(t, map[string]string{"": "", "/db": ""})
		ops, err := PlanSetKey(DefaultPrefix, tr, []string{"db", "k"}, []byte(`1`), wide)
		require.NoError(t, err)
		assert.Equal(t, map[string][]zk.ACL{"/micro-config/db/k": wide.New}, createdACLs(ops))
	})
	t.Run("hidden hashes", func(t *testing.T) {
		tr := snap()
		tr.nodes["/db"].acl = []zk.ACL{opsHidden, svcHidden}
		ops, err := PlanSetKey(DefaultPrefix, tr, []string{"db", "k"}, []byte(`1`), wide)
		require.NoError(t, err)
		assert.Equal(t, map[string][]zk.ACL{"/micro-config/db/k": {{Perms: svcHidden.Perms, Scheme: "auth"}}}, createdACLs(ops))
	})
}
