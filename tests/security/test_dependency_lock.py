"""Dependencies are locked with hashes, and installed from the lock.

Every artifact uv may install (an sdist or a wheel of a locked package) carries a sha256, so a
file swapped on the index fails the install; the web app's npm lock carries an integrity hash
for every package; and `make install` installs from the lock as it is (`--frozen`).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
_REQUIREMENT_NAME = re.compile(r"[\s<>=!~;\[]")
_INTEGRITY = re.compile(r"sha(256|384|512)-[A-Za-z0-9+/]+=*")


def locked_packages() -> list[dict[str, Any]]:
    packages: list[dict[str, Any]] = tomllib.loads((ROOT / "uv.lock").read_text())["package"]
    return packages


def test_every_locked_artifact_has_a_sha256() -> None:
    missing = []
    artifacts = 0
    for package in locked_packages():
        if "editable" in package["source"] or "virtual" in package["source"]:
            continue  # the project itself: built from this checkout, not downloaded
        assert "registry" in package["source"], f"{package['name']} comes from {package['source']}, not the index"
        files = [package["sdist"]] if "sdist" in package else []
        files += package.get("wheels", [])
        assert files, f"{package['name']} {package['version']} is locked without any file to install"
        for artifact in files:
            artifacts += 1
            if not _SHA256.fullmatch(artifact.get("hash", "")):
                missing.append(artifact["url"])
    assert missing == [], f"artifacts without a sha256: {missing}"
    assert artifacts > 500, "the lock was read"


def test_every_dependency_of_the_project_is_locked() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = list(project["project"]["dependencies"])
    for group in project["dependency-groups"].values():
        declared += [item for item in group if isinstance(item, str)]
    names = {_REQUIREMENT_NAME.split(requirement, maxsplit=1)[0].lower().replace("_", "-") for requirement in declared}
    locked = {package["name"] for package in locked_packages()}
    assert names - locked == set()


def test_the_web_apps_packages_have_integrity_hashes() -> None:
    packages = json.loads((ROOT / "web" / "package-lock.json").read_text())["packages"]
    downloaded = {name: entry for name, entry in packages.items() if name and not entry.get("link")}
    assert len(downloaded) > 50
    missing = [name for name, entry in downloaded.items() if not _INTEGRITY.fullmatch(entry.get("integrity", ""))]
    assert missing == []


def test_installs_use_the_lock_as_it_is() -> None:
    makefile = (ROOT / "Makefile").read_text()
    syncs = [line for line in makefile.splitlines() if " sync " in line and "$(UV)" in line]
    assert syncs and all("--frozen" in line for line in syncs), syncs
    assert "npm ci" in makefile and "npm install" not in makefile
