// Command zkmicro inspects a go-micro service registry kept in Apache
// ZooKeeper, registers servers that are not go-micro services in it (a
// sidecar), so that go-micro clients discover and call them like any other
// service, drains nodes for clients that balance by load, cleans up after
// the older persistent-node plugin, checks a
// ZooKeeper ensemble from a client's point of view, and reads, changes and
// watches the configuration services load from ZooKeeper through this
// module's go-micro config source ([github.com/zkmicro/zookeeper/zkconfig]).
//
//	go install github.com/zkmicro/zookeeper/cmd/zkmicro@latest
//
// It uses this module's registry ([github.com/zkmicro/zookeeper]) exactly as
// a go-micro service started with --registry=zookeeper does: the same
// address syntax, environment variables, znode layout and data, so what
// zkmicro shows is what services see, and a node it registers is one they
// discover.
//
// # Usage
//
//	zkmicro [global options] command [command options] [arguments...]
//
// Options go before arguments: "zkmicro get -o json greeter", not
// "zkmicro get greeter -o json" (which is a usage error that says so), and
// global options go before the command.
//
// Global options:
//
//	--registry_address ADDRS  ZooKeeper servers, comma-separated host:port, optionally
//	                          ending with a chroot: zk1:2181,zk2:2181/apps/prod.
//	                          Default 127.0.0.1:2181; environment MICRO_REGISTRY_ADDRESS
//	                          (the variable go-micro services read).
//	--registry_timeout D      Bounds the wait for a session and each registry call
//	                          (registry.Timeout), e.g. 3s. Default 5s; must be > 0;
//	                          environment MICRO_REGISTRY_TIMEOUT.
//
// The registry's own environment variables apply as they do to any go-micro
// service: MICRO_REGISTRY_ZOOKEEPER_AUTH (credentials, scheme:credential,
// e.g. digest:user:password), MICRO_REGISTRY_ZOOKEEPER_SESSION_TIMEOUT,
// MICRO_REGISTRY_ZOOKEEPER_OPEN_DIRS, and MICRO_REGISTRY_ZOOKEEPER_TLS,
// _TLS_CA, _TLS_CERT, _TLS_KEY and _TLS_SERVER_NAME (TLS to ZooKeeper's
// secure client port). Services live under the default prefix,
// /micro-registry, below the chroot if the address names one. With
// MICRO_REGISTRY_ZOOKEEPER_CURATOR (a base path, or true for /services),
// services, get and watch also show the Java services registered in Apache
// Curator's service discovery format (Spring Cloud Zookeeper), marked by
// their origin (see the registry's Curator option and docs/curator.md).
//
// A ZooKeeper that cannot be reached (nothing listening, or a server that
// accepts connections and never answers) makes a command fail with an
// error naming the addresses after --registry_timeout, plus up to a second
// to close the connection; the sidecar instead retries until it is reached.
//
// The commands that print what they find take -o (--output): table, the
// default, for people (text for the config commands), or json for
// scripts. The JSON of every command is a contract: fields keep their
// names and meaning, and new ones may be added. The details of the tables
// and texts are for people and may change.
//
// # zkmicro services
//
//	zkmicro services [-o table|json]
//
// Lists every service version with its number of nodes, sorted by name, then
// version (as strings). The table has the columns NAME, VERSION, NODES (an
// empty version shows as "-"), and ORIGIN when a Java service (Apache
// Curator's format) is listed: go-micro, curator, or go-micro+curator for a
// version both registered. With -o json it prints a JSON array, empty when
// there are no services, of
//
//	{"name": "greeter", "version": "1.0.0", "node_count": 2, "origin": "go-micro"}
//
// one element per service name and version, in the same order. The field is
// node_count, not nodes, so that it never reads as the node list of a
// go-micro registry.Service.
//
// # zkmicro get
//
//	zkmicro get [-o table|json] SERVICE
//
// Shows the nodes of one service: a table of VERSION, ID, ADDRESS (then
// ORIGIN, go-micro or curator, when a node of a Java service is shown) and
// METADATA (sorted key=value pairs joined by ",", "-" when there are none),
// one row per node, sorted by version, then node id. With -o json it prints
// what the registry's GetService returns: a JSON array of go-micro
// registry.Service values, in go-micro's own JSON encoding (name, version,
// metadata, endpoints, nodes: [{id, address, metadata}]), one element per
// version, sorted by version, each with its nodes sorted by id. A service
// that does not exist is an error (exit 1).
//
// # zkmicro watch
//
//	zkmicro watch [SERVICE]
//
// Prints a line for every change to the registry (or to one service) until
// interrupted (SIGINT, SIGTERM), then exits 0. Once the watch is in place
// (changes from then on are printed) it says so on stderr, a line such as
// "2026-11-27T10:00:00.000Z zkmicro: watching greeter" ("watching every
// service" without SERVICE), for scripts to wait on. Each line on stdout is
//
//	2026-11-27T10:00:00.000Z create greeter 1.0.0 greeter-1 10.0.0.7:4100
//
// that is: the time the change was seen (UTC, milliseconds), the action as
// the registry reports it (create, update or delete; delete carries the last
// known node), the service, its version, the node id and its address,
// separated by single spaces; an empty field prints as "-"; a node of a Java
// service (Apache Curator's format) ends its line with "(curator)". A
// change that carries several nodes prints a line per node. A watcher that fails for any
// reason other than the interrupt is an error (exit 1).
//
// # zkmicro register
//
//	zkmicro register --name NAME --address HOST:PORT [options]
//
// Runs as a sidecar of a server that is not a go-micro service: it keeps a
// node for the server registered while the server's health check passes,
// and deregisters it when it stops (SIGINT, SIGTERM), then exits 0. Options:
//
//	--name NAME              service name (required)
//	--address HOST:PORT      address clients dial (required). An empty or
//	                         unspecified host (":8080", "0.0.0.0:8080", "[::]:8080")
//	                         is replaced with an IP of this machine (its first
//	                         private one), as a go-micro server does.
//	--version V              service version; default "latest", as go-micro's
//	                         servers have it
//	--id ID                  node id, unique within the service; default
//	                         NAME-<random UUID>, as a go-micro server builds it
//	--metadata KEY=VALUE     node metadata; repeatable; the value may contain "="
//	                         and ","; a key may be given once
//	--check URL              health check: tcp://HOST:PORT (a TCP connect),
//	                         http://URL or https://URL (a GET: healthy if the
//	                         status is 2xx or 3xx and the body, or its first
//	                         4 KiB, arrives within the check's bound; redirects
//	                         are not followed; no proxy is used). A port must be
//	                         in 1-65535. Without --check the node is registered
//	                         until the sidecar stops.
//	--check_ca FILE          an https check trusts only the CA certificates in
//	                         the PEM FILE (a private CA, or the server's own
//	                         self-signed certificate); default: the system's
//	                         roots. The server's name is verified either way:
//	                         no option skips verification, since a check that
//	                         anyone in between can answer proves nothing.
//	--check_interval D       between checks (> 0), default 5s. Each check is
//	                         bounded by min(D, 5s). A failed registration is
//	                         retried at the next check (without --check, a
//	                         check that always passes).
//	--check_failures N       consecutive failed checks that deregister the node
//	                         (>= 1), default 3
//	--register_interval D    registers the node again this often while healthy
//	                         (> 0), default 30s, as go-micro servers do. It is
//	                         free while the node is present, and restores it if
//	                         something removed it.
//	--weight W               the node's share of traffic relative to the other
//	                         nodes, a decimal > 0, for clients that balance by
//	                         load (zkbalance): node metadata "weight". Default
//	                         none, which such clients take as 1. Not with
//	                         --metadata weight=...
//	--load_file FILE         publishes the server's load, which it keeps written
//	                         in FILE: a decimal >= 0, lower is less busy (its
//	                         requests in flight, say), blanks and a line feed
//	                         around it allowed. The server should write the file
//	                         whole and rename it into place, so that the sidecar
//	                         never reads half of it. See below.
//	--load_interval D        reads --load_file this often (> 0), default 1s
//
// The sidecar checks at once, registers the node on the first passing
// check, deregisters it after --check_failures consecutive failures,
// registers it again on the next passing check, and retries a failed
// registration or deregistration at the next check. Each registration and
// deregistration may block until --registry_timeout (while ZooKeeper
// cannot be reached, it does); a check that falls due meanwhile runs as
// soon as it returns, so while ZooKeeper hangs the attempts follow each
// other every --registry_timeout or so, and each failure says how long the
// attempt took. It logs each transition to stderr, a line each (time,
// "zkmicro:", node id, what happened), for example:
//
//	2026-11-27T10:00:00.000Z zkmicro: greeter-5b1c... unhealthy (dial tcp 127.0.0.1:8080: connect: connection refused): not registered
//	2026-11-27T10:00:05.000Z zkmicro: greeter-5b1c... healthy: registered
//	2026-11-27T10:00:10.000Z zkmicro: greeter-5b1c... check failed (1 of 3): dial tcp 127.0.0.1:8080: connect: connection refused
//	2026-11-27T10:00:20.000Z zkmicro: greeter-5b1c... unhealthy (3 consecutive failures: dial tcp ...: connection refused): deregistered
//	2026-11-27T10:00:30.000Z zkmicro: greeter-5b1c... healthy: register failed after 5s, retrying at the next check: zookeeper: ...
//	2026-11-27T10:00:30.002Z zkmicro: greeter-5b1c... healthy: registered
//	2026-11-27T10:00:35.000Z zkmicro: greeter-5b1c... stopped: deregistered
//
// A log that nobody reads any more does not stop the sidecar: with stderr
// a pipe whose reader has gone (`zkmicro register ... 2>&1 | head -1`),
// lines that cannot be written are dropped and it goes on checking.
// Checks that fail while the node is not registered are not logged, except
// the first one after the start. Without --check the lines read
// "registered" and "stopped: deregistered". The final deregistration is
// bounded by --registry_timeout. If it fails (ZooKeeper unreachable or
// hanging), the sidecar logs "stopped: deregister failed after D: ERR;
// ZooKeeper deletes the node when the session expires" and still exits 0:
// it stopped as asked, and the node is ephemeral, so ZooKeeper deletes it
// once the session times out (MICRO_REGISTRY_ZOOKEEPER_SESSION_TIMEOUT,
// default 10s). A supervisor treats a non-zero exit after its own stop
// request as a failure: systemd marks the unit failed (and runs its
// OnFailure= units), and in a Kubernetes Job a container that exits
// non-zero fails the pod; a ZooKeeper outage at that moment is neither the
// sidecar's failure nor the workload's. The log line is the operator's
// record. A stop takes at most --registry_timeout, plus up to a second to
// close the connection: within the grace periods of systemd (90s) and
// Kubernetes (30s) by default.
//
// With --load_file the sidecar reads the file every --load_interval and,
// while the node is registered, writes the load to the node's metadata
// ("load") by the rule zkbalance's servers follow: rounded to one decimal,
// and only when it differs from the load written last by at least half a
// request and by at least 20% of it, or drops to 0 (the first one is
// always written). So the node's znode is written at most once per
// --load_interval, and not at all while the load holds steady. The load
// is kept across the periodic registrations, and written again when the
// node is registered anew. A file that is missing or does not hold a load
// is logged (once, until it changes) and the load written last stays:
//
//	2026-11-27T10:00:07.000Z zkmicro: legacy-1 reading the load failed, the last load published stays: /run/legacy/load holds "busy": want a decimal number >= 0
//
// Clients that balance by load (zkbalance.LeastLoaded) then send this node
// its share of requests against go-micro servers that publish theirs.
//
// The node registered is the go-micro registry.Service a go-micro client
// expects: the service name and version and exactly one node with the id,
// the address and metadata, no endpoints. The node metadata is
//
//	registry   the registry's name ("zookeeper"), as go-micro servers set it
//	registrar  "zkmicro", which tells operators the node is kept by a sidecar
//
// plus every --metadata pair, which wins over these, and "weight" with
// --weight. zkmicro does not set
// the keys a go-micro server adds about itself (transport, broker, server,
// protocol): go-micro's selector filters on none of them and zkmicro cannot
// know them. go-micro's RPC client reads only "protocol" (absent, it falls
// back to the legacy json-rpc/proto-rpc content types), so a sidecar in
// front of a go-micro RPC server that is not registered by itself should
// pass --metadata protocol=mucp; an HTTP server called through go-micro's
// HTTP client or web proxy needs nothing.
//
// # zkmicro drain and undrain
//
//	zkmicro drain SERVICE NODE
//	zkmicro undrain SERVICE NODE
//
// drain tells the clients that balance by load (zkbalance's LeastLoaded
// strategy and selector) to send the node NODE of SERVICE no new requests:
// it sets the node's status ("status": "draining") in its registration,
// and the server keeps running. Within a second (their registry watch
// tells them within milliseconds) such clients stop picking the node while
// another node of the service is available; the requests in flight end
// normally. undrain removes the status, and the node gets requests again.
// Each prints what the node now is, on stdout:
//
//	$ zkmicro drain greeter greeter-5b1c
//	greeter-5b1c of greeter: draining
//	$ zkmicro undrain greeter greeter-5b1c
//	greeter-5b1c of greeter: serving
//
// The change is a rewrite of the node's znode at the version read (read
// again if it changed meanwhile) that leaves everything else as it is, and
// the registry that owns the node adopts it: it keeps the status across
// its periodic re-registrations and a session expiry (and restores any
// other change made to its node). Nothing else changes: the node stays
// registered, "zkmicro get" shows status=draining in its metadata, and
// clients that do not balance by load (go-micro's Random and RoundRobin)
// keep calling it. A server stopping through zkbalance.Publish drains its
// own node the same way before it deregisters.
//
// Who may drain: whoever may write the node's znode. Without credentials,
// anyone who can reach ZooKeeper. With credentials
// (MICRO_REGISTRY_ZOOKEEPER_AUTH), the registry gives a node's znode to the
// credentials that registered it, so only they may drain it: run zkmicro
// with those credentials; others get an error naming the missing WRITE
// permission (exit 1). A node that does not exist is an error too: "zkmicro:
// drain "greeter" "greeter-9": no such node".
//
// # zkmicro prune
//
//	zkmicro prune [--delete] [--dial_timeout D] [-o table|json]
//
// Finds the registrations that no ZooKeeper session owns: node znodes
// (/micro-registry/<service>/<node-id>) that are persistent, as the older
// github.com/go-micro/plugins/v4/registry/zookeeper writes them, so that
// they outlive their server. This module's registry writes ephemeral
// znodes, which ZooKeeper deletes with their session; prune never lists
// them. Each registration's address is dialled over TCP (at most 32 at a
// time, each bounded by --dial_timeout, default 1s), and each gets a
// status:
//
//	alive    the address accepts a connection: kept
//	stale    the address refuses the connection (nothing listens there)
//	unknown  dialling failed otherwise (a timeout, no route, a name that does
//	         not resolve, a bad address): kept, since the server may only be
//	         unreachable from here
//	invalid  the znode's data is not a registration (see the registry's
//	         encoding.go): kept; its service and id are taken from its path
//
// With --delete, stale registrations are deleted, and their status becomes
//
//	deleted  deleted
//	changed  kept: it changed since it was read (the older plugin registered it
//	         again, or something replaced the znode)
//	gone     someone else deleted it meanwhile
//	failed   the delete failed (no permission, say); zkmicro exits 1
//
// The delete is checked: the znode is read again and deleted only if it is
// the same persistent znode (same creation zxid, no owner) at the same data
// version; the delete itself is one multi that also creates and deletes a
// child of the znode, which ZooKeeper refuses under an ephemeral znode, at
// that version: so a takeover by a live registry, or a new registration by
// the older plugin, between the read and the delete keeps the znode. Run prune where the services' addresses are reachable: a server
// behind a firewall that rejects connections looks stale. The older plugin
// writes its node again at its next registration, so a mistake heals.
//
// The table has the columns PATH (the znode judged, and the one --delete
// deletes), VERSION, ADDRESS, STATUS and DETAIL (why: "connection
// refused", the dial error, why the data is not a registration), one row
// per znode, sorted by path. The service and node id that the znode's data
// claims, which need not match its path, are in the JSON. With -o json it
// prints a JSON array, empty when there is nothing to prune, in the same
// order, of
//
//	{"path": "/micro-registry/greeter/greeter-2", "service": "greeter", "version": "1.0.0",
//	 "id": "greeter-2", "address": "10.0.0.8:4100", "status": "stale", "detail": "connection refused"}
//
// # zkmicro doctor
//
//	zkmicro doctor [-o table|json]
//
// Checks each server of --registry_address, and the registry as a whole,
// and prints one line per check with its verdict: ok, warn or FAIL. zkmicro
// exits 1 if a check FAILs (warnings leave the exit code 0), naming the
// failed checks on stderr. Per server, at once for all servers:
//
//	reachable  a TCP connection to it (FAIL: none)
//	tls        only with TLS configured: the handshake as the registry does it,
//	           with the server certificate's subject, issuer and expiry (FAIL:
//	           the handshake fails; warn: the certificate expires within 30 days)
//	version    from the srvr four-letter word (Debian's ZooKeeper allows srvr by
//	           default; warn: it is not in 4lw.commands.whitelist, or the server
//	           is older than 3.6 and has no container znodes, so empty service
//	           directories stay; FAIL: no answer)
//	mode       leader, follower, observer or standalone, from srvr (FAIL: the
//	           server says it is not serving requests, i.e. it has no quorum)
//	session    a session with that server alone, and the session timeout it
//	           granted (warn: not the one asked for, the server clamped it;
//	           FAIL: no session within --registry_timeout)
//
// Then, for the registry:
//
//	ensemble     one standalone server, or one ensemble with one leader and a
//	             quorum (warn: a member is down but the quorum holds, or only
//	             one member of an ensemble is listed; FAIL: no quorum, no
//	             leader, several leaders or a standalone server among others)
//	prefix       whether the prefix exists, and how many services it holds
//	             (FAIL: it cannot be read)
//	acl          the prefix's ACL, as scheme:id:perms (warn: anyone may change
//	             it although credentials are configured; or no credentials are
//	             configured and anyone may not create services under it)
//	credentials  whether credentials are configured (warn: they are, without
//	             TLS: ZooKeeper's digest scheme sends the password as it is)
//
// The table has the columns SERVER ("-" for the registry), CHECK, VERDICT
// and DETAIL. With -o json it prints one object:
//
//	{
//	  "verdict": "warn",                  // the worst verdict: ok, warn or fail
//	  "servers": [{
//	    "address": "10.0.0.1:2181",
//	    "reachable": true,
//	    "version": "3.8.0",               // "" if unknown
//	    "mode": "leader",                 // "" if unknown
//	    "serving": true,
//	    "container_znodes": true,
//	    "session_timeout": "10s",         // granted, a Go duration; "" without a session
//	    "tls": {"version": "TLS 1.3", "subject": "CN=zookeeper", "issuer": "CN=ops CA",
//	            "not_after": "2027-01-01T00:00:00Z"}  // null without TLS or handshake
//	  }],
//	  "checks": [{"server": "10.0.0.1:2181", "check": "reachable", "verdict": "ok",
//	              "detail": "TCP connection established"}],  // server "" for the registry
//	  "prefix": {"path": "/micro-registry", "exists": true, "services": 3,
//	             "acl": ["world:anyone:cdrwa"]}
//	}
//
// # zkmicro config
//
//	zkmicro config [--prefix P] get [-o text|json] [KEY]
//	zkmicro config [--prefix P] set [--string] [--private] KEY VALUE
//	zkmicro config [--prefix P] delete KEY
//	zkmicro config [--prefix P] watch [-o text|json] [KEY]
//
// Read, change and watch the configuration that go-micro services load
// with the zkconfig source: the JSON object stored in the subtree under
// the prefix P (default /micro-config, zkconfig's default), below the
// chroot of --registry_address, in zkconfig's layout (see
// https://github.com/zkmicro/zookeeper/blob/main/zkconfig/README.md):
// /micro-config/database/port holding 3306 is {"database":{"port":3306}}.
// --prefix goes before the command: "zkmicro config --prefix
// /micro-config/greeter get greeting". The
// registry's MICRO_REGISTRY_ZOOKEEPER_AUTH, _SESSION_TIMEOUT, _OPEN_DIRS and
// _TLS* variables apply, and --registry_timeout bounds the wait for
// ZooKeeper. Znodes that the source leaves out of the configuration (data
// that is not UTF-8 text, a name that is not an escaped key, an ACL that
// refuses this client, a value nested deeper than a JSON decoder reads)
// are reported on stderr, as warnings.
//
// With credentials, a configuration whose prefix or znodes an identity
// other than the credentials' may change (created open by someone else
// before the service's first write, or with zkCli's default ACL) is
// refused by every config command, with an error naming the znode, its
// ACL entry and how to fix it: whoever could change it could add keys
// every service loads. MICRO_REGISTRY_ZOOKEEPER_OPEN_DIRS=true accepts it.
//
// A KEY is a key path with its keys separated by dots, as go-micro's
// config.Get takes it split: database.address is conf.Get("database",
// "address"). A key that contains a dot cannot be named. A KEY that the
// configuration does not hold is an error (exit 1): "zkmicro: config get
// "database.adress": no such key in /micro-config".
//
// get prints the whole configuration, or the value of KEY. For people (-o
// text, the default) a string prints as it is, anything else as JSON
// indented by two spaces, object keys sorted. With -o json it prints the
// value as compact JSON on one line, exactly as the source hands it to
// go-micro: keys sorted, numbers as stored, no HTML escaping; a string is
// quoted. For example "zkmicro config get -o json" prints
//
//	{"database":{"address":"10.0.0.7","port":3306},"greeting":"Hello"}
//
// set makes KEY hold VALUE, and leaves every other key alone: it writes
// only the znodes on the way to KEY (creating missing parents) and below
// it, in one atomic multi, each at the version it was read at, so a key
// changed meanwhile by someone else keeps their change, and a concurrent
// change to KEY's own branch makes the multi fail and set read again and
// retry (up to 4 multis). VALUE is stored as JSON if it parses as JSON,
// else as a string; --string stores it as a string anyway. zkconfig then
// stores it as its Write does: a string as its raw text (quoted only if
// that text is itself JSON), a number as written, an object as a znode
// per key:
//
//	zkmicro config set greeting Hello                  "Hello"  (znode data: Hello)
//	zkmicro config set database.port 3306              3306
//	zkmicro config set --string version 1.10           "1.10"   (znode data: "1.10")
//	zkmicro config set quoted '"42"'                   "42"
//	zkmicro config set features.beta true              true, creating features
//	zkmicro config set database '{"address":"10.0.0.7","port":3306}'
//	                                                   an object: replaces database's keys
//
// A parent on the way that holds something other than an object becomes
// an object. VALUE must be UTF-8 text (else a usage error), must not hold
// the JSON escape of a lone surrogate ("\udc00", which a JSON decoder
// reads as U+FFFD), must not nest the configuration deeper than the
// 10,000 levels go-micro's JSON decoder reads (the keys of KEY count: a
// value 9,998 deep at a.b.c would make the whole configuration
// unreadable), and a JSON object in it must have keys a document can
// store (not empty, "." or "..", each once). set prints nothing and exits
// 0 once a read shows the write.
//
// The znodes set creates take the ACL of the znode they are created
// below: a key added to a private configuration is private. A prefix set
// creates is, with credentials, the credentials' to change and everyone's
// to read. --private makes what set creates, the prefix or a key below a
// znode everyone may read, readable and writable only with the
// credentials (zkconfig's Private; it needs MICRO_REGISTRY_ZOOKEEPER_AUTH).
//
// delete removes KEY and everything below it, in one atomic multi that
// touches only KEY's branch, and prints nothing. An object left without
// keys reads as {}.
//
// watch prints a line for every change to the configuration (or to KEY and
// what is below it) until interrupted (SIGINT, SIGTERM), then exits 0.
// Once the watch is in place it says so on stderr, a line such as
// "2026-11-27T10:00:00.000Z zkmicro: watching database in /micro-config"
// ("watching every key in /micro-config" without KEY). It compares each
// configuration the source's watcher hands out with the one before, key by
// key: each value that is not an object, and each empty object, is one
// key. Each line on stdout is
//
//	2026-11-27T10:00:00.000Z update database.port 3307
//
// that is: the time the change was seen (UTC, milliseconds), the action
// (create, update or delete), the KEY, and its new value as compact JSON
// (for a delete, the value it had), separated by single spaces; the value,
// last, may contain spaces. The changes of one configuration print in key
// order; a burst of writes may arrive as one configuration, so that only
// its net changes print. A value that becomes an object prints as the
// delete of the value and the create of the object's keys. With -o json
// each line is instead a JSON object:
//
//	{"time": "2026-11-27T10:00:00.000Z", "action": "update", "key": "database.port",
//	 "path": ["database", "port"], "value": 3307}
//
// path holds the keys of key one by one (a key may contain a dot there).
// Changes made while ZooKeeper is unreachable print once the source reads
// the subtree again. A watch that fails for any reason other than the
// interrupt is an error (exit 1).
//
// # Examples
//
// Real output, from a 3-node ensemble on loopback. What is registered:
//
//	$ zkmicro services
//	NAME     VERSION  NODES
//	auth     2.1.0    1
//	greeter  1.0.0    2
//
//	$ zkmicro get greeter
//	VERSION  ID            ADDRESS        METADATA
//	1.0.0    greeter-5b1c  10.0.0.7:4100  protocol=mucp,registry=zookeeper
//	1.0.0    greeter-9f3e  10.0.0.8:4100  protocol=mucp,registry=zookeeper
//
// A sidecar for a server that is not a go-micro service; its server was
// stopped for a few seconds, then the sidecar was interrupted:
//
//	$ zkmicro register --name legacy-billing --version 0.9.0 --address 127.0.0.1:39621 \
//	    --check tcp://127.0.0.1:39621 --check_interval 1s --check_failures 2 --metadata protocol=mucp
//	2026-11-27T12:25:43.559Z zkmicro: legacy-billing-0279a652-0516-4156-a57e-6485c264d784 healthy: registered
//	2026-11-27T12:25:46.539Z zkmicro: legacy-billing-0279a652-0516-4156-a57e-6485c264d784 check failed (1 of 2): dial tcp 127.0.0.1:39621: connect: connection refused
//	2026-11-27T12:25:47.548Z zkmicro: legacy-billing-0279a652-0516-4156-a57e-6485c264d784 unhealthy (2 consecutive failures: dial tcp 127.0.0.1:39621: connect: connection refused): deregistered
//	2026-11-27T12:25:49.548Z zkmicro: legacy-billing-0279a652-0516-4156-a57e-6485c264d784 healthy: registered
//	2026-11-27T12:25:50.564Z zkmicro: legacy-billing-0279a652-0516-4156-a57e-6485c264d784 stopped: deregistered
//
// and meanwhile, in another terminal:
//
//	$ zkmicro get legacy-billing
//	VERSION  ID                                                   ADDRESS          METADATA
//	0.9.0    legacy-billing-0279a652-0516-4156-a57e-6485c264d784  127.0.0.1:39621  protocol=mucp,registrar=zkmicro,registry=zookeeper
//
//	$ zkmicro watch
//	2026-11-27T12:25:42.547Z zkmicro: watching every service
//	2026-11-27T12:25:43.563Z create legacy-billing 0.9.0 legacy-billing-0279a652-0516-4156-a57e-6485c264d784 127.0.0.1:39621
//	2026-11-27T12:25:47.550Z delete legacy-billing 0.9.0 legacy-billing-0279a652-0516-4156-a57e-6485c264d784 127.0.0.1:39621
//	2026-11-27T12:25:49.553Z create legacy-billing 0.9.0 legacy-billing-0279a652-0516-4156-a57e-6485c264d784 127.0.0.1:39621
//	2026-11-27T12:25:50.581Z delete legacy-billing 0.9.0 legacy-billing-0279a652-0516-4156-a57e-6485c264d784 127.0.0.1:39621
//
// What the older plugin left behind:
//
//	$ zkmicro prune --delete
//	PATH                             VERSION  ADDRESS          STATUS   DETAIL
//	/micro-registry/orders/notes     -        -                invalid  not a service registration: not a JSON object
//	/micro-registry/orders/orders-1  1.2.0    127.0.0.1:34083  alive    -
//	/micro-registry/orders/orders-2  1.2.0    127.0.0.1:43697  deleted  connection refused
//
// An ensemble with one member killed, checked with credentials by a
// registry whose prefix was created without them:
//
//	$ MICRO_REGISTRY_ZOOKEEPER_AUTH=digest:ops:secret zkmicro doctor
//	SERVER           CHECK        VERDICT  DETAIL
//	127.0.0.1:36593  reachable    FAIL     dial tcp 127.0.0.1:36593: connect: connection refused
//	127.0.0.1:40223  reachable    ok       TCP connection established
//	127.0.0.1:40223  version      ok       3.8.0: container znodes supported
//	127.0.0.1:40223  mode         ok       follower
//	127.0.0.1:40223  session      ok       timeout 10s granted, as asked
//	127.0.0.1:33901  reachable    ok       TCP connection established
//	127.0.0.1:33901  version      ok       3.8.0: container znodes supported
//	127.0.0.1:33901  mode         ok       leader
//	127.0.0.1:33901  session      ok       timeout 10s granted, as asked
//	-                ensemble     warn     2 of 3 servers serving, leader 127.0.0.1:33901: the quorum holds, with less margin
//	-                prefix       ok       /micro-registry exists, 3 services
//	-                acl          warn     world:anyone:cdrwa: anyone may write, delete and administer /micro-registry although this registry uses credentials (it was created without them, perhaps by the older plugin): restrict it to the registry's identity plus world:anyone:cr, e.g. setAcl /micro-registry auth::cdrwa,world:anyone:cr after addauth
//	-                credentials  warn     configured, sent in clear text: ZooKeeper's digest scheme sends the password as it is; configure TLS (MICRO_REGISTRY_ZOOKEEPER_TLS_*)
//	zkmicro: doctor: 1 of 13 checks failed: 127.0.0.1:36593 reachable
//	$ echo $?
//	1
//
// Configuration:
//
//	$ zkmicro config set database '{"address": "10.0.0.7", "port": 3306}'
//	$ zkmicro config set greeting Hello
//	$ zkmicro config set --string version 1.10
//	$ zkmicro config get database.port
//	3306
//	$ zkmicro config get -o json
//	{"database":{"address":"10.0.0.7","port":3306},"greeting":"Hello","version":"1.10"}
//	$ zkmicro config get database.adress
//	zkmicro: config get "database.adress": no such key in /micro-config
//	$ echo $?
//	1
//
// A ZooKeeper that cannot be reached:
//
//	$ zkmicro --registry_address 127.0.0.1:1 --registry_timeout 2s services
//	zkmicro: list services: zookeeper: list services: no session with 127.0.0.1:1 (state StateConnecting; last connection error: dial tcp 127.0.0.1:1: connect: connection refused): context deadline exceeded
//	$ echo $?
//	1
//
// Names, versions, ids, addresses, metadata, configuration keys and values
// are whatever anyone allowed to write them wrote. In text output (tables,
// watch lines, config values, log lines and errors) every character that
// could drive a terminal or reorder what it shows prints as an escape: C0
// and C1 control characters and DEL (ESC as \x1b, BEL as \x07, tab, line
// feed and carriage return as \t, \n and \r), Unicode format characters
// such as the right-to-left override (\u202e), the line and paragraph
// separators, and each byte that is not UTF-8 (\xff). config get keeps
// the line feeds and tabs of a value, which prints as a block. -o json is
// exact, for programs: JSON escapes the control characters below U+0020,
// but not DEL, C1 or format characters.
//
// # Exit codes
//
//	0  success, or interrupted (SIGINT, SIGTERM) while watching or registering,
//	   even if the sidecar's final deregistration fails (see register)
//	1  runtime error, printed on stderr as "zkmicro: <error>": the registry
//	   cannot be opened or fails a call, the service asked for does not
//	   exist, a node to drain or undrain does not exist or may not be
//	   changed, the watcher fails, a prune deletion fails, a doctor check
//	   FAILs, a config KEY does not exist, a config write is refused,
//	   --prefix is not a valid prefix
//	2  usage error (unknown command or option, missing or extra argument,
//	   invalid value): "zkmicro: <error>" and the command's usage on stderr
//
// -h or --help on any command, and "zkmicro help [COMMAND]", print usage on
// stdout and exit 0. A second SIGINT or SIGTERM ends zkmicro at once.
package main

// README.md is made from the package documentation above.
//go:generate go run ../../internal/cmd/gendocs zkmicro
