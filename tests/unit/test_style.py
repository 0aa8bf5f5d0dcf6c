"""House rules checked on the source tree itself (reads files only; no network, database or subprocess)."""

from __future__ import annotations

from pathlib import Path

import glassgate

MAX_MODULE_LINES = 800
PACKAGE = Path(glassgate.__file__).resolve().parent


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_package_is_found() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in modules()}
    assert PACKAGE.parts[-2:] == ("src", "glassgate")
    assert {"config.py", "proxy/routes.py", "tracing/writer.py"} <= names


def test_no_module_is_over_800_lines() -> None:
    too_long = {
        path.relative_to(PACKAGE).as_posix(): count
        for path in modules()
        if (count := line_count(path)) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"split these modules (limit {MAX_MODULE_LINES} lines): {too_long}"


def test_line_count_counts_lines(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("a = 1\n" * (MAX_MODULE_LINES + 1), encoding="utf-8")
    assert line_count(path) == MAX_MODULE_LINES + 1
