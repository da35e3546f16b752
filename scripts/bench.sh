#!/usr/bin/env bash
# The side-by-side benchmark (issue 5; `make bench`). It builds bench/, a
# module of its own so that the plugin's users never download the old plugin,
# and runs it: the harness starts a 3-node ZooKeeper ensemble on loopback,
# runs this plugin and github.com/go-micro/plugins/v4/registry/zookeeper
# v1.2.0 against it in one run, prints one table of medians and ratios
# old/ours, then runs the scale checks (10,000 nodes, a session expiry). It
# stops every process it started, also when interrupted.
#
# Arguments go to the harness: -quick (fewer iterations), -scale=false,
# -only register,get,list,watch,memory,balance (balance: zkbalance against
# go-micro's Random and RoundRobin, a table of its own; make bench-balance).
# ZOOKEEPER_JAR points at the server jar (default: Debian's
# /usr/share/java/zookeeper.jar). Numbers are noisy on a busy machine: run it
# when the machine is quiet, and more than once.
set -euo pipefail
cd "$(dirname "$0")/../bench"

# The old plugin is served by the Go module proxy but is not in the checksum
# database; bench/go.sum pins it.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/go-micro/plugins"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"${GO:-go}" build -o "$tmp/zkbench" .
"$tmp/zkbench" "$@"
