// Package zkconfig is a go-micro config source
// (go-micro.dev/v4/config/source.Source) backed by a ZooKeeper subtree:
// configuration pushed through ZooKeeper. Any change under the prefix, made
// with Write, zkCli.sh or any other client, reaches every watching service
// within milliseconds.
// Its twin for go-micro v5 is github.com/zkmicro/zookeeper/v5/zkconfig: the
// same source over the same layout, so that one write reaches services on
// either go-micro.
//
//	src := zkconfig.NewSource(zkconfig.WithAddress("zk1:2181", "zk2:2181"), zkconfig.WithPrefix("/micro-config/greeter"))
//	defer src.(io.Closer).Close()
//	conf, err := config.NewConfig(config.WithSource(src))
//	...
//	greeting := conf.Get("greeting").String("Hello")
//	w, err := conf.Watch("greeting") // w.Next() returns each new value
//
// The source keeps one ZooKeeper session and one in-memory copy of the
// subtree, kept current by a data watch and a children watch on every znode
// (the engine's Tree), shared by Read and every watcher. After a
// disconnection or a session expiry it reads the subtree again and its
// watchers report the configuration if it changed meanwhile. See NewSource
// for the options and the guarantees of Read, Write and Watch.
//
// Write replaces the whole configuration, as go-micro's sources do. To
// change one key and leave the others alone, as an operator's tool does
// (zkmicro config set), use SetKey and DeleteKey:
//
//	err := zkconfig.SetKey(src, []byte(`3307`), "database", "port")
//
// To stop a config, close its loader, conf.Options().Loader.Close(), which
// stops the loader's watch of the source, then the source. Do not call
// conf.Close: go-micro v4.11.0's crashes the process (its loop calls
// Error on the nil error its loader watcher's Stop returns); without it
// the config's loop stays, blocked, until the process ends. On go-micro
// v5, whose conf.Close works (github.com/zkmicro/zookeeper/v5/zkconfig),
// call it last, after the loader's Close and the source's.
//
// The rest of this documentation is what the source reads and writes; it is
// a compatibility contract, like the registry's encoding.go: operators edit
// the subtree with zkCli.sh, and other versions of the source read and write
// it.
//
// # Layout
//
// The subtree below a prefix (default /micro-config) is one JSON object.
// Below the prefix, a znode's path is its key path and its data is its
// value:
//
//	/micro-config                       the prefix znode: the whole object; its data is ignored
//	/micro-config/database              a znode with children: {"database":{...}}
//	/micro-config/database/address      data 10.0.0.7     -> "address":"10.0.0.7"
//	/micro-config/database/port         data 3306         -> "port":3306
//	/micro-config/database/tags         data ["a","b"]    -> "tags":["a","b"]
//	/micro-config/greeting              data "42"         -> "greeting":"42"
//	/micro-config/limits                data {}           -> "limits":{}
//
// gives {"database":{"address":"10.0.0.7","port":3306,"tags":["a","b"]},
// "greeting":"42","limits":{}}, which go-micro's config reads as
// conf.Get("database", "address").
//
// Each key is stored as one path segment, escaped as the registry escapes
// service names (the engine's EscapeSegment): '%', '/', the characters
// ZooKeeper refuses in paths and the keys "." and ".." become %XX (upper-case
// hex of each UTF-8 byte). Ordinary keys are stored unchanged.
//
// # Values
//
// Reading, a znode is:
//   - an object of its children when it has children; its own data is then
//     ignored (and reported as skipped, for the caller to log);
//   - otherwise the JSON value its data holds, when the data is JSON;
//   - otherwise a string: the data as it is (empty data is ""), whatever
//     its size (up to ZooKeeper's 1 MB).
//
// Writing, a string is stored as its raw text (zkCli.sh "set
// /micro-config/greeting Hi" and writing {"greeting":"Hi"} give the same
// znode), unless that text is itself JSON ("42", "true", "[1]", "\"x\""): then
// it is stored JSON-encoded, so that it reads back as a string. Numbers
// (as written, not reformatted), booleans, null and arrays are stored as
// compact JSON. A non-empty object is a znode with empty data and one child
// per key; an empty object is a znode with data {}.
//
// # What readers leave out
//
// A reader never fails because of a znode below the prefix: it leaves out,
// and reports with the reason for the caller to log, a child whose name is not EscapeSegment's
// escape of a key, or stands for a key no document can hold ("%41" for
// "A", "100%", "%2E", "%FF": errBadName), and a childless znode whose data
// is not UTF-8 (errNotText: a JSON document holds only text, and base64 or
// replacement characters would hand the application a value nobody wrote),
// and a znode whose ACL does not let the source read it (errUnreadable).
// The source logs each once, through its logger, at warn level. A writer leaves such znodes alone unless the document puts a value at
// their place or removes their parent, so writing back what was read
// changes nothing.
//
// The document a reader returns is canonical (keys sorted, no
// insignificant space, numbers as stored), and its checksum is the hex MD5
// of it, as go-micro's own sources fill ChangeSet.Checksum: the same content
// always gives the same checksum.
package zkconfig
