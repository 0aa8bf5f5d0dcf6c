"""The image's build and start, run outside Docker: CI has no container engine.

deploy/Dockerfile is a sequence of `deploy/build.sh` steps; this runs the same steps the same
way — the runtime requirements exported from uv.lock with hashes, the wheel with the web app
inside, a fresh virtualenv installed with --require-hashes, the wheel on top — then starts the
Dockerfile's own command from that virtualenv as a non-root user (when the tests run as root),
with the embedded PostgreSQL in a fresh data directory, probes it with the Dockerfile's own
HEALTHCHECK, and stops it with SIGTERM as `docker stop` would. The web app is the one `make web`
built (make test runs it first); `build.sh web` itself runs only in the image.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.harness import free_port

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "deploy" / "build.sh"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
STATIC_INDEX = ROOT / "src" / "glassgate" / "static" / "index.html"
# The image's interpreter first; then Debian's, which (unlike one under /root) a non-root user can run.
PYTHONS = ("/usr/local/bin/python3.11", "/usr/bin/python3.11")
DEV_ONLY = {"pytest", "mypy", "ruff", "openai", "anthropic", "boto3", "playwright", "schemathesis"}


def runtime_stage() -> list[str]:
    """The Dockerfile's last stage, one instruction per item (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    starts = [index for index, line in enumerate(lines) if line.upper().startswith("FROM ")]
    return lines[starts[-1] :]


def exec_form(stage: list[str], instruction: str) -> list[str]:
    """The JSON array of an exec-form instruction (CMD, ENTRYPOINT, HEALTHCHECK ... CMD)."""
    [line] = [line for line in stage if line.upper().startswith(instruction + " ")]
    form: list[str] = json.loads(line[line.index("[") :])
    return form


def runtime_env(stage: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in stage:
        if line.upper().startswith("ENV "):
            env.update(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", line[4:]))
    return env


def usable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can run `path`: every folder above it is traversable."""
    real = path.resolve()
    return bool(real.stat().st_mode & stat.S_IXOTH) and all(
        parent.stat().st_mode & stat.S_IXOTH for parent in real.parents
    )


def build(step: str, *args: Path | str) -> None:
    done = subprocess.run([str(BUILD), step, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"build.sh {step} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def image_dir() -> Iterator[Path]:
    # Not tmp_path: pytest's folders are private to their owner, and the server runs as another user.
    path = Path(tempfile.mkdtemp(prefix="glassgate-image-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_image_steps_build_a_venv_that_serves_the_app_and_stops_on_sigterm(image_dir: Path) -> None:
    if not STATIC_INDEX.is_file():
        pytest.fail("the web app is not built: run `make web` (make test does)")
    python = next((Path(candidate) for candidate in PYTHONS if Path(candidate).is_file()), None)
    if python is None:
        pytest.fail(f"no Python 3.11 at {' or '.join(PYTHONS)} to build the runtime virtualenv on")
    drop_root = os.geteuid() == 0 and usable_by_others(python)

    requirements, dist, venv = image_dir / "requirements.txt", image_dir / "dist", image_dir / "venv"
    build("requirements", requirements)
    pinned = re.findall(r"^([a-z0-9][a-z0-9._-]*)==\S+ \\$", requirements.read_text(), flags=re.MULTILINE)
    assert "fastapi" in pinned and "pgserver" in pinned and "azure-identity" in pinned
    assert not DEV_ONLY & set(pinned), "the image carries no dev tools or test SDKs"
    build("wheel", dist)
    [wheel] = dist.glob("glassgate-*.whl")
    assert "glassgate/static/index.html" in zipfile.ZipFile(wheel).namelist()
    build("venv", venv, requirements, python)
    build("install-wheel", venv, wheel)
    build("runtime-check", venv)
    spec = image_dir / "openapi.json"
    build("openapi", venv, spec)
    assert "/api/v1/spans" in json.loads(spec.read_text())["paths"]

    stage = runtime_stage()
    data, runtime = image_dir / "data", image_dir / "run"
    data.mkdir()
    runtime.mkdir()
    user: list[str] = []
    if drop_root:
        nobody = pwd.getpwnam("nobody")
        for folder in (data, runtime):
            os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        user = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    port = free_port()
    image_env = runtime_env(stage)
    env = {
        **image_env,
        "PATH": f"{venv}/bin:/usr/bin:/bin",
        "HOME": str(data),
        "LANG": "C.UTF-8",
        "XDG_RUNTIME_DIR": str(runtime),
        "GLASSGATE_HOST": "127.0.0.1",  # the image listens on 0.0.0.0; tests stay on loopback
        "GLASSGATE_PORT": str(port),
        "GLASSGATE_DATA_DIR": str(data),
    }
    assert image_env["GLASSGATE_HOST"] == "0.0.0.0" and "XDG_RUNTIME_DIR" in image_env
    entrypoint, command = exec_form(stage, "ENTRYPOINT"), exec_form(stage, "CMD")
    assert entrypoint[:2] == ["/usr/bin/tini", "--"], "tini is PID 1 in the image"
    argv = [*user, str(venv / "bin" / entrypoint[2]), *entrypoint[3:], *command]
    log_path = image_dir / "glassgate.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(argv, cwd=data, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"glassgate exited with {server.returncode}:\n{log_path.read_text()}"
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"glassgate never became ready:\n{log_path.read_text()}"
            time.sleep(0.2)

        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        probe = exec_form(stage, "HEALTHCHECK")
        healthy = subprocess.run([*user, str(venv / "bin" / probe[0]), *probe[1:]], env=env, timeout=10)
        assert healthy.returncode == 0, "the Dockerfile's HEALTHCHECK command fails against a running server"

        installed_index = next(venv.glob("lib/python3.11/site-packages/glassgate/static/index.html"))
        page = httpx.get(f"{base}/ui/traces")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.text == installed_index.read_text(), "/ui serves the web app from the installed wheel"
        [script] = re.findall(r'src="(/assets/[^"]+\.js)"', page.text)
        assert httpx.get(f"{base}{script}").status_code == 200

        if drop_root:
            processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
            # info[] rather than methods: another test's zombie (or a process gone meanwhile) must not raise.
            postgres = [
                p for p in psutil.process_iter(["cmdline", "uids"]) if str(data) in " ".join(p.info["cmdline"] or [])
            ]
            assert postgres, "the embedded PostgreSQL runs under the data directory"
            uids = {p.uids().real for p in processes} | {p.info["uids"].real for p in postgres}
            assert uids == {nobody.pw_uid}, "nothing runs as root"
        assert (data / "postgres" / "PG_VERSION").is_file()
        assert oct((data / "admin_token").stat().st_mode & 0o777) == oct(0o600)

        server.send_signal(signal.SIGTERM)
        assert server.wait(45) == 0, f"SIGTERM must drain and exit 0:\n{log_path.read_text()}"
        deadline = time.monotonic() + 10
        while any(str(data) in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])):
            assert time.monotonic() < deadline, "the embedded PostgreSQL outlived glassgate"
            time.sleep(0.1)
        log_text = log_path.read_text()
        assert "Traceback" not in log_text and " ERROR " not in log_text, log_text
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
