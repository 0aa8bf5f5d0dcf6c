"""Render the Helm chart offline with Helm's own engine and check every manifest against Kubernetes' schemas.

    .venv-deploy/bin/python deploy/tools/render_chart.py CHART VALUES.json KUBE_VERSION

Runs in .venv-deploy (`make install-deploy-tools`: helm-python-sdk, which embeds Helm's Go
SDK, and kubernetes-validate, which ships the API schemas), never in the project's own
environment. Prints one JSON object: {"lint": [...], "manifests": [...], "invalid": [...]} where
each manifest is a parsed document and each invalid entry names the document and the schema
error; or {"error": "..."} when the chart refuses the values (a `fail` in a template).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml


def render(chart_path: str, values: dict[str, Any], kube_version: str) -> dict[str, Any]:
    lint = helm_python.lint(chart_path, values, strict=True, kube_version=kube_version)
    chart = helm_python.Chart.load(chart_path)
    try:
        rendered = chart.render(values, name="glassgate", namespace="llm", is_install=True)
    except helm_python.HelmRenderError as exc:
        return {"error": str(exc), "lint": lint}
    finally:
        chart.close()
    manifests: list[dict[str, Any]] = []
    invalid: list[str] = []
    for template, text in sorted(rendered.items()):
        if not template.endswith((".yaml", ".yml")):
            continue
        for document in yaml.safe_load_all(text):
            if not document:
                continue
            manifests.append(document)
            try:
                kubernetes_validate.validate(document, kube_version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                invalid.append(f"{template} {document.get('kind')}: {exc.message} at {list(exc.path)}")
    return {"lint": lint, "manifests": manifests, "invalid": invalid}


def main(argv: list[str]) -> int:
    chart_path, values_path, kube_version = argv[1:4]
    values = json.loads(Path(values_path).read_text(encoding="utf-8"))
    json.dump(render(chart_path, values, kube_version), sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
