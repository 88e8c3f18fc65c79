#!/usr/bin/env bash
# LoRA Playground build script.
#
#   ./build.sh          build the static site into dist/ and the native CLI into bin/
#   ./build.sh serve    build, then serve dist/ on http://127.0.0.1:8080
#   ./build.sh test     vet, native tests, js/wasm tests under node, fuzz smoke, CLI smoke,
#                       the TensorFlow.js cross-check (bench/), browser end-to-end tests (headless Chromium)
#   ./build.sh test-browser   only the browser end-to-end tests
#   ./build.sh bench    training speed: native (go test -bench and lora bench), js/wasm under node,
#                       and ours against TensorFlow.js in node and headless Chromium (bench/)
#   ./build.sh bench workers   1 vs 2 training workers (data-parallel) in node and Chromium: tokens/s, ratio
#   ./build.sh bench tfjs      only ours against TensorFlow.js (bench/; BENCH_ROUNDS=5)
#   ./build.sh edge     build, then run the site and its API under wrangler dev on http://127.0.0.1:8787
#
# A fresh machine needs only Go for build and serve; test and bench also use
# node (for the js/wasm build) and install what else they need themselves.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
GOROOT_DIR=$(go env GOROOT)
WASM_EXEC_DIR="$GOROOT_DIR/lib/wasm"

log() { printf '\n==> %s\n' "$*"; }

need_node() {
	if ! command -v node >/dev/null 2>&1; then
		log "installing node (Debian package) for the js/wasm tests"
		apt-get update -qq && apt-get install -y -qq nodejs >/dev/null
	fi
}

build() {
	log "native CLI → bin/lora"
	mkdir -p bin
	go build -o bin/lora ./core/cmd/lora
	log "js/wasm build of every package"
	GOOS=js GOARCH=wasm go build ./...
	build_site
}

