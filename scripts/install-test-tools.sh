#!/usr/bin/env bash
# Installs what the tests need from Debian, only what is missing, so `make test` works on a fresh
# machine: Node.js and npm (the web app's build), Chromium (the browser tests; playwright cannot
# download its own browsers here), nginx (replicas behind a load balancer), redis-server (the
# rate limit and fault tests start private ones) and redis-cli (redis-tools: it joins private ones
# into a Redis Cluster). PostgreSQL is the embedded `pgserver` from PyPI.
set -euo pipefail

missing=()
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "the tests need ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
