#!/bin/sh
# Probe (issue 14, session 11): what bin/gitbus would be with a startup snapshot. A bin script cannot give node
# --snapshot-blob (a #!/usr/bin/env node line takes no flags portably, and node takes it from NODE_OPTIONS only
# for the process that NODE_OPTIONS reaches), so the bin is a shell script that execs node with it.
# GITBUS_SNAP_BLOB: the blob; GITBUS_SNAP_NODE: the node binary that built it (a blob loads only in that binary).
# Fallback to the current path (bin/gitbus.js) when: no blob; the node binary is newer than the blob (upgraded in
# place: the blob would fail with exit 14 "built with a different version of V8"); NODE_OPTIONS set (V8 flags in
# it change V8's flag hash: the same exit 14). All tests are shell builtins, no process.
here=${0%/*}
blob=${GITBUS_SNAP_BLOB:-$here/gitbus.blob}
node=${GITBUS_SNAP_NODE:-/usr/bin/node}
if [ -f "$blob" ] && [ -z "$NODE_OPTIONS" ] && [ ! "$node" -nt "$blob" ]; then
  # "--": node would otherwise take gitbus's --version, --help, -h, -v ... as its own options.
  exec "$node" --snapshot-blob "$blob" -- "$@"
fi
exec "$node" "$here/../../bin/gitbus.js" "$@"
