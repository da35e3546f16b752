#!/usr/bin/env bash
# Makes sure Python's ZooKeeper client, kazoo, is available for the
# cross-language tests (a client nobody here wrote reads and writes what
# the toolkit does). On Debian/Ubuntu it installs Debian's python3-kazoo
# package (as root, or through passwordless sudo). Elsewhere it says what to
# do and fails: the tests fail without it, they are never skipped.
set -euo pipefail

python="${ZKMICRO_PYTHON:-/usr/bin/python3}"

have() { [ -x "$python" ] && "$python" -c 'import kazoo.client' >/dev/null 2>&1; }

if have; then
  echo "kazoo: using $python"
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "kazoo: not installed, and installing it needs root." >&2
      echo "  run: sudo apt-get update && sudo apt-get install -y python3-kazoo" >&2
      exit 1
    fi
  fi
  echo "kazoo: installing Debian's python3-kazoo package..."
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q python3-kazoo >/dev/null
  if have; then
    echo "kazoo: installed"
    exit 0
  fi
  echo "kazoo: the package installed, but $python cannot import kazoo.client" >&2
  exit 1
fi

echo "kazoo: no apt-get to install python3-kazoo; install kazoo for $python (or set ZKMICRO_PYTHON)" >&2
exit 1
