#!/usr/bin/env bash
# The newcomer's first command (`make demo`): a 3-node ZooKeeper ensemble on
# loopback, two hello servers registered in it, a client that watches them
# and calls them both, `zkmicro get` and `zkmicro watch` showing the
# registry, a go-micro v5 server joining the v4 fleet, the greeting changed
# in ZooKeeper with one `zkmicro config set` and answered by the v4 and the v5
# servers alike without a restart (and back with `config delete`), one
# server killed with SIGKILL and its ephemeral node reported deleted once its
# session times out, soft load balancing (three workers publish their load;
# traffic moves away from one slowed down, and from one drained with zkmicro
# drain, and comes back with zkmicro undrain), the hello server stopped
# cleanly.
# Everything it starts is stopped, and its temporary directory removed, when
# it ends, fails or is interrupted.
#
# ZooKeeper comes from, in this order: Debian's zookeeper package (Java and
# /usr/share/java/zookeeper.jar; scripts/install-zookeeper.sh installs it when
# run as root or with passwordless sudo), a ZooKeeper already serving on
# 127.0.0.1:2181 (used as is), or docker compose (docker-compose.yml's
# ensemble) when a Docker engine answers.
#
# Environment: DEMO_SESSION_TIMEOUT (default 4s), the servers' ZooKeeper
# session timeout; DEMO_KEEP=1 keeps the temporary directory (configs, logs);
# ZOOKEEPER_JAR, GO.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly ROOT=$PWD

readonly SESSION_TIMEOUT="${DEMO_SESSION_TIMEOUT:-4s}"
readonly GO="${GO:-go}"
readonly JAR="${ZOOKEEPER_JAR:-/usr/share/java/zookeeper.jar}"
readonly COMPOSE_PROJECT="zkmicro-demo-$$"
readonly STEPS=16

START_NS=$(date +%s%N)
STEP=0
WORK=""          # temporary directory
MODE=""          # local | existing | compose
ADDRS=""         # ZooKeeper client addresses, comma-separated
ZK_PIDS=()       # ZooKeeper servers we started
APP_PIDS=()      # hello programs we started
LOGS=()          # logs worth showing when something fails
WATCH_SHOWN=0    # watch.log lines already printed
FAILED=""        # set by die: show the logs when cleaning up

# --- output -----------------------------------------------------------------

stamp() {
	local t=$((($(date +%s%N) - START_NS) / 100000000))
	printf '[%3d.%ds]' $((t / 10)) $((t % 10))
}
# since NS: seconds elapsed since NS (from date +%s%N), e.g. 3.84s.
since() {
	local ms=$((($(date +%s%N) - $1) / 1000000))
	printf '%d.%02ds' $((ms / 1000)) $((ms % 1000 / 10))
}
step() { STEP=$((STEP + 1)); printf '%s %d/%d %s\n' "$(stamp)" "$STEP" "$STEPS" "$*"; }
info() { printf '          %s\n' "$*"; }
# die WHAT FIX...: says what went wrong and how to fix it, then exits (the
# EXIT trap cleans up).
die() {
	FAILED=yes
	printf '%s FAILED: %s\n' "$(stamp)" "$1" >&2
	shift
	local line
	for line in "$@"; do printf '          fix: %s\n' "$line" >&2; done
	exit 1
}
# own_lines: the hello client's own lines (they start with a time of day),
# without go-micro's and the plugin's log lines.
own_lines() { grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} ' || true; }
# indent PREFIX: prints stdin, each line prefixed.
indent() { sed -u "s/^/          $1 | /"; }

# --- cleanup ----------------------------------------------------------------

# spawned PID: a process was started in the background. It is disowned, so
# that bash does not report its death (the demo kills some on purpose);
# stop_pids waits for it by polling.
spawned() { disown "$1"; }