# build_site assembles the static site in dist/: everything a static host
# needs, nothing it does not. Models and datasets that do not exist yet (a
# pretraining run still going) are skipped with a note, not an error.
build_site() {
	log "static site → dist/"
	local dist="$ROOT/dist"
	rm -rf "$dist"
	mkdir -p "$dist/assets" "$dist/models" "$dist/datasets"
	# vugugen must run natively (with GOOS=js it would be built for wasm).
	GOOS= GOARCH= go generate ./ui/app/
	local wasmflags=(-trimpath -ldflags="-s -w")
	GOOS=js GOARCH=wasm go build "${wasmflags[@]}" -o "$dist/ui.wasm" ./ui/cmd/ui
	if [ -d wasm/trainer ] && ls wasm/trainer/*.go >/dev/null 2>&1; then
		# trainer.wasm calls the SIMD128 kernels of kernels.wasm; browsers without
		# SIMD get the pure-Go trainer-nosimd.wasm (assets/js/worker.js picks one).
		GOOS=js GOARCH=wasm go build "${wasmflags[@]}" -tags simd -o "$dist/trainer.wasm" ./wasm/trainer
		GOOS=js GOARCH=wasm go build "${wasmflags[@]}" -o "$dist/trainer-nosimd.wasm" ./wasm/trainer
		cp core/kernels/simd/kernels.wasm "$dist/kernels.wasm"
	else
		echo "note: wasm/trainer not present yet; the page will load without a trainer"
	fi
	# wasm_exec.js must come from the toolchain that built the .wasm files.
	cp "$WASM_EXEC_DIR/wasm_exec.js" "$dist/wasm_exec.js"
	cp index.html "$dist/"
	for d in css js; do
		[ -d "assets/$d" ] && cp -R "assets/$d" "$dist/assets/"
	done
	local models=() tasks=()
	for m in models-tiny/*/; do
		m=$(basename "$m")
		if [ -f "models-tiny/$m/config.json" ] && [ -f "models-tiny/$m/model.safetensors" ]; then
			mkdir -p "$dist/models/$m"
			cp "models-tiny/$m/config.json" "models-tiny/$m/model.safetensors" "$dist/models/$m/"
			models+=("$m")
		fi
	done
	[ ${#models[@]} -gt 0 ] || echo "note: no pretrained model in models-tiny/ yet"
	for t in assets/datasets/*/; do
		t=$(basename "$t")
		if [ -f "assets/datasets/$t/task.json" ] && [ -f "assets/datasets/$t/train.jsonl" ] && [ -f "assets/datasets/$t/val.jsonl" ]; then
			mkdir -p "$dist/datasets/$t"
			cp "assets/datasets/$t/task.json" "assets/datasets/$t/train.jsonl" "assets/datasets/$t/val.jsonl" "$dist/datasets/$t/"
			tasks+=("$t")
		fi
	done
	local results=false
	if [ -f models-tiny/results.json ]; then
		cp models-tiny/results.json "$dist/results.json"
		results=true
	fi
	# manifest.json tells the page what this build ships (a static host cannot list folders).
	json_list() { local out="" x; for x in "$@"; do out="$out${out:+,}\"$x\""; done; printf '[%s]' "$out"; }
	printf '{"models":%s,"tasks":%s,"results":%s}\n' "$(json_list ${models[@]+"${models[@]}"})" "$(json_list ${tasks[@]+"${tasks[@]}"})" "$results" >"$dist/manifest.json"
	log "dist/: models [${models[*]-}] tasks [${tasks[*]-}]"
	wasm_sizes
}

# wasm_sizes prints raw and gzip sizes; the page's budget is 3 MB of gzip
# for all wasm a client downloads: trainer-nosimd.wasm replaces
# trainer.wasm + kernels.wasm where SIMD is missing, so the larger of the
# two sets counts.
wasm_sizes() {
	local total=0 simd=0 nosimd=0 f raw gz
	for f in dist/*.wasm; do
		[ -f "$f" ] || continue
		raw=$(wc -c <"$f")
		gz=$(gzip -9 -c "$f" | wc -c)
		case "$(basename "$f")" in
		trainer.wasm | kernels.wasm) simd=$((simd + gz)) ;;
		trainer-nosimd.wasm) nosimd=$gz ;;
		*) total=$((total + gz)) ;;
		esac
		printf '  %-20s %8d bytes raw  %8d bytes gzip\n' "$(basename "$f")" "$raw" "$gz"
	done
	total=$((total + (simd > nosimd ? simd : nosimd)))
	printf '  wasm per client, gzip: %6d bytes (budget 3000000)\n' "$total"
	if [ "$total" -gt 3000000 ]; then
		echo "error: wasm over the 3 MB gzip budget" >&2
		return 1
	fi
}

wasm_test() {
	need_node
	PATH="$WASM_EXEC_DIR:$PATH" GOOS=js GOARCH=wasm go test "$@"
}

# simd_test runs js/wasm tests built with -tags simd under exec.mjs, which
# links kernels.wasm into the Go instance (go_js_wasm_exec cannot).
simd_test() {
	need_node
	GOOS=js GOARCH=wasm go test -tags simd -exec "node --stack-size=8192 $ROOT/core/kernels/simd/exec.mjs" "$@"
}

cmd_test() {
	log "go vet (native and js/wasm)"
	go vet ./...
	GOOS=js GOARCH=wasm go vet ./...
	log "native tests"
	go test -count=1 ./...
	log "js/wasm tests under node"
	wasm_test -count=1 ./core/... ./wasm/protocol/... ./wasm/trainer/... ./ui/...
	log "js/wasm tests with the SIMD128 kernels (-tags simd, core/kernels/simd/exec.mjs), as trainer.wasm ships"
	simd_test -count=1 ./core/... ./wasm/trainer/...
	log "fuzzing the safetensors parser for 10s"
	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 10s ./core/safetensors/
	log "fuzzing the PEFT adapter decoder for 10s"
	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 10s ./core/peft/
	log "pretraining recipe smoke run (a few steps of each size, then a resume)"
	smoke=$(mktemp -d)
	go run ./models-tiny/pretrain --size nano --steps 6 --checkpoint-every 3 --out "$smoke/nano" --quiet
	go run ./models-tiny/pretrain --size nano --steps 8 --out "$smoke/nano" --quiet
	go run ./models-tiny/pretrain --size tiny --steps 2 --out "$smoke/tiny" --quiet
	log "CLI smoke run on a shipped model"
	go build -o "$smoke/lora" ./core/cmd/lora
	"$smoke/lora" train --model models-tiny/nano --data assets/datasets/reverse --steps 5 --out "$smoke/adapter" --quiet
	"$smoke/lora" generate --model models-tiny/nano --adapter "$smoke/adapter" --merged --prompt "reverse: light =" --tokens 8
	rm -rf "$smoke"
	tfjs_crosscheck
	log "the training worker under node (real worker.js + trainer.wasm)"
	build_site
	node wasm/trainer/node_test.mjs dist/
	LORA_WORKER_QUERY='?simd=0' node wasm/trainer/node_test.mjs dist/ # the pure-Go fallback
	node --test wasm/trainer/lane_test.mjs # the shared-memory lanes between workers (assets/js/lane.js)
	node wasm/trainer/node_workers_test.mjs dist/ # data-parallel: 2 workers (nested workers) match 1
	browser_test --built
	wasm/edge/dev.sh test # wrangler dev: live API tests, no process left behind, upload size
	log "all tests passed"
}

# tfjs_crosscheck runs bench/crosscheck.test.mjs: TensorFlow.js (wasm backend,
# from bench/package-lock.json) repeats our LoRA steps on fixtures that
# `go run ./bench/fixture` writes, and must match our losses, gradient norms
# and adapters to float32 accuracy (see bench/README.md).
tfjs_crosscheck() {
	need_node
	log "cross-check against TensorFlow.js: npm ci in bench/, then the same LoRA steps in tfjs"
	npm_ci_bench
	node --test bench/crosscheck.test.mjs
}

# npm_ci_bench installs bench/package-lock.json, unless node_modules already
# holds exactly that lock (a fresh clone always installs).
npm_ci_bench() {
	if ! cmp -s bench/package-lock.json bench/node_modules/.lp-installed-lock; then
		(cd bench && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.lp-installed-lock)
	fi
}

need_chromium() {
	if [ ! -x /usr/bin/chromium ]; then
		log "installing chromium (Debian package) for the browser tests and benchmarks"
		apt-get update -qq
		apt-get install -y -qq chromium >/dev/null
	fi
}

# browser_test builds the site, serves it with cmd/serve on a free loopback
# port and runs tests/browser (node --test, playwright-core driving Debian's
# headless Chromium; never a downloaded browser). Screenshots and metrics go
# to test-artifacts/browser/. The server is stopped however the tests end.
# --built skips building dist/ (cmd_test has just built it).
browser_test() {
	need_node
	need_chromium
	log "browser tests: npm ci in tests/browser"
	(cd tests/browser && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi)
	[ "${1:-}" = --built ] || build_site
	local tmp url="" pid rc=0 i
	tmp=$(mktemp -d)
	go build -o "$tmp/serve" ./cmd/serve
	"$tmp/serve" -dir dist -addr 127.0.0.1:0 >"$tmp/serve.log" 2>&1 &
	pid=$!
	# Stop the server on every way out (failure under set -e, Ctrl-C).
	trap 'kill '"$pid"' 2>/dev/null; wait '"$pid"' 2>/dev/null; rm -rf '"$tmp"'' EXIT
	trap 'exit 130' INT TERM
	for i in $(seq 100); do
		url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$tmp/serve.log" || true)
		[ -n "$url" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$url" ]; then
		echo "error: cmd/serve did not start:" >&2
		cat "$tmp/serve.log" >&2
		return 1
	fi
	log "browser tests against $url (artifacts in test-artifacts/browser/)"
	rm -rf test-artifacts/browser
	(cd tests/browser && LP_URL="$url" LP_ARTIFACTS="$ROOT/test-artifacts/browser" node --test --test-concurrency=1 playground.test.mjs controls.test.mjs experiments.test.mjs analysis.test.mjs adaptive.test.mjs workers.test.mjs) || rc=$?
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	trap - EXIT INT TERM
	rm -rf "$tmp"
	return "$rc"
}

cmd_bench() {
	log "native: go test -bench (kernels and training step)"
	go test -run '^$' -bench . -benchtime 20x ./core/kernels/ ./core/train/ | tee /dev/stderr | grep -E '^(Benchmark|ok)' >/dev/null || true
	log "native: lora bench"
	go run ./core/cmd/lora bench
	log "js/wasm under node: lora bench"
	need_node
	mkdir -p bin
	GOOS=js GOARCH=wasm go build -o bin/lora.wasm ./core/cmd/lora
	"$WASM_EXEC_DIR/go_js_wasm_exec" bin/lora.wasm bench
	log "js/wasm under node: SIMD128 kernels vs pure Go (GFLOP/s per shape, best of alternating rounds)"
	LORA_KERNEL_SPEED=1 simd_test -count=1 -run '^TestSIMDSpeed$' -v ./core/kernels/ | grep -E 'GFLOP|^(ok|FAIL)'
	log "js/wasm under node: lora bench, SIMD128 build vs pure-Go build, alternating"
	GOOS=js GOARCH=wasm go build -tags simd -o bin/lora-simd.wasm ./core/cmd/lora
	# Each round runs both builds back to back; on a shared machine the best
	# round of each is the fairer figure, so it is printed last.
	local i go_tps simd_tps best_go=0 best_simd=0 exec=(node --stack-size=8192 core/kernels/simd/exec.mjs)
	for i in 1 2 3 4 5; do
		go_tps=$("${exec[@]}" bin/lora.wasm bench --json | sed -n 's/.*"tokens_per_sec": *\([0-9.]*\).*/\1/p')
		simd_tps=$("${exec[@]}" bin/lora-simd.wasm bench --json | sed -n 's/.*"tokens_per_sec": *\([0-9.]*\).*/\1/p')
		awk -v g="$go_tps" -v s="$simd_tps" -v i="$i" 'BEGIN { printf "  round %d: pure Go %6.0f tokens/s   SIMD %6.0f tokens/s   ×%.2f\n", i, g, s, s / g }'
		best_go=$(awk -v a="$best_go" -v b="$go_tps" 'BEGIN { print (b > a ? b : a) }')
		best_simd=$(awk -v a="$best_simd" -v b="$simd_tps" 'BEGIN { print (b > a ? b : a) }')
	done
	awk -v g="$best_go" -v s="$best_simd" 'BEGIN { printf "  best:    pure Go %6.0f tokens/s   SIMD %6.0f tokens/s   ×%.2f\n", g, s, s / g }'
	log "js/wasm under node: SIMD128 build, speed, memory and the profile of one step"
	"${exec[@]}" bin/lora-simd.wasm bench
	log "js/wasm under node: peak wasm memory, LoRA vs full fine-tuning (separate processes, SIMD128 build)"
	# Linear memory never shrinks, so its size after the run is the peak;
	# "added" is what building the model, data and trainer and training
	# added to the program's own (the lora binary's ~6 MiB baseline).
	local mem_lora mem_full
	mem_of() {
		"${exec[@]}" bin/lora-simd.wasm bench --method "$1" --steps 3 --warmup-steps 1 --profile-steps 0 --json |
			node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.memory.linear_bytes, r.memory.linear_bytes-r.memory_before.linear_bytes)})'
	}
	mem_lora=$(mem_of lora)
	mem_full=$(mem_of full)
	awk -v l="$mem_lora" -v f="$mem_full" 'BEGIN { split(l, a, " "); split(f, b, " ");
		printf "  peak linear memory:    LoRA %5.1f MiB   full %5.1f MiB   LoRA/full %3.0f%% (target ≤ 60%%)\n", a[1] / 1048576, b[1] / 1048576, 100 * a[1] / b[1];
		printf "  added by the training: LoRA %5.1f MiB   full %5.1f MiB   LoRA/full %3.0f%%\n", a[2] / 1048576, b[2] / 1048576, 100 * a[2] / b[2] }'
	# What a tab pays: the browser's training worker (worker.js + trainer.wasm
	# with its snapshots and evaluation), same shape on the shipped tiny model.
	log "training worker under node: peak wasm memory, LoRA vs full fine-tuning (tiny, verse, T=64, batch 8, 20 steps)"
	build_site
	local wk_lora wk_full
	wk_lora=$(node wasm/trainer/node_memory.mjs dist/ lora | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).peak_mib))')
	wk_full=$(node wasm/trainer/node_memory.mjs dist/ full | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).peak_mib))')
	awk -v l="$wk_lora" -v f="$wk_full" 'BEGIN { printf "  worker peak linear memory: LoRA %5.1f MiB   full %5.1f MiB   LoRA/full %3.0f%% (target ≤ 60%%)\n", l, f, 100 * l / f }'
	tfjs_bench
}

