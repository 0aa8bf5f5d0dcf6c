"""Fixtures: a simulation, and the official SDKs as its clients (see sdk_clients.py)."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx2
import openai
import pytest

from glassgate.demo.simulation import Simulation
from tests.unit.demo.sdk_clients import anthropic_sdk, openai_sdk, transport


@pytest.fixture
def simulation() -> Simulation:
    return Simulation()


@pytest.fixture
def openai_client(simulation: Simulation) -> Iterator[openai.OpenAI]:
    with httpx2.Client(transport=transport(simulation)) as http:
        yield openai_sdk(http)


@pytest.fixture
def anthropic_client(simulation: Simulation) -> Iterator[anthropic.Anthropic]:
    with httpx2.Client(transport=transport(simulation)) as http:
        yield anthropic_sdk(http)
