#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, then makes sure the services they use run.
# Idempotent: each step is skipped when its thing is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# A fresh checkout has no node_modules: install exactly what package-lock.json pins.
if [ ! -f node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
/usr/bin/python3 -c 'import requests_oauthlib' 2>/dev/null || need_apt+=(python3-requests-oauthlib)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "test-setup: please install: ${need_apt[*]} (apt-get install)" >&2
  fi
fi

# PostgreSQL and Redis: start them when they are installed but not running.
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if command -v redis-server >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
