"""Score configs and annotations on real PostgreSQL: validation, upserts, summaries, the score filter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from glassgate.storage import annotations as annotation_store
from glassgate.storage import db
from glassgate.storage import score_configs as configs
from glassgate.storage.annotation_errors import Conflict, Invalid, NotAuthor, NotFound
from glassgate.storage.annotations import ScoreFilter
from glassgate.storage.score_configs import Category
from glassgate.storage.spans import SpanFilter, insert_spans, list_spans
from tests.integration.storage.test_spans import make_span


def span_id(number: int) -> str:
    return f"{number:016x}"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(database_url)
    await insert_spans(created, [make_span(number) for number in range(1, 11)])
    yield created
    await created.close()


async def make_configs(pool: asyncpg.Pool) -> dict[str, configs.ScoreConfig]:
    return {
        "numeric": await configs.create_config(pool, name="accuracy", kind="numeric", min_value=0, max_value=10),
        "categorical": await configs.create_config(
            pool,
            name="tone",
            kind="categorical",
            categories=[Category("bad", 0), Category(" ok ", 0.5), Category("good", 1)],
        ),
        "boolean": await configs.create_config(pool, name="correct", kind="boolean"),
        "text": await configs.create_config(pool, name="notes", kind="text"),
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "numeric", "min_value": 5, "max_value": 1}, "max_value"),
        ({"kind": "numeric", "categories": [Category("a", 1)]}, "categories"),
        ({"kind": "numeric", "max_value": float("inf")}, "max_value"),
        ({"kind": "boolean", "min_value": 0}, "min_value"),
        ({"kind": "categorical"}, "categories"),
        ({"kind": "categorical", "categories": [Category("a", 1), Category("a ", 2)]}, "categories.1.label"),
        ({"kind": "categorical", "categories": [Category("a", 1), Category("b", 1)]}, "categories.1.value"),
        ({"kind": "categorical", "categories": [Category("  ", 1)]}, "categories.0.label"),
        ({"kind": "stars"}, "kind"),
        ({"kind": "text", "name": "   "}, "name"),
    ],
)
async def test_definitions_are_validated(pool: asyncpg.Pool, fields: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as raised:
        await configs.create_config(pool, **{"name": "x", **fields})  # type: ignore[arg-type]
    assert raised.value.field == field


async def test_config_names_are_unique(pool: asyncpg.Pool) -> None:
    await configs.create_config(pool, name="accuracy", kind="numeric")
    with pytest.raises(Conflict):
        await configs.create_config(pool, name="accuracy", kind="boolean")


async def test_values_are_checked_and_stored_per_kind(pool: asyncpg.Pool) -> None:
    made = await make_configs(pool)
    stored = {}
    for kind, value in (("numeric", 7), ("categorical", "ok"), ("boolean", False), ("text", "cites the wrong year")):
        stored[kind], created = await annotation_store.annotate(
            pool, span_id(1), config_id=made[kind].config_id, value=value, author="ann@example.com"
        )
        assert created
    assert (stored["numeric"]["value_number"], stored["numeric"]["value_text"], stored["numeric"]["value"]) == (
        7.0,
        None,
        7.0,
    )
    assert (stored["categorical"]["value_number"], stored["categorical"]["value_text"]) == (0.5, "ok")
    assert (stored["boolean"]["value_number"], stored["boolean"]["value_text"], stored["boolean"]["value"]) == (
        0.0,
        "false",
        False,
    )
    assert (stored["text"]["value_number"], stored["text"]["value_text"]) == (None, "cites the wrong year")
    assert stored["numeric"]["trace_id"] == f"{1:032x}" and stored["numeric"]["config_name"] == "accuracy"

    refused: list[tuple[str, float | str]] = [
        ("numeric", 10.5),
        ("numeric", -1),
        ("numeric", True),
        ("numeric", "7"),
        ("categorical", "great"),
        ("categorical", 0.5),
        ("boolean", 1),
        ("boolean", "true"),
        ("text", "  "),
        ("text", 3),
    ]
    for kind, wrong in refused:
        with pytest.raises(Invalid) as raised:
            await annotation_store.annotate(pool, span_id(2), config_id=made[kind].config_id, value=wrong, author="a")
        assert raised.value.field == "value", (kind, wrong)
    assert await pool.fetchval("SELECT count(*) FROM annotations WHERE span_id = $1", span_id(2)) == 0


async def test_unknown_span_or_config_is_not_found(pool: asyncpg.Pool) -> None:
    made = await make_configs(pool)
    with pytest.raises(NotFound) as raised:
        await annotation_store.annotate(
            pool, "feedfacefeedface", config_id=made["numeric"].config_id, value=1, author="a"
        )
    assert raised.value.what == "span"
    with pytest.raises(NotFound) as raised:
        await annotation_store.annotate(pool, span_id(1), config_id="sc_missing", value=1, author="a")
    assert raised.value.what == "score config"
    with pytest.raises(NotFound):
        await annotation_store.list_annotations(pool, "feedfacefeedface")
    assert await annotation_store.list_annotations(pool, span_id(3)) == []


async def test_a_human_annotating_again_updates_the_annotation(pool: asyncpg.Pool) -> None:
    config_id = (await make_configs(pool))["numeric"].config_id
    first, created = await annotation_store.annotate(pool, span_id(1), config_id=config_id, value=3, author="ann")
    again, created_again = await annotation_store.annotate(
        pool, span_id(1), config_id=config_id, value=9, author="ann", comment="on reflection"
    )
    assert created and not created_again
    assert again["annotation_id"] == first["annotation_id"]
    assert (again["value"], again["comment"]) == (9.0, "on reflection")
    assert again["updated_at"] > first["updated_at"]
    await annotation_store.annotate(pool, span_id(1), config_id=config_id, value=5, author="bob")
    for _ in range(2):  # judges and code evaluators add a score per run
        await annotation_store.annotate(pool, span_id(1), config_id=config_id, value=1, author="judge", source="llm")
    listed = await annotation_store.list_annotations(pool, span_id(1))
    assert [(row["author"], row["source"], row["value"]) for row in listed] == [
        ("ann", "human", 9.0),
        ("bob", "human", 5.0),
        ("judge", "llm", 1.0),
        ("judge", "llm", 1.0),
    ]


async def test_concurrent_posts_by_one_human_make_one_annotation(pool: asyncpg.Pool) -> None:
    config_id = (await make_configs(pool))["numeric"].config_id
    results = await asyncio.gather(
        *(
            annotation_store.annotate(pool, span_id(4), config_id=config_id, value=value, author="ann")
            for value in range(8)
        )
    )
    assert sum(created for _, created in results) == 1
    assert len({annotation["annotation_id"] for annotation, _ in results}) == 1
    assert await pool.fetchval("SELECT count(*) FROM annotations WHERE span_id = $1", span_id(4)) == 1


async def test_update_and_delete_check_the_value_and_the_author(pool: asyncpg.Pool) -> None:
    made = await make_configs(pool)
    annotation, _ = await annotation_store.annotate(
        pool, span_id(1), config_id=made["categorical"].config_id, value="bad", author="ann"
    )
    annotation_id = annotation["annotation_id"]
    with pytest.raises(Invalid):
        await annotation_store.update_annotation(pool, annotation_id, value="terrible", editor="ann")
    with pytest.raises(NotAuthor):
        await annotation_store.update_annotation(pool, annotation_id, value="good", editor="bob")
    changed = await annotation_store.update_annotation(pool, annotation_id, value="good", editor="ann")
    assert (changed["value_number"], changed["value_text"], changed["comment"]) == (1.0, "good", "")
    commented = await annotation_store.update_annotation(pool, annotation_id, comment="fine", editor=None)  # an admin
    assert (commented["value"], commented["comment"]) == ("good", "fine")
    with pytest.raises(NotAuthor):
        await annotation_store.delete_annotation(pool, annotation_id, editor="bob")
    await annotation_store.delete_annotation(pool, annotation_id, editor="ann")
    with pytest.raises(NotFound):
        await annotation_store.delete_annotation(pool, annotation_id)
    with pytest.raises(NotFound):
        await annotation_store.update_annotation(pool, annotation_id, comment="gone")


async def test_a_used_config_is_archived_and_frozen(pool: asyncpg.Pool) -> None:
    made = await make_configs(pool)
    numeric, text = made["numeric"], made["text"]
    assert await configs.delete_config(pool, text.config_id) == "deleted"
    await annotation_store.annotate(pool, span_id(1), config_id=numeric.config_id, value=4, author="ann")
    with pytest.raises(Conflict):
        await configs.update_config(pool, numeric.config_id, {"max_value": 5})
    renamed = await configs.update_config(pool, numeric.config_id, {"name": "accuracy v1", "description": "old"})
    assert (renamed.name, renamed.max_value, renamed.archived_at) == ("accuracy v1", 10, None)
    assert await configs.delete_config(pool, numeric.config_id) == "archived"
    assert [config.name for config in await configs.list_configs(pool)] == ["correct", "tone"]
    assert len(await configs.list_configs(pool, include_archived=True)) == 3
    with pytest.raises(Invalid) as raised:
        await annotation_store.annotate(pool, span_id(2), config_id=numeric.config_id, value=4, author="ann")
    assert raised.value.field == "config_id"
    restored = await configs.update_config(pool, numeric.config_id, {"archived": False})
    assert restored.archived_at is None
    unused = made["categorical"]
    widened = await configs.update_config(
        pool, unused.config_id, {"categories": [Category("bad", 0), Category("good", 1), Category("great", 2)]}
    )
    assert [category.label for category in widened.categories] == ["bad", "good", "great"]
    with pytest.raises(NotFound):
        await configs.delete_config(pool, "sc_missing")


async def test_summaries_of_many_spans(pool: asyncpg.Pool) -> None:
    made = await make_configs(pool)
    numeric, tone, correct = made["numeric"].config_id, made["categorical"].config_id, made["boolean"].config_id
    await annotation_store.annotate(pool, span_id(1), config_id=numeric, value=4, author="ann")
    await annotation_store.annotate(pool, span_id(1), config_id=numeric, value=8, author="bob")
    await annotation_store.annotate(pool, span_id(1), config_id=tone, value="bad", author="ann")
    await annotation_store.annotate(pool, span_id(1), config_id=tone, value="good", author="bob")
    await annotation_store.annotate(pool, span_id(2), config_id=correct, value=True, author="ann")
    await annotation_store.annotate(pool, span_id(2), config_id=made["text"].config_id, value="x" * 300, author="ann")

    summaries = await annotation_store.score_summaries(pool, [span_id(1), span_id(2), span_id(3)])
    assert set(summaries) == {span_id(1), span_id(2)}
    assert summaries[span_id(1)] == [
        {"config_id": numeric, "name": "accuracy", "kind": "numeric", "count": 2, "avg": 6.0, "value": 8.0,
         "label": None},
        {"config_id": tone, "name": "tone", "kind": "categorical", "count": 2, "avg": 0.5, "value": 1.0,
         "label": "good"},
    ]  # fmt: skip
    correct_summary, notes = summaries[span_id(2)]
    assert (correct_summary["avg"], correct_summary["label"]) == (1.0, "true")
    assert (notes["avg"], notes["value"], len(notes["label"])) == (None, None, annotation_store.SUMMARY_TEXT_CHARS)
    assert await annotation_store.score_summaries(pool, []) == {}


@pytest.mark.parametrize("probe_limit", [annotation_store.SCORE_PROBE_LIMIT, 1], ids=["few: by id", "many: by time"])
async def test_the_span_list_filters_on_scores(
    pool: asyncpg.Pool, probe_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(annotation_store, "SCORE_PROBE_LIMIT", probe_limit)
    made = await make_configs(pool)
    numeric, tone = made["numeric"], made["categorical"]
    for number, value in ((1, 2), (2, 9), (3, 7), (4, 10)):
        await annotation_store.annotate(pool, span_id(number), config_id=numeric.config_id, value=value, author="ann")
    await annotation_store.annotate(pool, span_id(3), config_id=numeric.config_id, value=1, author="bob")
    await annotation_store.annotate(pool, span_id(5), config_id=tone.config_id, value="good", author="ann")

    async def found(score: ScoreFilter, **other: object) -> list[str]:
        rows, _ = await list_spans(pool, SpanFilter(score=score, **other), 50, None)  # type: ignore[arg-type]
        return [row["span_id"] for row in rows]

    assert await found(ScoreFilter("accuracy", min_value=7)) == [span_id(4), span_id(3), span_id(2)]
    assert await found(ScoreFilter(numeric.config_id, min_value=7, max_value=9)) == [span_id(3), span_id(2)]
    assert await found(ScoreFilter("accuracy", max_value=1)) == [span_id(3)], "any one annotation in range"
    assert await found(ScoreFilter("accuracy")) == [span_id(n) for n in (4, 3, 2, 1)]
    assert await found(ScoreFilter("tone", label="good")) == [span_id(5)]
    assert await found(ScoreFilter("tone", min_value=0.9)) == [span_id(5)]
    assert await found(ScoreFilter("no such score")) == []
    assert await found(ScoreFilter("accuracy", min_value=7), upstream="openai") == [span_id(3)]
    assert await found(ScoreFilter("accuracy"), search="hi") == [], "previews are empty in these spans"

    pages: list[str] = []
    cursor = None
    while True:
        rows, cursor = await list_spans(pool, SpanFilter(score=ScoreFilter("accuracy")), 3, cursor)
        pages += [row["span_id"] for row in rows]
        if cursor is None:
            break
    assert pages == [span_id(n) for n in (4, 3, 2, 1)]