# cmd_bench_tfjs builds the two wasm builds of lora and runs only tfjs_bench.
cmd_bench_tfjs() {
	mkdir -p bin
	GOOS=js GOARCH=wasm go build -o bin/lora.wasm ./core/cmd/lora
	GOOS=js GOARCH=wasm go build -tags simd -o bin/lora-simd.wasm ./core/cmd/lora
	tfjs_bench
}

# tfjs_bench times our LoRA step against TensorFlow.js's (bench/run.mjs): ours
# native, ours and theirs in node and in headless Chromium, alternating for
# BENCH_ROUNDS rounds (default 5), and prints the ours/theirs table.
tfjs_bench() {
	log "ours vs TensorFlow.js 4.22 wasm (bench/): native, node, headless Chromium, alternating rounds"
	need_node
	need_chromium
	npm_ci_bench
	local tmp
	tmp=$(mktemp -d)
	go run ./bench/fixture --out "$tmp/fixture"
	go build -o bin/lora ./core/cmd/lora
	go build -o "$tmp/serve" ./cmd/serve
	node bench/run.mjs --fixture "$tmp/fixture" --lora bin/lora --wasm bin/lora.wasm --wasm-simd bin/lora-simd.wasm \
		--serve "$tmp/serve" --rounds "${BENCH_ROUNDS:-5}" || { rm -rf "$tmp"; return 1; }
	rm -rf "$tmp"
}