# stop_pids SIGNAL SECONDS PID...: signals each process, waits for all to
# exit, and SIGKILLs what is left after SECONDS.
stop_pids() {
	local sig=$1 secs=$2 pid i
	shift 2
	for pid in "$@"; do kill "-$sig" "$pid" 2>/dev/null || true; done
	for ((i = 0; i < secs * 10; i++)); do
		local alive=0
		for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [ -n "$FAILED" ] && [ -n "$WORK" ]; then
		local f
		for f in "${LOGS[@]}"; do
			[ -s "$f" ] || continue
			printf '          --- last lines of %s ---\n' "${f#"$WORK"/}" >&2
			tail -n 15 "$f" | sed 's/^/          /' >&2
		done
	fi
	if [ "${#APP_PIDS[@]}" -gt 0 ]; then stop_pids TERM 5 "${APP_PIDS[@]}"; fi
	if [ "${#ZK_PIDS[@]}" -gt 0 ]; then stop_pids TERM 10 "${ZK_PIDS[@]}"; fi
	if [ "$MODE" = compose ]; then
		docker compose -p "$COMPOSE_PROJECT" -f "$ROOT/docker-compose.yml" down -v --remove-orphans >/dev/null 2>&1
	fi
	if [ -n "$WORK" ]; then
		if [ -n "${DEMO_KEEP:-}" ]; then
			echo "          kept $WORK (DEMO_KEEP is set): remove it when done" >&2
		else
			rm -rf "$WORK"
		fi
	fi
	if [ "$rc" != 0 ]; then
		local what=interrupted
		[ -z "$FAILED" ] || what=failed
		echo "$(stamp) demo $what: everything it started is stopped" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "$(stamp) interrupted" >&2; exit 130' INT
trap 'echo "$(stamp) terminated" >&2; exit 143' TERM

# --- ZooKeeper helpers ------------------------------------------------------

# zk_mode PORT: prints the server's mode (leader, follower, standalone) from
# the srvr four-letter word; fails while it does not serve.
zk_mode() {
	local out
	out=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf srvr >&3 && cat <&3' _ "$1" 2>/dev/null) || return 1
	out=$(sed -n 's/^Mode: //p' <<<"$out")
	[ -n "$out" ] && echo "$out"
}

# millis DURATION: a duration such as 4s, 4500ms or 1m in milliseconds.
millis() {
	case $1 in
	*ms) echo "${1%ms}" ;;
	*s) echo $((${1%s} * 1000)) ;;
	*m) echo $((${1%m} * 60000)) ;;
	esac
}

have_jar() { [ -f "$JAR" ] && command -v java >/dev/null 2>&1; }

docker_ok() {
	command -v docker >/dev/null 2>&1 &&
		timeout 15 docker info >/dev/null 2>&1 &&
		timeout 15 docker compose version >/dev/null 2>&1
}

# free_ports N: prints N distinct loopback ports that nothing listens on,
# below the kernel's ephemeral range so that outgoing connections do not
# take them meanwhile.
free_ports() {
	local n=$1 lo=20000 hi=32000 got=() p tries=0
	if read -r eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null && [ "$eph" -gt 11000 ]; then
		hi=$((eph - 1))
		lo=$((hi - 10000))
	fi
	while [ "${#got[@]}" -lt "$n" ]; do
		tries=$((tries + 1))
		[ "$tries" -lt 1000 ] || return 1
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
		[[ " ${got[*]} " == *" $p "* ]] && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		got+=("$p")
	done
	echo "${got[@]}"
}

