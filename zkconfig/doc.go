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
// subtree, kept current by watches and shared by Read and every watcher.
// A znode's path below the prefix is its key path and its data its value:
// /micro-config/database/port holding 3306 is {"database":{"port":3306}}.
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
// The manual is README.md beside this package
// (https://github.com/zkmicro/zookeeper/blob/main/zkconfig/README.md): the
// layout and values of the subtree, a compatibility contract that operators
// and other versions of the source rely on; the options and their
// defaults; behaviour under disconnects, expiries and concurrent writes;
// and measured figures. See NewSource for the guarantees of Read, Write
// and Watch.
package zkconfig
