"""What a call reserves before it is sent: the prompt estimate and the answer's limit."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.limits.estimate import output_tokens, prompt_tokens


def test_prompt_is_a_token_per_four_characters_of_text() -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 40}]}
    # "gpt-4o-mini" (11) + "user" (4) + 40 characters = 55 → 14 tokens, rounded up
    assert prompt_tokens(body) == 14


def test_base64_payloads_and_data_urls_are_not_text() -> None:
    image = "iVBORw0KGgo" * 10_000
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": image}}]},
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64," + image}}],
            },
            {"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": image}}}]},
            ["data:image/png;base64," + image],
        ]
    }
    # Only the short strings count: user ×3, image, base64, image_url, png = 35 characters
    assert prompt_tokens(body) == 9


def test_deep_bodies_do_not_exhaust_the_stack() -> None:
    body: Any = "abcd"
    for _ in range(5000):
        body = [body]
    assert prompt_tokens(body) == 1


@pytest.mark.parametrize("body", [None, 42, "", {}])
def test_no_text_no_prompt(body: Any) -> None:
    assert prompt_tokens(body) == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"max_completion_tokens": 300, "max_tokens": 900}, 300),  # OpenAI's new name wins
        ({"max_tokens": 900}, 900),  # OpenAI chat (old), Anthropic, Bedrock Claude and Mistral
        ({"max_output_tokens": 250}, 250),  # Responses
        ({"inferenceConfig": {"maxTokens": 64}}, 64),  # Bedrock Converse
        ({"inferenceConfig": {"max_new_tokens": 128}}, 128),  # Amazon Nova
        ({"textGenerationConfig": {"maxTokenCount": 512}}, 512),  # Titan
        ({"max_gen_len": 77}, 77),  # Llama
        ({"max_tokens": 100, "n": 3}, 300),  # n choices
        ({"messages": []}, 4096),  # none set: the default
        ({"max_tokens": True}, 4096),  # not a count
        ({"max_tokens": "500"}, 4096),
        (None, 4096),
    ],
)
def test_output_limit_per_api(body: Any, expected: int) -> None:
    assert output_tokens(body, "/v1/chat/completions", 4096) == expected


def test_embeddings_have_no_output() -> None:
    assert output_tokens({"input": "hi"}, "/v1/embeddings", 4096) == 0
    assert output_tokens({"input": "hi"}, "/openai/deployments/emb/embeddings", 4096) == 0