# start_ensemble: writes three servers' configs under $WORK and starts them;
# sets ADDRS and ZK_PIDS. Fails (returns 1) when a server exits early.
start_ensemble() {
	local ports cp java_flags i members=""
	ports=($(free_ports 9)) || die "no free loopback ports found below the ephemeral port range" "retry, or stop programs listening on many local ports"
	cp="$JAR"
	[ -f "$(dirname "$JAR")/slf4j-simple.jar" ] && cp="$cp:$(dirname "$JAR")/slf4j-simple.jar"
	# Small, quick-starting JVMs; no hsperfdata files left in /tmp.
	java_flags=(-Xmx128m -Xms32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -XX:-UsePerfData
		-Djava.net.preferIPv4Stack=true -Dzookeeper.admin.enableServer=false
		-Dznode.container.checkIntervalMs=1000 -Dorg.slf4j.simpleLogger.showDateTime=true)
	for i in 1 2 3; do
		members+="server.$i=127.0.0.1:${ports[3 * i - 2]}:${ports[3 * i - 1]}"$'\n'
	done
	ZK_PIDS=()
	ADDRS=""
	for i in 1 2 3; do
		local dir="$WORK/zk$i"
		rm -rf "$dir"
		mkdir -p "$dir/data"
		echo "$i" >"$dir/data/myid"
		# tickTime 500 ms: sessions may last 1 s to 60 s.
		cat >"$dir/zoo.cfg" <<-CFG
			tickTime=500
			initLimit=40
			syncLimit=10
			dataDir=$dir/data
			clientPort=${ports[3 * i - 3]}
			clientPortAddress=127.0.0.1
			maxSessionTimeout=60000
			admin.enableServer=false
			4lw.commands.whitelist=srvr,ruok
			maxClientCnxns=0
			reconfigEnabled=false
			standaloneEnabled=false
			quorumListenOnAllIPs=false
			$members
		CFG
		(cd "$dir" && exec java "${java_flags[@]}" -cp "$cp" \
			org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/server.log" 2>&1) &
		ZK_PIDS+=($!)
		spawned $!
		LOGS+=("$dir/server.log")
		ADDRS+="${ADDRS:+,}127.0.0.1:${ports[3 * i - 3]}"
	done
}

# wait_ensemble SECONDS: waits until all three servers serve; prints their
# modes. Returns 1 if a server exited, 2 on timeout.
wait_ensemble() {
	local secs=$1 i mode deadline
	deadline=$((SECONDS + secs))
	local -a addr
	IFS=, read -ra addr <<<"$ADDRS"
	for i in 0 1 2; do
		while ! mode=$(zk_mode "${addr[i]##*:}"); do
			kill -0 "${ZK_PIDS[i]}" 2>/dev/null || return 1
			[ "$SECONDS" -lt "$deadline" ] || return 2
			sleep 0.2
		done
		info "zk$((i + 1)) ${addr[i]} is serving as $mode"
	done
}

# --- watch log helpers --------------------------------------------------------

# show_watch: prints the watch client's lines not printed yet.
# wait_greeting WORD HOST FROM: waits up to 10s for a reply saying WORD
# from HOST in greeting.log after its first FROM lines; 1 if none comes.
wait_greeting() {
	local deadline=$((SECONDS + 10))
	until tail -n +"$(($3 + 1))" "$WORK/greeting.log" | grep -q "\"$1 demo, from $2\""; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

show_watch() {
	local total
	total=$(wc -l <"$WORK/watch.log")
	if [ "$total" -gt "$WATCH_SHOWN" ]; then
		sed -n "$((WATCH_SHOWN + 1)),${total}p" "$WORK/watch.log" | own_lines | indent watch
		WATCH_SHOWN=$total
	fi
}

# wait_watch REGEX SECONDS [PID]: waits until the watch client printed a
# line matching REGEX. Returns 1 if the client exited, 2 after SECONDS, 3 if
# process PID exited.
wait_watch() {
	local re=$1 secs=$2 pid=${3:-} deadline
	deadline=$(($(date +%s%N) + secs * 1000000000))
	until grep -Eq -- "$re" "$WORK/watch.log"; do
		kill -0 "$WATCH_PID" 2>/dev/null || return 1
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || return 3
		[ "$(date +%s%N)" -lt "$deadline" ] || return 2
		sleep 0.05
	done
}

# --- the demo ---------------------------------------------------------------

echo "zkmicro demo: go-micro services discovering each other through ZooKeeper"

step "checking tools"
command -v "$GO" >/dev/null 2>&1 ||
	die "Go is not installed (no '$GO' on PATH)" \
		"install Go $(sed -n 's/^go //p' go.mod) or newer from https://go.dev/dl/ and put it on PATH (or set GO=/path/to/go)"
info "$("$GO" version)"
[[ $SESSION_TIMEOUT =~ ^[1-9][0-9]*(ms|s|m)$ ]] ||
	die "DEMO_SESSION_TIMEOUT=$SESSION_TIMEOUT is not a duration like 4s, 4500ms or 1m" "set it to one, or unset it for 4s"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkmicro-demo.XXXXXX") ||
	die "cannot create a temporary directory in ${TMPDIR:-/tmp}" "set TMPDIR to a writable directory"
info "working in $WORK (removed at the end)"

step "making sure ZooKeeper is available"
if ! have_jar; then
	info "no ZooKeeper at $JAR: trying scripts/install-zookeeper.sh"
	scripts/install-zookeeper.sh 2>&1 | indent install || true
fi
if have_jar; then
	MODE=local
	info "ZooKeeper server jar $JAR; $(java -version 2>&1 | head -n 1)"
elif mode=$(zk_mode 2181); then
	MODE=existing
	ADDRS=127.0.0.1:2181
	info "using the ZooKeeper already serving at 127.0.0.1:2181 ($mode): one server, not a 3-node ensemble"
elif docker_ok; then
	MODE=compose
	info "no local ZooKeeper; a Docker engine answers: using docker compose (docker-compose.yml)"
else
	die "no ZooKeeper: not installed, none serving on 127.0.0.1:2181, and no Docker engine" \
		"on Debian/Ubuntu: sudo apt-get install -y zookeeper   (or run 'make demo' as root)" \
		"or start a Docker engine; the demo then runs docker-compose.yml's ensemble" \
		"or start any ZooKeeper 3.5+ on 127.0.0.1:2181"
fi

step "building the hello and balance servers and clients (go-micro v4 and v5) and zkmicro"
BIN="$WORK/bin"
build_start=$SECONDS
# Go's own temporary files go with $WORK too, even if the build is cut short.
mkdir -p "$WORK/gotmp"
export GOTMPDIR="$WORK/gotmp"
if ! "$GO" build -o "$BIN/hello-server" ./example/hello/server 2>"$WORK/build.log" ||
	! "$GO" build -o "$BIN/hello-client" ./example/hello/client 2>>"$WORK/build.log" ||
	! "$GO" build -o "$BIN/balance-server" ./example/balance/server 2>>"$WORK/build.log" ||
	! "$GO" build -o "$BIN/balance-client" ./example/balance/client 2>>"$WORK/build.log" ||
	! "$GO" build -o "$BIN/zkmicro" ./cmd/zkmicro 2>>"$WORK/build.log" ||
	! "$GO" build -C v5 -o "$BIN/hello-server-v5" ./example/hello/server 2>>"$WORK/build.log"; then
	indent build <"$WORK/build.log"
	die "go build failed (output above)" \
		"check that Go is $(sed -n 's/^go //p' go.mod) or newer ('$GO version')" \
		"the first build downloads modules: check access to the module proxy ('$GO env GOPROXY')"
fi
info "built in $((SECONDS - build_start))s"

case $MODE in
local)
	step "starting a 3-node ZooKeeper ensemble on loopback"
	started=""
	for attempt in 1 2 3; do
		start_ensemble
		info "servers ${ADDRS//,/ } (configs and logs in $WORK/zk1..3)"
		rc=0
		wait_ensemble 120 || rc=$?
		if [ "$rc" = 0 ]; then
			started=yes
			break
		fi
		if [ "$rc" = 2 ]; then
			die "the ensemble did not serve within 120s" \
				"the machine may be overloaded; see the server logs above, free some CPU and retry"
		fi
		if grep -qs 'Address already in use' "$WORK"/zk?/server.log; then
			info "a port was taken before ZooKeeper bound it (attempt $attempt): retrying on other ports"
			stop_pids KILL 5 "${ZK_PIDS[@]}"
			ZK_PIDS=()
			LOGS=()
			continue
		fi
		die "a ZooKeeper server exited while starting" "see its log above; check that $JAR is a ZooKeeper 3.5+ server jar and Java 11+ is installed"
	done
	[ -n "$started" ] || die "could not find free ports for the ensemble in 3 attempts" "retry; other programs are taking ports quickly"
	;;
existing)
	step "using the running ZooKeeper (skipping the ensemble)"
	;;
