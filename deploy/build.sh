#!/usr/bin/env bash
# The image's build steps, one verb each. The Dockerfile runs them, and so does
# tests/e2e/test_container_build.py outside Docker (there is no container engine in CI), so
# what CI checks is what the image does.
#
#   build.sh requirements OUT           the runtime dependencies from uv.lock, pinned with hashes
#   build.sh venv VENV REQS [PYTHON]    a fresh virtualenv holding exactly REQS (--require-hashes)
#   build.sh openapi VENV OUT           the management API's OpenAPI spec (src/ on the path)
#   build.sh web                        npm ci, the API types, tsc and vite: src/glassgate/static/
#   build.sh wheel OUTDIR               the glassgate wheel, with the built web app inside
#   build.sh install-wheel VENV WHEEL   the wheel into VENV, no dependencies (REQS has them all)
#   build.sh runtime-check VENV         the installed CLI starts and the package holds the web app
#
# uv is $UV, else `uv` on PATH, else the Makefile's .tools/bin/uv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${UV:-}" ]; then
    UV="$(command -v uv || echo "$ROOT/.tools/bin/uv")"
fi

die() {
    echo "deploy/build.sh: $*" >&2
    exit 1
}

# Only what `glassgate serve` and `glassgate worker` need: no dev tools, no SDK groups.
requirements() {
    local out="$1"
    "$UV" export --project "$ROOT" --frozen --no-default-groups --no-emit-project \
        --format requirements-txt --no-header --quiet -o "$out"
    grep -q -- '--hash=sha256:' "$out" || die "$out has no hashes"
}

venv() {
    local venv="$1" reqs="$2" python="${3:-python3.11}"
    local compile=()
    # The image compiles bytecode once at build time: its root filesystem is read-only later.
    [ "${COMPILE_BYTECODE:-0}" = 1 ] && compile=(--compile-bytecode)
    "$UV" venv --quiet --python "$python" --no-project "$venv"
    "$UV" pip install --quiet --python "$venv/bin/python" --require-hashes "${compile[@]}" -r "$reqs"
}

openapi() {
    local venv="$1" out="$2"
    PYTHONPATH="$ROOT/src" "$venv/bin/python" "$ROOT/scripts/export_openapi.py" "$out"
}

web() {
    cd "$ROOT/web"
    [ -f src/api/openapi.json ] || die "web/src/api/openapi.json is missing: run 'build.sh openapi' first"
    npm ci --no-audit --no-fund --loglevel=error
    npm run --silent gen:api
    npm run --silent build
}

wheel() {
    local outdir="$1"
    [ -f "$ROOT/src/glassgate/static/index.html" ] || die "the web app is not built (src/glassgate/static/index.html)"
    mkdir -p "$outdir"
    "$UV" build --quiet --wheel --out-dir "$outdir" \
        --build-constraints "$ROOT/deploy/build-constraints.txt" --require-hashes "$ROOT"
    local built
    built="$(ls "$outdir"/glassgate-*.whl)"
    python3 - "$built" <<'EOF'
import sys
import zipfile

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
assert "glassgate/static/index.html" in names, f"{sys.argv[1]} lacks the web app"
assert any(name.startswith("glassgate/static/assets/") for name in names), f"{sys.argv[1]} lacks the web app's assets"
EOF
}

install_wheel() {
    local venv="$1" wheel="$2"
    local compile=()
    [ "${COMPILE_BYTECODE:-0}" = 1 ] && compile=(--compile-bytecode)
    "$UV" pip install --quiet --python "$venv/bin/python" --no-deps "${compile[@]}" "$wheel"
}

runtime_check() {
    local venv
    venv="$(cd "$1" && pwd)"
    "$venv/bin/glassgate" --help >/dev/null
    # Run from / so the installed package is imported, never a source tree in the working directory.
    (cd / && "$venv/bin/python" -c '
import glassgate.webapp as webapp
index = webapp.STATIC_DIR / "index.html"
assert index.is_file(), f"{index} is missing: the wheel was built without the web app"
assert "site-packages" in str(index), f"glassgate is imported from {index.parent}, not from the installed wheel"
')
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
    requirements) [ $# -eq 1 ] || die "usage: build.sh requirements OUT"; requirements "$@" ;;
    venv) [ $# -ge 2 ] || die "usage: build.sh venv VENV REQS [PYTHON]"; venv "$@" ;;
    openapi) [ $# -eq 2 ] || die "usage: build.sh openapi VENV OUT"; openapi "$@" ;;
    web) [ $# -eq 0 ] || die "usage: build.sh web"; web ;;
    wheel) [ $# -eq 1 ] || die "usage: build.sh wheel OUTDIR"; wheel "$@" ;;
    install-wheel) [ $# -eq 2 ] || die "usage: build.sh install-wheel VENV WHEEL"; install_wheel "$@" ;;
    runtime-check) [ $# -eq 1 ] || die "usage: build.sh runtime-check VENV"; runtime_check "$@" ;;
    *) die "unknown step '${command}' (requirements, venv, openapi, web, wheel, install-wheel, runtime-check)" ;;
esac
