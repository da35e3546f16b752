# The test command (README, .ci/run): installs ZooKeeper when missing, vets,
# runs every test against real ZooKeeper servers with the race detector, then
# fuzzes the decoders of untrusted znode data for a bounded time.
GO        ?= go
FUZZTIME  ?= 10s
FUZZ_TARGETS = FuzzDecodeNode FuzzEscapeSegment FuzzSharedDecoder

.PHONY: test zookeeper vet unit fuzz fuzz-long soak demo bench

test: zookeeper vet
	$(GO) test -race -count=1 -timeout 9m ./...
	$(MAKE) fuzz

zookeeper:
	@scripts/install-zookeeper.sh

vet:
	$(GO) vet ./...

fuzz:
	@for f in $(FUZZ_TARGETS); do \
		echo "fuzz $$f for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) . || exit 1; \
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

# Side-by-side benchmark against the old plugin (bench/ is its own module).
bench: zookeeper
	@scripts/bench.sh
