#!/usr/bin/env bash
# Installs the bench's external tools (nginx as the reference proxy, wrk as the load generator,
# and any Debian package named as an argument: `valgrind` for bench.instructions) from Debian,
# only when they are missing, so `make bench` works on a fresh machine.
set -euo pipefail

missing=()
for tool in nginx wrk "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "bench needs ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: nginx's recommends are not needed to run it from a temp config.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