compose)
	step "starting a 3-node ZooKeeper ensemble with docker compose"
	docker compose -p "$COMPOSE_PROJECT" -f docker-compose.yml up -d --wait zk1 zk2 zk3 2>&1 | indent compose ||
		die "docker compose could not start the ensemble" \
			"see the output above; ports 2181-2183 must be free on this host ('ss -ltnp | grep 218')"
	ADDRS=127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183
	for p in 2181 2182 2183; do
		info "127.0.0.1:$p is serving as $(zk_mode $p || echo unknown)"
	done
	;;
esac

# Every program: the plugin chosen by go-micro's flags, loopback only.
REG=(--registry=zookeeper "--registry_address=$ADDRS")
SERVER_FLAGS=("${REG[@]}" --server_address=127.0.0.1:0 --broker_address=127.0.0.1:0 "--zookeeper_session_timeout=$SESSION_TIMEOUT")

step "starting a client that watches the greeter service"
"$BIN/hello-client" "${REG[@]}" --watch --wait=30s >"$WORK/watch.log" 2>&1 &
WATCH_PID=$!
spawned "$WATCH_PID"
APP_PIDS+=("$WATCH_PID")
LOGS+=("$WORK/watch.log")
wait_watch 'watching greeter' 40 ||
	die "the watching client did not start watching" "see watch.log above: it must reach ZooKeeper at $ADDRS"
