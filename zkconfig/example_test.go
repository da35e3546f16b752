package zkconfig_test

import (
	"fmt"
	"io"
	"log"
	"time"

	"go-micro.dev/v4/config"

	"github.com/zkmicro/zookeeper/zkconfig"
)

// A service reads its greeting from ZooKeeper, /micro-config/greeter/greeting,
// and follows its changes. Set it with zkCli.sh:
//
//	create /micro-config/greeter/greeting Hej
func ExampleNewSource() {
	src := zkconfig.NewSource(
		zkconfig.WithAddress("zk1:2181", "zk2:2181", "zk3:2181"),
		zkconfig.WithPrefix("/micro-config/greeter"),
		zkconfig.Timeout(3*time.Second),
	)
	conf, err := config.NewConfig(config.WithSource(src))
	if err != nil {
		log.Fatal(err)
	}
	// Stopping, in this order (see the package doc): the config's watch
	// of src, then src, which ends the ZooKeeper session.
	defer src.(io.Closer).Close()
	defer conf.Options().Loader.Close()
	fmt.Println(conf.Get("greeting").String("Hello"))

	w, err := conf.Watch("greeting")
	if err != nil {
		log.Fatal(err)
	}
	defer w.Stop()
	for {
		v, err := w.Next()
		if err != nil {
			return
		}
		fmt.Println("greeting is now", v.String("Hello"))
	}
}

// An operator's tool changes one key, /micro-config/greeter/database/port,
// and leaves the rest of the configuration as it is; services watching the
// source see the new value.
func ExampleSetKey() {
	src := zkconfig.NewSource(zkconfig.WithAddress("zk1:2181"), zkconfig.WithPrefix("/micro-config/greeter"))
	defer src.(io.Closer).Close()
	if err := zkconfig.SetKey(src, []byte(`3307`), "database", "port"); err != nil {
		log.Fatal(err)
	}
	if err := zkconfig.DeleteKey(src, "database", "legacy"); err != nil {
		log.Fatal(err)
	}
}
