#!/usr/bin/env bash
# The README's first command: installs and builds gitbus, then runs its main job on the embedded default bus (a
# bare repo inside the bus home): a second node joins, its watcher runs in the background, a task dispatched on
# the first node is run by the second, and the response is read back. Every wait is bounded, and the watcher is
# stopped when the script ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/isomorphic-git ] || npm ci --no-audit --no-fund
# The test suite runs this script while other tests use the built CLI, so it must not rebuild under them.
[ -n "${GITBUS_SKIP_BUILD:-}" ] || npm run --silent build

# A scratch home, so the quick start never touches a real ~/.gitbus; set GITBUS_HOME to keep one.
if [ -z "${GITBUS_HOME:-}" ]; then
  export GITBUS_HOME="$PWD/.quickstart/home"
  rm -rf "$PWD/.quickstart"
fi
WORKER_HOME="${GITBUS_HOME%/}-worker"
WATCH_LOG="$WORKER_HOME/watcher.log"
GB="$PWD/bin/gitbus.js"
gitbus() { node "$GB" "$@"; }
say() { printf '\n$ gitbus %s\n' "$*"; }

# bounded SECONDS CMD...: runs CMD and stops it if it takes longer (macOS has no timeout(1)).
child=''
bounded() {
  local limit=$1 ticks=0 rc
  shift
  "$@" &
  child=$!
  while kill -0 "$child" 2>/dev/null; do
    if [ "$ticks" -ge $((limit * 10)) ]; then
      echo "quickstart: \"${*:2:2}\" did not finish within ${limit}s" >&2
      return 124
    fi
    sleep 0.1
    ticks=$((ticks + 1))
  done
  rc=0
  wait "$child" || rc=$?
  child=''
  return "$rc"
}

watcher=''
stop_watcher() {
  [ -n "$watcher" ] || return 0
  kill -TERM "$watcher" 2>/dev/null || true
  # The watcher stops at once when it runs nothing, within its --grace when it does; kill it if it has not after 20 s.
  local ticks=0
  while kill -0 "$watcher" 2>/dev/null && [ "$ticks" -lt 200 ]; do sleep 0.1; ticks=$((ticks + 1)); done
  kill -KILL "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  watcher=''
}
cleanup() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  stop_watcher
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say init --node laptop
gitbus init --node laptop
say join "$GITBUS_HOME/remote.git" --node worker --runner shell --home "$WORKER_HOME"
gitbus join "$GITBUS_HOME/remote.git" --node worker --runner shell --home "$WORKER_HOME"

printf '\n$ gitbus watch --home %s --grace 5s > %s &    # the worker'"'"'s watcher, in the background\n' "$WORKER_HOME" "$WATCH_LOG"
node "$GB" watch --home "$WORKER_HOME" --grace 5s >"$WATCH_LOG" 2>&1 &
watcher=$!
ticks=0
until grep -q '^watching as' "$WATCH_LOG" 2>/dev/null; do
  if ! kill -0 "$watcher" 2>/dev/null || [ "$ticks" -ge 300 ]; then
    echo "quickstart: the worker's watcher did not start; its output:" >&2
    cat "$WATCH_LOG" >&2 || true
    exit 1
  fi
  sleep 0.1
  ticks=$((ticks + 1))
done
grep -m 1 '^watching as' "$WATCH_LOG"

printf '\n$ gitbus dispatch "Say hello from the worker" --to worker --id hello --command '"'"'echo "hello from the worker, task $GITBUS_TASK_ID"'"'"' --no-git --wait\n'
# shellcheck disable=SC2016 # $GITBUS_TASK_ID is for the worker's shell to expand
bounded 60 node "$GB" dispatch "Say hello from the worker" --to worker --id hello --command 'echo "hello from the worker, task $GITBUS_TASK_ID"' --no-git --wait
say show hello
gitbus show hello
say run worker -- uname -s
bounded 60 node "$GB" run worker -- uname -s
say status
gitbus status

stop_watcher
printf '\nThe worker'"'"'s watcher printed:\n'
sed 's/^/  /' "$WATCH_LOG"
printf '\nThe bus lives in %s (remote.git is the shared repo); the worker'"'"'s home is %s. Next: README.md.\n' "$GITBUS_HOME" "$WORKER_HOME"
