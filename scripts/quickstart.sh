#!/usr/bin/env bash
# The README's first command: installs and builds gitbus, then runs its main job on the embedded default bus
# (a bare repo inside the bus home): init, dispatch, claim, respond, show the response.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/isomorphic-git ] || npm ci --no-audit --no-fund
# The test suite runs this script while other tests use the built CLI, so it must not rebuild under them.
[ -n "${GITBUS_SKIP_BUILD:-}" ] || npm run --silent build

# A scratch home, so the quick start never touches a real ~/.gitbus; set GITBUS_HOME to keep one.
if [ -z "${GITBUS_HOME:-}" ]; then
  export GITBUS_HOME="$PWD/.quickstart/home"
  rm -rf "$GITBUS_HOME"
fi
gitbus() { node "$PWD/bin/gitbus.js" "$@"; }
say() { printf '\n$ gitbus %s\n' "$*"; }

say init --node laptop;                       gitbus init --node laptop
say dispatch "Say hello from the worker" --command "echo hello";
id=$(gitbus dispatch "Say hello from the worker" --command "echo hello" --no-git); echo "$id"
say status;                                   gitbus status
say claim "$id";                              gitbus claim "$id"
say respond "$id" --status succeeded --summary "It worked" --body-file - '<<< "hello"'
echo "hello" | gitbus respond "$id" --status succeeded --summary "It worked" --body-file -
say show "$id";                               gitbus show "$id"
printf '\nThe bus lives in %s (remote.git is the shared repo). Next: docs in README.md.\n' "$GITBUS_HOME"
