"""The script trips the default guardrails where it means to, and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from glassgate.demo import catalog
from glassgate.guardrails.policy import DEFAULT_POLICIES, build_detectors

SCRIPT = catalog.script()
DEFAULT_DETECTORS = build_detectors(DEFAULT_POLICIES[0])  # pii, secrets, injection
EXPECTED = {"pii": {"EMAIL", "PHONE"}, "secret": {"OPENAI_KEY"}, "injection": {"PROMPT_INJECTION"}}


def categories(text: str) -> set[str]:
    threshold = DEFAULT_POLICIES[0].threshold
    return {
        match.category for detector in DEFAULT_DETECTORS for match in detector.scan(text) if match.score >= threshold
    }


def clean_prompts() -> list[str]:
    prompts = [turn.prompt for group in (SCRIPT.support, SCRIPT.code) for chat in group for turn in chat.turns]
    prompts += [turn.prompt for turn in SCRIPT.summaries]
    prompts += [question.prompt for question in SCRIPT.rag] + [task.prompt for task in SCRIPT.tools]
    return prompts


@pytest.mark.parametrize(("kind", "turn"), SCRIPT.risky, ids=[kind for kind, _ in SCRIPT.risky])
def test_each_risky_prompt_trips_its_detector(kind: str, turn: catalog.Turn) -> None:
    assert categories(turn.prompt) == EXPECTED[kind]


@pytest.mark.parametrize("prompt", clean_prompts())
def test_ordinary_prompts_raise_nothing(prompt: str) -> None:
    assert categories(prompt) == set()


def test_the_fake_key_is_built_at_run_time() -> None:
    secret_turn = dict(SCRIPT.risky)["secret"]
    assert catalog.__file__ is not None
    text = Path(catalog.__file__).read_text(encoding="utf-8")
    key = secret_turn.prompt.split("OPENAI_API_KEY=", 1)[1].split("`", 1)[0]
    assert key.startswith("sk-proj-") and key not in text


def test_reply_looks_up_the_latest_prompt() -> None:
    task = SCRIPT.tools[0]
    assert catalog.reply(task.prompt, tools_offered=True, tool_result_given=False).tool_call == task.call
    assert catalog.reply(task.prompt, tools_offered=True, tool_result_given=True).text == task.answer
    assert catalog.reply("anything else", tools_offered=False, tool_result_given=False).text == catalog.FALLBACK
