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
export type AwsKeyPair = Schemas["AwsKeyPair"];
/** What `GET /keys` lists: a Glassgate key or an AWS key pair, told apart by `kind`. */
export type ListedKey = Schemas["KeyList"]["data"][number];
export type IssuedKey = Schemas["IssuedKey"];
export type Upstream = Schemas["Upstream"];
export type Project = Schemas["Project"];

export type Conversation = Schemas["Conversation"];
// Derived from Conversation rather than named, so renames of the parts' schemas do not matter here.
export type ConversationMessage = Conversation["messages"][number] | Conversation["output"][number];
export type ConversationPart = ConversationMessage["parts"][number];

export type ScoreConfig = Schemas["ScoreConfig"];
export type ScoreConfigCreate = Schemas["ScoreConfigCreate"];
export type ScoreKind = ScoreConfig["kind"];
export type Annotation = Schemas["Annotation"];
export type AnnotationQueue = Schemas["AnnotationQueue"];
export type QueueProgress = Schemas["QueueProgress"];
export type QueueItem = Schemas["QueueItem"];
export type ClaimedItem = Schemas["ClaimedItem"];

export type Dataset = Schemas["Dataset"];
export type DatasetItem = Schemas["DatasetItem"];
export type DatasetVersion = Schemas["DatasetVersion"];
/** An item to add: what `POST /datasets/item-drafts` drafts from spans. */
export type ItemDraft = Schemas["ItemIn"];
export type ImportLineError = Schemas["ImportLineError"];

export type SessionSummary = Schemas["SessionSummary"];
export type SessionPage = Schemas["SessionPage"];

export type SimilarSpan = Schemas["SimilarSpan"];
export type SimilarSpans = Schemas["SimilarSpans"];
export type EmbeddingMap = Schemas["EmbeddingMap"];
export type MapPoint = Schemas["MapPoint"];
export type MapCluster = Schemas["MapCluster"];
export type EmbeddingStatus = Schemas["EmbeddingStatus"];

export type Evaluator = Schemas["Evaluator"];
export type EvaluatorIn = Schemas["EvaluatorIn"];
export type EvalRule = Schemas["Rule"];
export type EvalRuleIn = Schemas["RuleIn"];
export type SpanFilter = Schemas["SpanFilter"];
export type Experiment = Schemas["Experiment"];
export type ExperimentIn = Schemas["ExperimentIn"];
export type EvalRun = Schemas["Run"];
export type RunSummary = Schemas["RunSummary"];
export type EvaluatorTotals = Schemas["EvaluatorTotals"];
export type RunResult = Schemas["RunResult"];
export type ItemScore = Schemas["ItemScore"];
export type Comparison = Schemas["Comparison"];
export type ComparedItem = Schemas["ComparedItem"];
export type Agreement = Schemas["Agreement"];