show_watch
# zkmicro watches too; it says on stderr when it is in place. Its lines are
# shown at the end.
"$BIN/zkmicro" --registry_address "$ADDRS" watch greeter >"$WORK/zkmicro-watch.log" 2>"$WORK/zkmicro-watch.err" &
ZKMICRO_WATCH_PID=$!
spawned "$ZKMICRO_WATCH_PID"
APP_PIDS+=("$ZKMICRO_WATCH_PID")
LOGS+=("$WORK/zkmicro-watch.err")
for ((i = 0; i < 400; i++)); do
	grep -q ' zkmicro: watching greeter$' "$WORK/zkmicro-watch.err" && break
	kill -0 "$ZKMICRO_WATCH_PID" 2>/dev/null || die "zkmicro watch exited" "see zkmicro-watch.err above"
	sleep 0.1
done
grep -q ' zkmicro: watching greeter$' "$WORK/zkmicro-watch.err" ||
	die "zkmicro watch did not start within 40s" "it must reach ZooKeeper at $ADDRS"
info "zkmicro watch greeter is in place too"

step "starting two hello servers (session timeout $SESSION_TIMEOUT)"
"$BIN/hello-server" "${SERVER_FLAGS[@]}" --host_label=server-a >"$WORK/server-a.log" 2>&1 &
PID_A=$!
spawned "$PID_A"
APP_PIDS+=("$PID_A")
LOGS+=("$WORK/server-a.log")
"$BIN/hello-server" "${SERVER_FLAGS[@]}" --host_label=server-b >"$WORK/server-b.log" 2>&1 &
PID_B=$!
spawned "$PID_B"
APP_PIDS+=("$PID_B")
LOGS+=("$WORK/server-b.log")
for h in server-a server-b; do
	pid=$PID_A
	[ "$h" = server-a ] || pid=$PID_B
	rc=0
	wait_watch "create .*\(host $h\)" 40 "$pid" || rc=$?
	case $rc in
	1) die "the watching client exited" "see watch.log above" ;;
	2) die "the watch did not report $h's node within 40s" "see $h.log above: the server must register in ZooKeeper at $ADDRS" ;;
	3) die "$h exited" "see $h.log above" ;;
	esac
done
show_watch

step "calling the greeter service: the selector picks among both nodes"
both=""
for batch in 1 2 3; do
	if ! "$BIN/hello-client" "${REG[@]}" --min_nodes=2 --calls=10 --interval=50ms --wait=20s --name=demo \
		>"$WORK/calls.log" 2>&1; then
		LOGS+=("$WORK/calls.log")
		die "the client's calls failed" "see calls.log above"
	fi
	own_lines <"$WORK/calls.log" | indent client
	if grep -q 'answered by .*(host server-a)' "$WORK/calls.log" && grep -q 'answered by .*(host server-b)' "$WORK/calls.log"; then
		both=yes
		break
	fi
	info "the random selector picked one node only: calling again"
