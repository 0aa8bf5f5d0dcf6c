"""Write the management API's OpenAPI spec to web/src/api/openapi.json (the web app's types come from it).

    python scripts/export_openapi.py [OUTPUT]

Builds the FastAPI app the way the server does (no database, no network) and writes its spec,
only when the content changed, so the Makefile's timestamps rebuild the types only then.
Exits 0 either way; prints nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from glassgate.api.app import create_api

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "web" / "src" / "api" / "openapi.json"


def spec_text() -> str:
    spec = create_api("x").openapi()
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    text = spec_text()
    if not output.exists() or output.read_text(encoding="utf-8") != text:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
