# The test command (README, .ci/run): installs ZooKeeper when missing, vets,
# runs every test of both modules (the root, go-micro v4; v5/, go-micro v5)
# against real ZooKeeper servers with the race detector, then fuzzes the
# decoders of untrusted znode data for a bounded time.
GO        ?= go
FUZZTIME  ?= 10s
# package:target pairs fuzzed by make fuzz.
FUZZ_TARGETS = \
	./internal/engine:FuzzDecodeNode \
	./internal/engine:FuzzEscapeSegment \
	./internal/engine:FuzzSharedDecoder \
	./internal/engine:FuzzDecodeCuratorInstance \
	./internal/balance:FuzzRead \
	./internal/configdoc:FuzzEscapeKey \
	./internal/configdoc:FuzzAppendString \
	./internal/configdoc:FuzzReadDocument \
	./internal/configdoc:FuzzDocumentRoundTrip

.PHONY: test short zookeeper vet fuzz fuzz-long soak demo bench bench-balance scale

test: zookeeper vet
	$(GO) test -race -count=1 -timeout 9m ./...
	cd v5 && $(GO) test -race -count=1 -timeout 9m ./...
	$(MAKE) fuzz

zookeeper:
	@scripts/install-zookeeper.sh
	@scripts/install-curator.sh
	@scripts/install-kazoo.sh

vet:
	$(GO) vet ./...
	cd v5 && $(GO) vet ./...

# The pure tier: no ZooKeeper, no Java (tests that need a server skip).
short:
	$(GO) test -short -race -count=1 ./...
	cd v5 && $(GO) test -short -race -count=1 ./...

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; f=$${t#*:}; \
		echo "fuzz $$f in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

fuzz-long:
	$(MAKE) fuzz FUZZTIME=5m

# The newcomer's first command: a 3-node ensemble on loopback, two hello
# servers, a watching client, a crash, and a clean teardown. demo.sh finds
# ZooKeeper itself (Debian package, a running server, or docker compose).
demo:
	@scripts/demo.sh

# Fault-injection churn soak (bounded; not part of `make test`).
soak: zookeeper
	@scripts/soak.sh

# Side-by-side benchmark against the old plugin (bench/ is its own module),
# then zkbalance against go-micro's Random and RoundRobin.
bench: zookeeper
	@scripts/bench.sh

# The zkbalance rows only: share of the slow server, p50/p99, writes per node.
bench-balance: zookeeper
	@scripts/bench.sh -only balance

# The fleet benchmark: 100,000 nodes over 10,000 services on a 3-node
# loopback ensemble, a process watching all of it (RSS, time to be in sync
# beside a raw client's, warm lookups). A few minutes; not part of make test.
scale: zookeeper
	@scripts/bench.sh -fleet -heap 1024
