"""bench.stack: the guardrail configs a bench run can start Glassgate with are valid configs."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.stack import GUARDRAIL_CONFIGS

from glassgate.config import Settings, load_settings


def _settings_with(tmp_path: Path, extra: str) -> Settings:
    config = tmp_path / "glassgate.yaml"
    config.write_text(
        f"data_dir: {tmp_path}\nupstreams:\n  openai:\n    vendor: openai\n    url: http://127.0.0.1:9\n{extra}"
    )
    return load_settings(config)


def test_default_leaves_the_guardrails_section_out(tmp_path: Path) -> None:
    settings = _settings_with(tmp_path, GUARDRAIL_CONFIGS["default"])
    assert settings.guardrails is None


def test_inline_checks_requests_and_answers_on_the_request_path(tmp_path: Path) -> None:
    settings = _settings_with(tmp_path, GUARDRAIL_CONFIGS["inline"])
    assert settings.guardrails is not None
    policies = {policy.name: policy for policy in settings.guardrails}
    assert {name: (policy.action, tuple(policy.phases)) for name, policy in policies.items()} == {
        "bench-redact": ("redact", ("input", "output")),
        "bench-block-injection": ("block", ("input",)),
    }


@pytest.mark.parametrize("name", sorted(GUARDRAIL_CONFIGS))
def test_every_config_ends_its_lines(name: str) -> None:
    # start_glassgate appends it to the generated YAML; a missing newline would glue keys together.
    assert GUARDRAIL_CONFIGS[name] == "" or GUARDRAIL_CONFIGS[name].endswith("\n")
