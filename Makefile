# The test command (README, .ci/run): installs ZooKeeper when missing, vets,
# runs every test of both modules (the root, go-micro v4; v5/, go-micro v5)
# against real ZooKeeper servers with the race detector, then fuzzes the
# decoders of untrusted znode data for a bounded time.
#
# How it spends a small machine's CPUs: vet first, with the tests' build
# flags, so that the packages it compiles are the ones the test binaries,
# and the programs the tests run, are linked from; then the root module's
# tests, the longest part, which wait on ZooKeeper more than they compute,
# while the v5 module's tests and the fuzzers are compiled at a low
# priority (nice) in the CPU time they leave; then v5's tests, beside the
# root's; then the fuzzers. At most ZKTEST_MAX_TESTS tests use ZooKeeper
# at once, across all test processes (internal/zktest).
GO        ?= go
FUZZTIME  ?= 5s
ZKTEST_MAX_TESTS ?= 3
export ZKTEST_MAX_TESTS
# The race detector over everything but go-zookeeper's own code, whose
# known race would fail tests at random (RELIABILITY.md, "The ZooKeeper
# client's own race"). Races in this module's code are all still caught.
# zktest.RaceFlags, with which tests build the programs they run, are the
# same.
RACE      = -race -gcflags=github.com/go-zookeeper/zk=-race=false
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
	./internal/configdoc:FuzzDocumentRoundTrip \
	./internal/termtext:FuzzEscape

.PHONY: test test-root test-v5 fuzz-build short zookeeper vet fuzz fuzz-long soak demo bench bench-balance scale

test: zookeeper vet
	@$(MAKE) -j3 --no-print-directory --output-sync=target test-root test-v5 fuzz-build
	@$(MAKE) --no-print-directory fuzz

test-root:
	$(GO) test $(RACE) -count=1 -timeout 9m ./...

# Compiled first at a low priority (go test -exec true builds the test
# binaries and runs none; a build error shows in the real run after it),
# then tested at the normal one, beside the root module's tests.
test-v5:
	-@cd v5 && nice -n 10 $(GO) test $(RACE) -count=1 -run '^$$' -exec true ./... >/dev/null 2>&1
	cd v5 && $(GO) test $(RACE) -count=1 -timeout 9m ./...

# The fuzzers' instrumented builds, at a low priority, one target per
# package (make fuzz then only links).
fuzz-build:
	-@seen=; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; f=$${t#*:}; \
		case " $$seen " in *" $$pkg "*) continue;; esac; seen="$$seen $$pkg"; \
		nice -n 10 $(GO) test -run '^$$' -fuzz "^$$f$$" -exec true $$pkg >/dev/null 2>&1; \
	done

zookeeper:
	@scripts/install-zookeeper.sh
	@scripts/install-curator.sh

vet:
	$(GO) vet $(RACE) ./...
	cd v5 && $(GO) vet $(RACE) ./...

# The pure tier: no ZooKeeper, no Java (tests that need a server skip).
short:
	$(GO) test -short $(RACE) -count=1 ./...
	cd v5 && $(GO) test -short $(RACE) -count=1 ./...

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
