#!/usr/bin/env bash
# Makes sure a ZooKeeper server (and Java) is available for the tests and the
# demo, and Python's kazoo client for the config source's cross-check
# (zkconfig/kazoo_test.go). On Debian/Ubuntu it installs Debian's zookeeper
# and python3-kazoo packages (as root, or through passwordless sudo).
# Elsewhere it says what to do and fails.
set -euo pipefail

jar="${ZOOKEEPER_JAR:-/usr/share/java/zookeeper.jar}"

have_zookeeper() { [ -f "$jar" ] && command -v java >/dev/null 2>&1; }
have_kazoo() { /usr/bin/python3 -c 'import kazoo.client' >/dev/null 2>&1; }
have() { have_zookeeper && have_kazoo; }

if have; then
  echo "zookeeper: using $jar"
  exit 0
fi
packages=()
have_zookeeper || packages+=(zookeeper)
have_kazoo || packages+=(python3-kazoo)

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "zookeeper: ${packages[*]} not installed, and installing needs root." >&2
      echo "  run: sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
      exit 1
    fi
  fi
  echo "zookeeper: installing Debian's ${packages[*]} package(s)..."
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q "${packages[@]}" >/dev/null
  if have; then
    echo "zookeeper: installed; using $jar"
    exit 0
  fi
  echo "zookeeper: the packages installed, but $jar, java or Python's kazoo is still missing" >&2
  exit 1
fi

cat >&2 <<MSG
zookeeper: missing ${packages[*]}, and no apt-get to install them.
  Install Java 11+ and Apache ZooKeeper 3.6+ (https://zookeeper.apache.org/releases.html),
  then point ZOOKEEPER_JAR at a jar that holds the server and its dependencies
  (for the Apache tarball: a directory's lib/*.jar joined with ':' is not enough;
  use Debian's package, or run the tests on Debian/Ubuntu); and Python's
  kazoo for /usr/bin/python3 (pip install kazoo).
MSG
exit 1
