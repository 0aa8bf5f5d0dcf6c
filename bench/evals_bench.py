"""Time per item of each code evaluator, of all of them together, and of a judge's own work.

Budget (issue 7): an experiment scores ≥ 200 items/s with code evaluators end to end (runner,
fake target, database), 5,000 µs per item. The evaluators alone must be far faster, so that
the time goes elsewhere: here, each code evaluator ≤ 1,000 µs CPU per item (a fifth of it);
all of them together on one item is reported beside. Items are answers of 80–1,500 characters
against a reference a few edits away (one in five a fenced JSON answer instead), plus a column
of ~10,000-character texts (the similarity evaluators' default bound). Times are medians of
`time.process_time` (CPU) and `time.perf_counter` (wall: `embedding_similarity` with the
`hashed` embedder hops to a worker thread per call, which shows in wall time only).

    python -m bench.evals_bench [--rounds N] [--items N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from glassgate.evals import base
from glassgate.evals.base import EvalInput, Evaluator
from glassgate.evals.judges.verdict import Labels, parse_verdict

BUDGET_EACH_US = 1000.0
PROSE = (
    "the order was shipped on monday and should arrive within three business days please check the tracking "
    "link in your email if the parcel is late contact support with your order number we refund damaged items "
    "in full the warranty covers two years of normal use returns are free within thirty days of delivery"
)
WORDS = PROSE.split(" ")
CODE: dict[str, dict[str, Any]] = {
    "exact_match": {"whitespace": "collapse", "ignore_case": True},
    "contains": {"values": ["order", "refund", "tracking"], "mode": "any"},
    "regex": {"pattern": r"\b(?:order|ticket) (?:number|id)\b", "ignore_case": True},
    "valid_json": {"strip_fences": True},
    "levenshtein": {"threshold": 0.8},
    "rouge_l": {"threshold": 0.5},
    "embedding_similarity": {"threshold": 0.5},
    "latency_threshold": {"max_ms": 2000},
    "cost_threshold": {"max_usd": 0.01},
}
JUDGE_ANSWER = (
    "The answer gives the delivery window and the refund rule, both stated in the context; nothing else is "
    "claimed.\n\nEXPLANATION: Every claim is supported by the context.\nLABEL: factual"
)


class InstantJudge:
    """A judge that answers at once: what is left is rendering the prompt and reading the answer."""

    async def complete(self, prompt: str, *, system: str | None = None) -> str:
        return JUDGE_ANSWER


def sentence(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(word) + 1 for word in words) < length:
        words.append(rng.choice(WORDS))
    return " ".join(words).capitalize() + "."


def edited(rng: random.Random, text: str, edits: int) -> str:
    chars = list(text)
    for _ in range(edits):
        chars[rng.randrange(len(chars))] = rng.choice("abcdefghij ")
    return "".join(chars)


def items(count: int, seed: int = 1, lengths: tuple[int, int] = (80, 1500)) -> list[EvalInput]:
    rng = random.Random(seed)
    made = []
    for index in range(count):
        expected = sentence(rng, rng.randint(*lengths))
        output = edited(rng, expected, rng.randint(0, 12))
        if index % 5 == 0:  # some answers are JSON, in a fence, as chat models write them
            output = f'```json\n{{"answer": "{output[:200]}"}}\n```'
        made.append(
            EvalInput(
                input="Where is my order?",
                output=output,
                expected=expected,
                context="Orders ship on Mondays. Refunds are full for damaged items.",
                latency_ms=rng.uniform(100, 3000),
                cost_usd=rng.uniform(0.0001, 0.02),
            )
        )
    return made


async def per_item_us(evaluators: Sequence[Evaluator], batch: list[EvalInput], rounds: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per item for `evaluators` run together on each item, medians over rounds."""
    judge = InstantJudge()

    async def once() -> None:
        for item in batch:
            await asyncio.gather(*(evaluator.evaluate(item, judge) for evaluator in evaluators))

    await once()  # warm-up: caches, templates, the embedder's thread pool
    cpu, wall = [], []
    for _ in range(rounds):
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        await once()
        cpu.append((time.process_time() - cpu_started) / len(batch) * 1e6)
        wall.append((time.perf_counter() - wall_started) / len(batch) * 1e6)
    return statistics.median(cpu), statistics.median(wall)


def parse_us(rounds: int, calls: int) -> float:
    scale = Labels({"factual": 1, "hallucinated": 0})
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            parse_verdict(JUDGE_ANSWER, scale)
        samples.append((time.process_time() - started) / calls * 1e6)
    return statistics.median(samples)


async def measure(args: argparse.Namespace) -> list[str]:
    batch = items(args.items)
    long_batch = items(max(2, args.items // 20), seed=2, lengths=(9_000, 10_000))
    built = {name: base.create(name, params) for name, params in CODE.items()}
    rows = [
        f"Code evaluators, µs per item (median of {args.rounds} rounds of {len(batch)} items, "
        f"80–1,500 characters; long: {len(long_batch)} items of ~10,000 characters)",
        "",
        f"| evaluator | CPU µs (budget ≤ {BUDGET_EACH_US:,.0f}) | wall µs | items/s (wall) | long texts, wall µs |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, evaluator in built.items():
        cpu, wall = await per_item_us([evaluator], batch, args.rounds)
        long = ""
        if name in ("levenshtein", "rouge_l", "embedding_similarity", "exact_match"):
            long = f"{(await per_item_us([evaluator], long_batch, max(3, args.rounds // 3)))[1]:,.0f}"
        verdict = "PASS" if cpu <= BUDGET_EACH_US else "FAIL"
        rows.append(f"| {name} | {cpu:,.1f} ({verdict}) | {wall:,.1f} | {1e6 / wall:,.0f} | {long} |")
    everything = list(built.values())
    cpu, wall = await per_item_us(everything, batch, args.rounds)
    rows.append(f"| **all {len(everything)} together** | {cpu:,.1f} | {wall:,.1f} | {1e6 / wall:,.0f} | |")
    without = [evaluator for name, evaluator in built.items() if name != "embedding_similarity"]
    cpu, wall = await per_item_us(without, batch, args.rounds)
    rows.append(f"| all but embedding_similarity | {cpu:,.1f} | {wall:,.1f} | {1e6 / wall:,.0f} | |")

    judge = base.create("hallucination", {})
    cpu, wall = await per_item_us([judge], batch, args.rounds)
    rows += [
        "",
        "LLM judge overhead with an instant judge (variables, rendering, reading the answer), µs per item",
        "",
        "| work | CPU µs |",
        "|---|---:|",
        f"| hallucination judge, whole evaluate | {cpu:,.1f} |",
        f"| parse_verdict alone ({len(JUDGE_ANSWER)}-character answer) | {parse_us(args.rounds, 500):,.1f} |",
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()
    rows = asyncio.run(measure(args))
    sys.stdout.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
