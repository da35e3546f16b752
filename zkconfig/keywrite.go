package zkconfig

import (
	"fmt"

	"go-micro.dev/v4/config/source"

	"github.com/zkmicro/zookeeper/internal/configdoc"
)

// This file writes one key of the configuration, for tools (zkmicro config
// set and delete) that change a key without replacing the whole document
// as Write does; internal/configdoc plans the writes.

// SetKey makes the key at path hold value in the configuration of src, and
// leaves every other key alone. src must be a source NewSource returned;
// path is a key path as go-micro's config takes it (conf.Get("database",
// "address") reads what SetKey(src, []byte(`"10.0.0.7"`), "database",
// "address") writes).
//
// value is one JSON value, stored as Write stores the values of a document
// (see the layout and values in README.md): a string as its raw text
// unless that text is JSON itself, a number as written, a non-empty object
// as a znode with a child per key. To store text that is not JSON, encode
// it as a JSON string.
//
// Missing parents are created, as objects. A parent that holds something
// other than an object becomes an object holding the key; a parent stored
// as one znode whose data is a JSON object keeps its other keys, and
// becomes a znode with children. Each znode created takes the ACL of the
// znode it is created below, as Write's do: a key added to a private
// configuration is private, whatever the options of src.
//
// The write is one atomic multi that touches only the znodes on the way to
// the key and below it, each at the version of the snapshot it was
// planned on: a concurrent change to another key survives, and a
// concurrent change to the same branch makes the multi fail; SetKey then
// plans again on the newer state, up to 4 multis, as Write does, and
// returns the last refusal. It returns once a Read of src shows the
// write.
//
// A source that is not this package's, an empty path, a key that is
// empty, "." or "..", or not UTF-8, and a value that is not JSON, whose
// objects have such keys, that holds the escape of a lone surrogate
// ("\udc00"), that would nest the configuration deeper than encoding/json
// reads (10,000 levels, the keys of path included), or that needs a
// request larger than ZooKeeper accepts are refused before anything is
// written; so is a subtree Read refuses (see OpenTree).
func SetKey(src source.Source, value []byte, path ...string) error {
	s, err := sourceOf(src)
	if err != nil {
		return err
	}
	if err := configdoc.ValidatePath(path); err != nil {
		return err
	}
	if err := configdoc.ValidateValue(path, value); err != nil {
		return err
	}
	return s.apply(func(root string, snap *configdoc.Tree, acls configdoc.ACLs) ([]any, error) {
		return configdoc.PlanSetKey(root, snap, path, value, acls)
	})
}

// DeleteKey removes the key at path, and everything below it, from the
// configuration of src (a source NewSource returned), and leaves every
// other key alone. A key that does not exist is no error: nothing is
// written. An object left without keys reads as an empty object, as
// go-micro's config Del leaves it; a key inside a znode whose data is a
// JSON object is removed from that object.
//
// Like SetKey, it writes with one atomic multi that touches only the key's
// branch, plans again when that branch changed meanwhile (up to 4 multis),
// returns once a Read shows the change, and refuses a source that is not
// this package's and an invalid path before anything is written.
func DeleteKey(src source.Source, path ...string) error {
	s, err := sourceOf(src)
	if err != nil {
		return err
	}
	if err := configdoc.ValidatePath(path); err != nil {
		return err
	}
	return s.apply(func(root string, snap *configdoc.Tree, acls configdoc.ACLs) ([]any, error) {
		return configdoc.PlanDeleteKey(root, snap, path, acls)
	})
}

// sourceOf returns src as this package's source.
func sourceOf(src source.Source) (*zkSource, error) {
	s, ok := src.(*zkSource)
	if !ok || s == nil {
		return nil, fmt.Errorf("zookeeper: config key write: the source is a %T, not one zkconfig.NewSource returned", src)
	}
	return s, nil
}
