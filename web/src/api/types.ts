/** Short names for the generated schema types the features use (schema.d.ts comes from `make web`). */
import type { components } from "./schema";

type Schemas = components["schemas"];

export type SpanSummary = Schemas["SpanSummary"];
/** A span as the list returns it: with its annotation scores. */
export type ListedSpan = Schemas["ScoredSpan"];
export type SpanDetail = Schemas["SpanDetail"];
export type SpanPage = Schemas["SpanPage"];
export type SpanStatus = SpanSummary["status"];
export type GuardrailFinding = Schemas["GuardrailFinding"];
export type ScoreSummary = Schemas["ScoreSummary"];
export type TimeSeries = Schemas["TimeSeries"];
export type SeriesPoint = Schemas["SeriesPoint"];
export type FindingSeries = Schemas["FindingSeries"];
export type Trace = Schemas["Trace"];

export type AuthState = Schemas["AuthState"];
export type User = Schemas["User"];
export type Key = Schemas["Key"];
export type IssuedKey = Schemas["IssuedKey"];
export type Upstream = Schemas["Upstream"];
export type Project = Schemas["Project"];

export type Conversation = Schemas["Conversation"];
// Derived from Conversation rather than named, so renames of the parts' schemas do not matter here.
export type ConversationMessage = Conversation["messages"][number] | Conversation["output"][number];
export type ConversationPart = ConversationMessage["parts"][number];
