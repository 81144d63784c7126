#!/usr/bin/env bash
# `make test`: every test, in two pytest processes side by side so the 2-core CI machine is
# busy while the browser tests wait on the app:
#   - browser and deploy tests (`-m "e2e or deploy"`), which start real apps, in the foreground;
#   - every other test (unit, service, HTTP, and the launcher's crash test, which builds no
#     frontend), logged to .test-logs/fast.log and printed after.
# Each process makes its own PostgreSQL database; they get different Redis databases.
# Arguments are passed to both (e.g. `make test ARGS="-x"`).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
mkdir -p .test-logs
start=$(date +%s)

# Apps a test starts get Redis databases of their own, flushed when they start: the two
# processes must never share one (an app's relay and worker would take the other's events
# and jobs, and its start would wipe the other's state). The browser group's live app uses
# db 10 (tests/fixtures/live.py); the feed-isolation test's, in this group, db 6.
TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/9} \
  TEST_E2E_REDIS_URL=${TEST_FAST_E2E_REDIS_URL:-redis://127.0.0.1:6379/6} \
  "$PY" -m pytest -p no:cacheprovider -m "not e2e and not deploy" "$@" \
  >.test-logs/fast.log 2>&1 &
fast=$!

TEST_REDIS_URL=${TEST_BROWSER_REDIS_URL:-redis://127.0.0.1:6379/8} \
  "$PY" -m pytest -p no:cacheprovider -m "e2e or deploy" "$@"
browser=$?

wait "$fast"
rest=$?
echo
echo "=================== unit, service and HTTP tests (.test-logs/fast.log) ==================="
cat .test-logs/fast.log
echo
echo "make test: browser and deploy tests exit $browser, the others exit $rest," \
  "$(($(date +%s) - start)) s in all"
exit $((browser != 0 || rest != 0))
