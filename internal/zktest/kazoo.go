package zktest

import (
	"os"
	"os/exec"
)

// EnvPython names the environment variable that points at the Python
// interpreter with kazoo when it is not DefaultPython.
const EnvPython = "ZKMICRO_PYTHON"

// DefaultPython is Debian's Python, where python3-kazoo installs kazoo.
const DefaultPython = "/usr/bin/python3"

// Kazoo runs a Python program with kazoo (Python's ZooKeeper client,
// which nobody here wrote) connected to the ZooKeeper at addr as zk, and
// returns what it prints. The program may use sys, json and logging. It
// fails the test when kazoo is missing (scripts/install-zookeeper.sh, run by
// make test, installs it) or the program fails; under go test -short it
// skips it.
func Kazoo(t TB, addr, program string) string {
	t.Helper()
	skipShort(t)
	python := os.Getenv(EnvPython)
	if python == "" {
		python = DefaultPython
	}
	if err := exec.Command(python, "-c", "import kazoo.client").Run(); err != nil {
		t.Fatalf("zktest: kazoo is not installed for %s (%v): run scripts/install-zookeeper.sh (Debian/Ubuntu: apt-get install -y python3-kazoo), or set %s", python, err, EnvPython)
	}
	prelude := "import sys, json, logging\nlogging.disable(logging.CRITICAL)\nfrom kazoo.client import KazooClient\n" +
		"zk = KazooClient(hosts=sys.argv[1])\nzk.start(timeout=30)\n"
	out, err := exec.Command(python, "-c", prelude+program+"\nzk.stop()\nzk.close()\n", addr).CombinedOutput()
	if err != nil {
		t.Fatalf("zktest: kazoo program failed: %v\n%s", err, out)
	}
	return string(out)
}
