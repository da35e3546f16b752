#!/usr/bin/env bash
# The churn soak (issue 4, scenario 9; `make soak`): four registries register,
# update and deregister at random for ZKMICRO_SOAK_DURATION (default 60s)
# while a fault proxy in front of each cuts connections, partitions, adds
# latency and forces one session expiry. It then checks that ZooKeeper, every
# watcher and every registry agree, that only transient errors reached
# callers, and that no goroutine leaked. ZKMICRO_SOAK_SEED replays the random
# choices of a run (printed at its start). See RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."

export ZKMICRO_SOAK_DURATION="${ZKMICRO_SOAK_DURATION:-60s}"
exec "${GO:-go}" test -race -gcflags=github.com/go-zookeeper/zk=-race=false -tags soak -count=1 -timeout 15m -run '^TestChurnSoak$' -v ./internal/engine
