#!/bin/bash
# Probe (issue 14, session 11): main-thread instructions (callgrind Ir) of each case, once. Run measure.sh first (it
# makes the buses under /tmp/snap/m and warms the code cache). Usage: callgrind.sh BLOB OUTDIR [without]
# ("without": NODE_EXTRA_CA_CERTS unset). Prints "case Ir" lines (thread 1 is the main thread).
set -u
BLOB=$1; OUT=$2; CERTS=${3:-with}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=/tmp/snap/m; mkdir -p "$OUT"
export XDG_CACHE_HOME=$W/cache
if [ "$CERTS" = without ]; then ENVP="env -u NODE_EXTRA_CA_CERTS"; else ENVP="env"; fi
run() {
  name=$1; shift
  $ENVP "$@" >/dev/null 2>&1 # the code cache of this command under this environment
  # valgrind runs node itself (not env, whose exec it would not follow), GITBUS_HOME exported by the caller
  $ENVP valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$OUT/$name.%p.out" "$@" >/dev/null 2>"$OUT/$name.log"
  f=$(ls "$OUT/$name".*.out-01 | tail -1)
  echo "$name $(grep -E '^(summary|totals):' "$f" | head -1 | awk '{print $2}')"
}
run node-e0 node -e 0
run snap-version node --snapshot-blob "$BLOB" -- --version
run bin-version node "$ROOT/bin/gitbus.js" --version
export GITBUS_HOME=$W/hs
run snap-status node --snapshot-blob "$BLOB" -- status
run bin-status node "$ROOT/bin/gitbus.js" status
export GITBUS_HOME=$W/hd
run snap-dispatch node --snapshot-blob "$BLOB" -- dispatch x --no-git
run bin-dispatch node "$ROOT/bin/gitbus.js" dispatch x --no-git