# cmd_bench_workers measures data-parallel training (wasm/trainer/shards.go):
# 1 worker against 2, alternating in one run, with the real worker under
# node (nested worker_threads: the reference LoRA configuration, nano on e2e
# and nano full fine-tuning) and in headless Chromium (nested Web Workers:
# the reference configuration and nano on e2e), each round with a control
# of two independent 1-worker runs at once (what the machine's second core
# gives right now) and the same 2 workers by postMessage and with the rows
# cut evenly instead of by measured speed (core/train/rowcut.go). ROUNDS
# and PLAY_MS tune it. tests/browser/page-workers-bench.mjs does 1 vs 2 on
# the real page, UI thread included.
cmd_bench_workers() {
	need_node
	# A site over the wasm size budget still benchmarks.
	build_site || log "note: build_site failed (see above); benchmarking what dist/ holds"
	log "js/wasm under node: 1 worker vs 2 workers (data-parallel), alternating"
	node wasm/trainer/node_workers_test.mjs dist/ --bench
	log "headless Chromium: 1 worker vs 2 workers (data-parallel), alternating"
	if [ ! -x /usr/bin/chromium ]; then
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null
	fi
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
	local tmp url="" pid rc=0 i
	tmp=$(mktemp -d)
	go build -o "$tmp/serve" ./cmd/serve
	"$tmp/serve" -dir dist -addr 127.0.0.1:0 >"$tmp/serve.log" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$tmp/serve.log" || true)
		[ -n "$url" ] && break
		sleep 0.1
	done
	LP_URL="$url" node wasm/trainer/chromium_workers_bench.mjs || rc=$?
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$tmp"
	return "$rc"
}

case "${1:-build}" in
build) build ;;
serve)
	build
	log "serving dist/ on http://127.0.0.1:${PORT:-8080}"
	exec go run ./cmd/serve -dir dist -addr "127.0.0.1:${PORT:-8080}"
	;;
test) cmd_test ;;
test-browser) browser_test ;;
bench)
	case "${2:-}" in
	workers) cmd_bench_workers ;;
	tfjs) cmd_bench_tfjs ;;
	*) cmd_bench ;;
	esac
	;;
edge) build && exec wasm/edge/dev.sh dev ;;
*)
	echo "usage: ./build.sh [build|serve|test|test-browser|bench [workers|tfjs]|edge]" >&2
	exit 2
	;;
esac
