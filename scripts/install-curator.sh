#!/usr/bin/env bash
# Makes sure Apache Curator's service discovery and a JDK are available for
# the tests that check our Curator format against the real thing
# (internal/zktest's Curator peer compiles a small Java program with javac
# against Curator's jars). On Debian/Ubuntu it installs Debian's packages
# (as root, or through passwordless sudo). Elsewhere it says what to do and
# fails.
set -euo pipefail

dir="${CURATOR_JARS:-/usr/share/java}"
jars=(curator-client.jar curator-framework.jar curator-recipes.jar curator-x-discovery.jar)
# Debian's libcurator-discovery-java does not depend on the recipes its
# ServiceCache is built on (PathChildrenCache): they are listed here.
packages=(libcurator-discovery-java libcurator-framework-java libcurator-recipes-java default-jdk-headless)

have() {
  command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1 || return 1
  for j in "${jars[@]}"; do
    [ -f "$dir/$j" ] || return 1
  done
}

if have; then
  echo "curator: using $dir/curator-x-discovery.jar"
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "curator: not installed, and installing it needs root." >&2
      echo "  run: sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
      exit 1
    fi
  fi
  echo "curator: installing Debian's ${packages[*]}..."
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q "${packages[@]}" >/dev/null
  if have; then
    echo "curator: installed $dir/curator-x-discovery.jar"
    exit 0
  fi
  echo "curator: the packages installed, but javac or a jar of ${jars[*]} is still missing from $dir" >&2
  exit 1
fi

cat >&2 <<MSG
curator: no Curator jars (${jars[*]}) in $dir, or no javac, and no apt-get to install them.
  Install a JDK 11+ and Apache Curator 5.x (curator-client, curator-framework,
  curator-recipes, curator-x-discovery) with their dependencies (ZooKeeper, Jackson 2, Guava,
  SLF4J), put the jars under one directory with those names, and point
  CURATOR_JARS at it; or run the tests on Debian/Ubuntu.
MSG
exit 1