done
[ -n "$both" ] || die "three batches of calls never reached both servers" "see calls.log above"

step "zkmicro get greeter: the two nodes, as go-micro clients see them"
"$BIN/zkmicro" --registry_address "$ADDRS" get greeter >"$WORK/zkmicro-get.log" 2>&1 || {
	LOGS+=("$WORK/zkmicro-get.log")
	die "zkmicro get greeter failed" "see zkmicro-get.log above: it must reach ZooKeeper at $ADDRS"
}
indent zkmicro <"$WORK/zkmicro-get.log"

step "a go-micro v5 server joins the v4 fleet: the v4 client calls all three"
"$BIN/hello-server-v5" "${SERVER_FLAGS[@]}" --host_label=server-v5 >"$WORK/server-v5.log" 2>&1 &
PID_V5=$!
spawned "$PID_V5"
APP_PIDS+=("$PID_V5")
LOGS+=("$WORK/server-v5.log")
rc=0
wait_watch 'create .*\(host server-v5\)' 40 "$PID_V5" || rc=$?
case $rc in
1) die "the watching client exited" "see watch.log above" ;;
2) die "the watch did not report server-v5's node within 40s" "see server-v5.log above: it must register in ZooKeeper at $ADDRS" ;;
3) die "server-v5 exited" "see server-v5.log above" ;;
esac
show_watch
v5seen=""
for batch in 1 2 3; do
	"$BIN/hello-client" "${REG[@]}" --min_nodes=3 --calls=15 --interval=30ms --wait=20s --name=demo >"$WORK/calls.log" 2>&1 || {
		LOGS+=("$WORK/calls.log")
		die "the client's calls failed" "see calls.log above"
	}
	if grep -q 'answered by .*(host server-v5)' "$WORK/calls.log"; then
		v5seen=yes
		break
	fi
done
own_lines <"$WORK/calls.log" | grep -m3 'host server-v5' | indent client || true
[ -n "$v5seen" ] || die "three batches of calls never reached the v5 server" "see calls.log and server-v5.log above"

step "one zkmicro config set changes the greeting of all three servers, v4 and v5 alike (zkconfig)"
"$BIN/hello-client" "${REG[@]}" --watch --call_every=10ms --wait=20s --name=demo >"$WORK/greeting.log" 2>&1 &
GREET_PID=$!
spawned "$GREET_PID"
APP_PIDS+=("$GREET_PID")
LOGS+=("$WORK/greeting.log")
deadline=$((SECONDS + 30))
until grep -q '"Hello demo, from' "$WORK/greeting.log"; do
	kill -0 "$GREET_PID" 2>/dev/null || die "the calling client exited" "see greeting.log above"
	[ "$SECONDS" -lt "$deadline" ] || die "no reply saying Hello within 30s" "see greeting.log above"
	sleep 0.05
