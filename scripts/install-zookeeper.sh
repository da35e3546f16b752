#!/usr/bin/env bash
# Makes sure a ZooKeeper server (and Java) is available for the tests and the
# demo. On Debian/Ubuntu it installs Debian's zookeeper package (as root, or
# through passwordless sudo). Elsewhere it says what to do and fails.
set -euo pipefail

jar="${ZOOKEEPER_JAR:-/usr/share/java/zookeeper.jar}"

have() { [ -f "$jar" ] && command -v java >/dev/null 2>&1; }

if have; then
  echo "zookeeper: using $jar"
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "zookeeper: not installed, and installing it needs root." >&2
      echo "  run: sudo apt-get update && sudo apt-get install -y zookeeper" >&2
      exit 1
    fi
  fi
  echo "zookeeper: installing Debian's zookeeper package..."
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q zookeeper >/dev/null
  if have; then
    echo "zookeeper: installed $jar"
    exit 0
  fi
  echo "zookeeper: the package installed, but $jar or java is still missing" >&2
  exit 1
fi

cat >&2 <<MSG
zookeeper: no ZooKeeper server jar at $jar and no apt-get to install one.
  Install Java 11+ and Apache ZooKeeper 3.6+ (https://zookeeper.apache.org/releases.html),
  then point ZOOKEEPER_JAR at a jar that holds the server and its dependencies
  (for the Apache tarball: a directory's lib/*.jar joined with ':' is not enough;
  use Debian's package, or run the tests on Debian/Ubuntu).
MSG
exit 1
