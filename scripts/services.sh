#!/usr/bin/env bash
# Make sure the machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer;
# start (or install and start) them when they do not. Used by `make test` and .ci/run.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! command -v pg_ctlcluster >/dev/null || ! command -v redis-server >/dev/null; then
  as_root apt-get update -q
  as_root apt-get install -y -q postgresql redis-server
fi

if ! pg_up; then
  echo "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! redis_up; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
fi
pg_up || { echo "PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
redis_up || { echo "Redis is not answering on 127.0.0.1:6379" >&2; exit 1; }
# Tests connect as `postgres` over TCP with trust auth (the machine's default).
psql -h 127.0.0.1 -U postgres -d postgres -qAtc "select 1" >/dev/null || {
  echo "cannot connect to PostgreSQL as postgres@127.0.0.1 (trust auth expected)" >&2; exit 1; }
