// Package zkconfig is a go-micro config source
// (go-micro.dev/v4/config/source.Source) backed by a ZooKeeper subtree:
// configuration pushed through ZooKeeper. Any change under the prefix, made
// with Write, zkCli.sh or any other client, reaches every watching service
// within milliseconds.
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
// go-micro v4.11.0's config.Close crashes the process: to stop a config,
// close its loader, conf.Options().Loader.Close(), then the source.
//
// The manual is README.md beside this package
// (https://github.com/zkmicro/zookeeper/blob/main/zkconfig/README.md): the
// layout and values of the subtree, a compatibility contract that operators
// and other versions of the source rely on; the options and their
// defaults; behaviour under disconnects, expiries and concurrent writes;
// and measured figures. See NewSource for the guarantees of Read, Write
// and Watch.
package zkconfig
