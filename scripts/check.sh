#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v git >/dev/null 2>&1 || need_apt+=(git)
# The tmux runner's tests drive a real tmux server.
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
# The clock-skew tests run nodes ten minutes fast and slow under libfaketime.
command -v faketime >/dev/null 2>&1 || need_apt+=(faketime)
# The icecc runner's tests start a real icecream scheduler and daemon (sbin: not always on a user's PATH) and
# build a small C project with make and gcc.
for bin in icecc iceccd icecc-scheduler; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || { need_apt+=(icecc); break; }
done
# The SSH remote tests start a real OpenSSH sshd on a loopback port and use ssh-keygen, ssh-agent and ssh-add;
# the signature tests check gitbus against ssh-keygen -Y sign/verify and sign through a real ssh-agent.
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh-agent >/dev/null 2>&1 || need_apt+=(openssh-client)
command -v pgrep >/dev/null 2>&1 || need_apt+=(procps)
# A served command's terminal is hung up on a pseudo-terminal made with Python's pty module.
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# The https remote's tests make a private CA's certificate.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
# The web view's tests drive Debian's chromium through playwright-core (no browser download).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "missing: ${need_apt[*]} (install them, or run as root on Debian/Ubuntu)" >&2; exit 1
  fi
fi
# Tests make commits with the git CLI; a fresh machine has no identity.
git config --global user.email >/dev/null 2>&1 || git config --global user.email "ci@gitbus.invalid"
git config --global user.name >/dev/null 2>&1 || git config --global user.name "gitbus ci"

npm ci --no-audit --no-fund
npm run build
# The tests are TypeScript too, strict like the rest (vitest only strips their types).
npx tsc -p tsconfig.test.json
report="$(mktemp)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
# A plain closing line that any CI reads, whatever the test runner's own format.
# A file that fails before its tests run (an import, a top-level throw) counts no failed test: it is named apart.
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed")).map((f) => f.name.replace(/^.*\/test\//, "test/")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped${broken.length ? `; ${broken.length} file(s) failed outside their tests: ${broken.join(", ")}` : ""}`);' "$report" || true
# GITBUS_TEST_REPORT=FILE keeps the JSON report (scripts/test-durations.mjs makes the sequencer's table from it).
if [ -n "${GITBUS_TEST_REPORT:-}" ]; then cp "$report" "$GITBUS_TEST_REPORT" || true; fi
rm -f "$report"
exit "$status"