done
info "replies say: $(grep -m1 -o '"Hello demo, from [^"]*"' "$WORK/greeting.log")"
info "zkmicro config --prefix /micro-config/greeter set greeting Hej"
from=$(wc -l <"$WORK/greeting.log")
written=$(date +%s%N)
"$BIN/zkmicro" --registry_address "$ADDRS" config --prefix /micro-config/greeter set greeting Hej >"$WORK/zkmicro-set.log" 2>&1 || {
	LOGS+=("$WORK/zkmicro-set.log")
	die "zkmicro config set failed" "see zkmicro-set.log above: it must reach ZooKeeper at $ADDRS"
}
until grep -q '"Hej demo, from' "$WORK/greeting.log"; do
	[ "$(($(date +%s%N) - written))" -lt 10000000000 ] ||
		die "no reply saying Hej within 10s of the write" "see greeting.log and the servers' logs above: they watch /micro-config/greeter in ZooKeeper at $ADDRS"
	sleep 0.01
done
line=$(grep -m1 '"Hej demo, from' "$WORK/greeting.log")
answered=$(date -d "$(date +%F) ${line%% *}" +%s%N) # the client stamps its lines 15:04:05.000
info "first reply saying Hej: $(((answered - written) / 1000000)) ms after the write began (zkmicro's start included; a call every 10 ms)"
for h in server-a server-b server-v5; do
	wait_greeting Hej "$h" "$from" ||
		die "$h did not say Hej within 10s of the write" "see greeting.log and $h.log above: it watches /micro-config/greeter in ZooKeeper at $ADDRS"
	info "$h now says Hej, without a restart"
done
info "zkmicro config --prefix /micro-config/greeter delete greeting"
from=$(wc -l <"$WORK/greeting.log")
"$BIN/zkmicro" --registry_address "$ADDRS" config --prefix /micro-config/greeter delete greeting >"$WORK/zkmicro-delete.log" 2>&1 || {
	LOGS+=("$WORK/zkmicro-delete.log")
	die "zkmicro config delete failed" "see zkmicro-delete.log above: it must reach ZooKeeper at $ADDRS"
}
for h in server-a server-b server-v5; do
	wait_greeting Hello "$h" "$from" ||
		die "$h did not say Hello again within 10s of the delete" "see greeting.log and $h.log above"
done
info "all three say Hello again"
stop_pids TERM 5 "$GREET_PID"

step "stopping server-v5 with SIGTERM: the v4 fleet sees its node go"
stop_ns=$(date +%s%N)
kill -TERM "$PID_V5"
wait_watch 'delete .*\(host server-v5\)' 10 ||
	die "the watch did not report server-v5's delete after SIGTERM" "see server-v5.log above"
show_watch
info "server-v5 stopped; its delete reported $(since "$stop_ns") after SIGTERM"

step "killing server-a with SIGKILL: no deregistration; its node lives until its session expires"
kill -KILL "$PID_A"
kill_ns=$(date +%s%N)
info "server-a (pid $PID_A) killed at $(date +%T.%3N)"
timeout_ms=$(millis "$SESSION_TIMEOUT")
limit=$((timeout_ms / 1000 + 10))
wait_watch 'delete .*\(host server-a\)' "$limit" ||
	die "the watch did not report server-a's delete within ${limit}s" \
		"its ephemeral node should go when its $SESSION_TIMEOUT session expires; see watch.log and the ZooKeeper logs above"
took_ms=$((($(date +%s%N) - kill_ns) / 1000000))
show_watch
if [ "$took_ms" -le "$timeout_ms" ]; then
	info "delete reported $(since "$kill_ns") after the kill: within the $SESSION_TIMEOUT session timeout"
else
	info "delete reported $(since "$kill_ns") after the kill: the $SESSION_TIMEOUT session timeout, plus ZooKeeper's expiry tick and this machine's load"
fi
info "(a session expires $SESSION_TIMEOUT after the server last heard from it; clients ping every third of that)"

step "calling again: only server-b answers"
"$BIN/hello-client" "${REG[@]}" --calls=3 --interval=50ms --wait=10s --name=demo >"$WORK/calls.log" 2>&1 || {
	LOGS+=("$WORK/calls.log")
	die "calls to the surviving server-b failed" "see calls.log above"
}
own_lines <"$WORK/calls.log" | indent client
if grep -q 'answered by .*(host server-a)' "$WORK/calls.log"; then
	die "a call still reached the killed server-a" "see the output above"
fi

step "soft load balancing: three workers publish their load; one is slowed down five times"
BAL_PIDS=()
for h in a b c; do
	"$BIN/balance-server" "${REG[@]}" --server_address=127.0.0.1:0 --broker_address=127.0.0.1:0 \
		--host_label="$h" --server_id="$h" >"$WORK/worker-$h.log" 2>&1 &
	BAL_PIDS+=($!)
	spawned $!
	APP_PIDS+=($!)
	LOGS+=("$WORK/worker-$h.log")
done
info "workers a, b and c (nodes worker-a, worker-b, worker-c): a request takes 10 ms on one of 2 slots"
"$BIN/balance-client" "${REG[@]}" --strategy=zkbalance --min_nodes=3 >"$WORK/balance.log" 2>&1 &
BAL_CLIENT=$!
spawned "$BAL_CLIENT"
APP_PIDS+=("$BAL_CLIENT")
LOGS+=("$WORK/balance.log")
BAL_SHOWN=0
# show_balance: prints the balance client's lines not printed yet.
show_balance() {
	local total
	total=$(wc -l <"$WORK/balance.log")
	if [ "$total" -gt "$BAL_SHOWN" ]; then
		sed -n "$((BAL_SHOWN + 1)),${total}p" "$WORK/balance.log" | own_lines | indent balance
		BAL_SHOWN=$total
	fi
}
# reports: how many report lines the balance client printed.
reports() { grep -c 'calls/s' "$WORK/balance.log" || true; }
# balance_lines N: waits until the balance client printed N more report
# lines, then shows them.
balance_lines() {
	local want deadline
	want=$(($(reports) + $1))
	deadline=$((SECONDS + $1 * 5 + 30))
	until [ "$(reports)" -ge "$want" ]; do
		kill -0 "$BAL_CLIENT" 2>/dev/null || die "the balance client exited" "see balance.log above"
		[ "$SECONDS" -lt "$deadline" ] || die "the balance client printed no report for too long" "see balance.log above"
		sleep 0.1
	done
	show_balance
}
info "a client calls them from 6 goroutines (zkbalance.NewSelector), one line a second:"
balance_lines 3
info "kill -USR1 worker c: each of its requests now takes 50 ms"
kill -USR1 "${BAL_PIDS[2]}"
balance_lines 5
info "c publishes a higher load; the client sends it less (a blind client would keep sending it a third)"

step "zkmicro drain worker worker-a: traffic leaves it without a restart; undrain brings it back"
"$BIN/zkmicro" --registry_address "$ADDRS" drain worker worker-a 2>&1 | indent zkmicro ||
	die "zkmicro drain failed" "see the output above: it must reach ZooKeeper at $ADDRS"
balance_lines 3
"$BIN/zkmicro" --registry_address "$ADDRS" get worker 2>&1 | indent zkmicro || true
"$BIN/zkmicro" --registry_address "$ADDRS" undrain worker worker-a 2>&1 | indent zkmicro ||
	die "zkmicro undrain failed" "see the output above"
balance_lines 2
stop_pids INT 5 "$BAL_CLIENT"
show_balance
drain_ns=$(date +%s%N)
stop_pids TERM 15 "${BAL_PIDS[@]}"
info "workers stopped with SIGTERM in $(since "$drain_ns"): each published draining, let its requests end, then deregistered"

step "stopping server-b with SIGTERM (it deregisters at once), then all the demo started"
stop_ns=$(date +%s%N)
kill -TERM "$PID_B"
wait_watch 'delete .*\(host server-b\)' 10 ||
	die "the watch did not report server-b's delete after SIGTERM" "see server-b.log above: it should deregister on SIGTERM"
show_watch
info "delete reported $(since "$stop_ns") after SIGTERM"
kill -INT "$ZKMICRO_WATCH_PID" 2>/dev/null || true
stop_pids INT 5 "$ZKMICRO_WATCH_PID"
info "zkmicro watch greeter saw:"
indent zkmicro <"$WORK/zkmicro-watch.log"
stop_pids TERM 10 "${APP_PIDS[@]}"
APP_PIDS=()
show_watch
if [ "${#ZK_PIDS[@]}" -gt 0 ]; then
	stop_pids TERM 10 "${ZK_PIDS[@]}"
	ZK_PIDS=()
	info "ZooKeeper ensemble stopped"
fi
if [ "$MODE" = compose ]; then
	docker compose -p "$COMPOSE_PROJECT" -f docker-compose.yml down -v --remove-orphans 2>&1 | indent compose
	MODE=""
	info "docker compose ensemble removed"
fi
if [ "$MODE" = existing ]; then
	info "the ZooKeeper at $ADDRS keeps running: the demo did not start it"
fi
echo "$(stamp) demo complete: discovery, calls to both servers, zkmicro, a v5 server in the fleet, a greeting pushed through ZooKeeper to v4 and v5 alike, the crash seen through the watch, traffic balanced by load and drained, clean stop"
