"""The bodies and answers of /api/v1/datasets, precise enough for the generated TypeScript client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from glassgate.api.dataset_files import MAX_ERRORS

NAME = Field(min_length=1, max_length=200, description="Unique among datasets.")
NOTE = Field(default="", max_length=2000, description="Why this change was made; shown in the version list.")
BASE_VERSION = Field(
    default=None,
    ge=0,
    description="The version the caller edited from: the change is refused (409) when an item it edits or "
    "deletes was changed after it. Leave out to apply the change whatever happened since.",
)


class DatasetIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = NAME
    description: str = Field(default="", max_length=10_000)


class DatasetPatch(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class Dataset(BaseModel):
    dataset_id: str
    name: str
    description: str
    latest_version: int = Field(description="0 until the first items are added.")
    item_count: int = Field(description="Items in the latest version.")
    created_at: datetime
    updated_at: datetime


class DatasetList(BaseModel):
    data: list[Dataset]


class DatasetVersion(BaseModel):
    version: int
    note: str
    author: str = Field(description="Who made the change: a user's email, or admin-token.")
    item_count: int = Field(description="Items in this version.")
    created_at: datetime


class VersionList(BaseModel):
    data: list[DatasetVersion] = Field(description="Newest first.")


class ItemIn(BaseModel):
    input: JsonValue = Field(description="Any JSON value but null (from spans: {messages, parameters, tools}).")
    expected_output: JsonValue = Field(default=None, description="Any JSON value; null when there is none.")
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    source_span_id: str | None = Field(default=None, description="The span the item was made from, if any.")

    @field_validator("input")
    @classmethod
    def _input_present(cls, value: JsonValue) -> JsonValue:
        if value is None:
            raise ValueError("input cannot be null")
        return value


class DatasetItem(BaseModel):
    item_id: str = Field(description="Stable across edits; ids sort in the order items were added.")
    input: Any
    expected_output: Any
    metadata: dict[str, Any]
    source_span_id: str | None
    valid_from: int = Field(description="The version that wrote this row of the item.")
    valid_to: int | None = Field(description="The version that replaced or deleted it; null while current.")
    created_at: datetime


class ItemPage(BaseModel):
    dataset_id: str
    version: int = Field(description="The version listed (the latest unless one was asked for).")
    data: list[DatasetItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ItemHistory(BaseModel):
    data: list[DatasetItem] = Field(description="Every row the item has had, oldest first.")


class ItemFields(BaseModel):
    """Fields to change; those left out keep their values (send null to clear expected_output)."""

    input: JsonValue = None
    expected_output: JsonValue = None
    metadata: dict[str, JsonValue] | None = Field(default=None, description="Replaces the whole metadata object.")

    def changed(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in ("input", "expected_output", "metadata")
            if name in self.model_fields_set
        }


class ItemPatch(ItemFields):
    note: str = NOTE
    base_version: int | None = BASE_VERSION


class ItemEditIn(ItemFields):
    item_id: str


class AddItems(BaseModel):
    items: list[ItemIn] = Field(min_length=1, max_length=10_000)
    note: str = NOTE


class ChangeBatch(BaseModel):
    """Any mix of additions, edits and deletions, made as one version."""

    add: list[ItemIn] = Field(default_factory=list, max_length=10_000)
    edit: list[ItemEditIn] = Field(default_factory=list, max_length=10_000)
    delete: list[str] = Field(default_factory=list, max_length=10_000, description="Item ids.")
    note: str = NOTE
    base_version: int | None = BASE_VERSION


class ChangeResult(BaseModel):
    dataset_id: str
    version: DatasetVersion = Field(description="The version this change made.")
    items: list[DatasetItem] = Field(description="The rows written: additions, then edits, in the order given.")
    deleted: list[str]


class SpanIds(BaseModel):
    span_ids: list[str] = Field(min_length=1, max_length=1000, description="Repeats are taken once.")


class FromSpans(SpanIds):
    note: str = NOTE


class DraftList(BaseModel):
    data: list[ItemIn] = Field(description="One item per span, in the order asked; nothing is saved.")


class ImportResult(BaseModel):
    dataset_id: str
    version: DatasetVersion
    imported: int


class ImportLineError(BaseModel):
    line: int = Field(description="1-based line in the file (a CSV header is line 1).")
    field: str | None = Field(description="The column or key at fault, when one is.")
    message: str


class ImportProblem(BaseModel):
    """The 422 answer of an import: problem+json with every line in error."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ImportLineError] = Field(description=f"At most {MAX_ERRORS} lines, in file order.")
