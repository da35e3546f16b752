package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"go-micro.dev/v4"

	"github.com/zkmicro/zookeeper"
)

// go-micro's flags set a registry's addresses and nothing else: the plugin's
// own options, such as its session timeout, are given in code. This file
// shows how to turn one of them into a flag of your service. (For the
// session timeout, the plugin also reads the environment variable
// MICRO_REGISTRY_ZOOKEEPER_SESSION_TIMEOUT; the flag wins.) Without either,
// the plugin's default applies (zookeeper.DefaultSessionTimeout, 10s): a
// crashed server then stays discoverable for up to 10s.

// sessionTimeoutFlag is --zookeeper_session_timeout, stored in d.
func sessionTimeoutFlag(d *time.Duration) cli.Flag {
	return &cli.DurationFlag{
		Name:        "zookeeper_session_timeout",
		Usage:       "ZooKeeper session timeout: how long a crashed server stays registered (default 10s; the server bounds it to 2-20 tickTimes unless configured otherwise)",
		EnvVars:     []string{"HELLO_ZOOKEEPER_SESSION_TIMEOUT"},
		Destination: d,
	}
}

// useSessionTimeout gives the service's registry a session timeout of d,
// if d is set and the registry is ZooKeeper. It must run after
// service.Init, which chooses the registry, and before service.Run, which
// registers the node.
func useSessionTimeout(service micro.Service, d time.Duration) error {
	if d == 0 {
		return nil
	}
	reg := service.Options().Registry
	if reg.String() != "zookeeper" {
		return fmt.Errorf("hello: --zookeeper_session_timeout needs --registry=zookeeper (the registry is %s)", reg.String())
	}
	if err := reg.Init(zookeeper.SessionTimeout(d)); err != nil {
		return fmt.Errorf("hello: session timeout %v: %w", d, err)
	}
	return nil
}
