#!/bin/bash
# Probe (issue 14, session 11): CPU time (user + sys) of node -e 0, the CLI from a startup snapshot and the CLI as
# it is (bin/gitbus.js with its code cache), side by side: each round runs every case once, the first case
# rotating. Usage: measure.sh BLOB RUNS OUTFILE (runs with NODE_EXTRA_CA_CERTS as set, and then without it).
set -u
BLOB=$1; RUNS=${2:-20}; OUT=${3:-/tmp/snap/cpu.tsv}
# EMPTY: a blob of an entry that does nothing (what any userland snapshot costs); SNAP2: the CLI's blob built with
# SNAP_PRELOAD= (the bundle's top level only, no command module initialised), or any other blob to compare
EMPTY=${EMPTY:-/tmp/snap/empty.blob}; SNAP2=${SNAP2:-/tmp/snap/gitbus-nopre.blob}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$EMPTY" ] || node --snapshot-blob "$EMPTY" --build-snapshot "$HERE/empty-entry.cjs"
[ -f "$SNAP2" ] || SNAP_PRELOAD= node "$HERE/build.mjs" "$SNAP2"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=/tmp/snap/m; rm -rf "$W"; mkdir -p "$W"
export XDG_CACHE_HOME=$W/cache
# status: a bus with five pending tasks; dispatch: a bus of its own (it grows by one task a run, for all cases alike)
for b in s d; do
  GITBUS_HOME=$W/h$b node "$ROOT/bin/gitbus.js" init --remote "$W/r$b.git" --node n1 --json >/dev/null
done
for i in 1 2 3 4 5; do GITBUS_HOME=$W/hs node "$ROOT/bin/gitbus.js" dispatch "task $i" --no-git >/dev/null; done
SNAP="node --snapshot-blob $BLOB --"
BIN="node $ROOT/bin/gitbus.js"
WRAP="$ROOT/bench/snapshot-probe/gitbus-snap.sh"
export GITBUS_SNAP_BLOB=$BLOB
declare -a NAMES=(node-e0 empty-blob snap-version snap2-status snap-status snap-dispatch wrap-status bin-version bin-status bin-dispatch)
cmd() {
  case $1 in
    node-e0) echo "node -e 0" ;;
    empty-blob) echo "node --snapshot-blob $EMPTY" ;;
    snap-version) echo "$SNAP --version" ;;
    snap2-status) echo "env GITBUS_HOME=$W/hs node --snapshot-blob $SNAP2 -- status" ;;
    snap-status) echo "env GITBUS_HOME=$W/hs $SNAP status" ;;
    snap-dispatch) echo "env GITBUS_HOME=$W/hd $SNAP dispatch x --no-git" ;;
    wrap-status) echo "env GITBUS_HOME=$W/hs $WRAP status" ;;
    bin-version) echo "$BIN --version" ;;
    bin-status) echo "env GITBUS_HOME=$W/hs $BIN status" ;;
    bin-dispatch) echo "env GITBUS_HOME=$W/hd $BIN dispatch x --no-git" ;;
  esac
}
: > "$OUT"
for certs in with without; do
  if [ $certs = without ]; then ENVP="env -u NODE_EXTRA_CA_CERTS"; else ENVP="env"; fi
  # warm: the code cache of each bin command is written by its first run
  for n in "${NAMES[@]}"; do for k in 1 2; do $ENVP $(cmd $n) >/dev/null 2>&1 || echo "warm $n failed" >&2; done; done
  for ((r = 0; r < RUNS; r++)); do
    k=${#NAMES[@]}
    for ((j = 0; j < k; j++)); do
      n=${NAMES[$(((j + r) % k))]}
      /usr/bin/time -f "$certs	$n	%U	%S	%R	%e" -a -o "$OUT" $ENVP $(cmd $n) >/dev/null 2>/tmp/snap/err || { echo "$n failed" >&2; cat /tmp/snap/err >&2; }
    done
  done
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"));
const med = (a) => { a = [...a].sort((x, y) => x - y); const m = a.length >> 1; return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2; };
for (const certs of ["with", "without"]) {
  const by = {};
  for (const [c, n, u, s, f, e] of rows) if (c === certs) (by[n] ??= []).push({ cpu: (+u + +s) * 1000, sys: +s * 1000, faults: +f, wall: +e * 1000 });
  const base = by["node-e0"].reduce((t, x) => t + x.cpu, 0) / by["node-e0"].length;
  console.log(`NODE_EXTRA_CA_CERTS ${certs}: case, runs, CPU mean ms (ratio to node -e 0), CPU median, sys mean, faults median, wall median`);
  for (const [n, xs] of Object.entries(by)) {
    const mean = xs.reduce((t, x) => t + x.cpu, 0) / xs.length;
    console.log([n, xs.length, `${mean.toFixed(1)} (${(mean / base).toFixed(2)}x)`, med(xs.map((x) => x.cpu)).toFixed(0), (xs.reduce((t, x) => t + x.sys, 0) / xs.length).toFixed(1), med(xs.map((x) => x.faults)), med(xs.map((x) => x.wall)).toFixed(0)].join("\t"));
  }
}' "$OUT"
