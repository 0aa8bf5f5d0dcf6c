"""Prompt injection and jailbreak phrasing, and hidden characters (detector `injection`).

High-precision rules, meant for blocking: each phrase rule names the act (ignore the previous
instructions, reveal your system prompt, become DAN, spoof a chat-template role tag), not a
topic, so "kill the process", "forget the previous draft" or "what is a system prompt?" pass.
Rules are precise but miss paraphrases; a learned model can add recall in flag-only mode.

Scores, which a policy can threshold:
- 1.0  unambiguous: "ignore/disregard (all) (the) previous/prior/above instructions", "ignore
       your guidelines", "bypass your content policy", "reveal your system prompt", "you are
       DAN" / "DAN mode" / DAN with "do anything now", "ChatGPT with Developer Mode", "you are
       now jailbroken", "you have been freed from … policies", `<|im_start|>system`, Unicode
       tag characters (invisible text a model still reads).
- 0.9  strong but seen in honest text now and then: "pretend you have no restrictions",
       "repeat the words above", "end of system prompt", `<<SYS>>`, other `<|…|>` template
       tokens, right-to-left/left-to-right override characters (U+202D/U+202E).
- 0.8  "forget your previous instructions" (users also retract their own requests that way),
       "print your instructions", "what is your system prompt", `[INST]`, a `</system>` with
       no `<system>` before it (balanced tags are XML), "new instructions: you …", "act as an
       unfiltered …", "jailbreak mode".
- 0.7  eight or more zero-width characters in a row (a hidden payload; emoji joiners and
       Persian non-joiners never come eight at a time).
Bidi embeddings and isolates (U+202A–C, U+2066–9) are not reported: apps insert them around
user names in right-to-left text. A tag-character flag sequence (🏴 + tags + cancel tag, the
England/Scotland/Wales flags) is an emoji, not hidden text.

Known limits: paraphrases ("set aside what you were told") pass, and a developer asking how
to format `[INST]` tags is flagged (0.8) like someone typing them.

Speed: the text is lowered once (A–Z only, so offsets hold). Each distinct cue word is looked
for once (`in`, ~0.8 µs per 1.5 KB; cues that start with `<` or `[` only if that character
occurs, ~0.05 µs) and only the rules whose cue occurs run their pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from glassgate.guardrails.base import Match
from glassgate.guardrails.detectors.options import check_keys, pick_categories
from glassgate.guardrails.detectors.spans import ascii_lower, keep_best

CATEGORIES = ("PROMPT_INJECTION", "JAILBREAK", "INVISIBLE_TEXT")


@dataclass(frozen=True, slots=True)
class Rule:
    category: str
    score: float
    cues: tuple[tuple[str, ...], ...]  # runs only if each group has a word in the lowered text (none: always)
    pattern: re.Pattern[str]  # run on the lowered text, or on the original if `cased`
    cased: bool = False


# No "my": a user retracting their own request ("ignore my previous instructions") is not an attack.
_QUANTIFIERS = r"(?:(?:all|any|every|each|the|your|of|these|those|such)\s+){0,4}"
_EARLIER = r"(?:previous|prior|above|earlier|preceding|foregoing|former|initial|original|system|developer)"
# Not "message", "text" or "context": "disregard the previous message" is everyday chat.
_ORDERS = (
    r"(?:instructions?|prompts?|directions?|directives?|rules|guidelines|commands?|orders|guidance|constraints"
    r"|restrictions|programming|policies)"
)
_OVERRIDE = rf"\s+{_QUANTIFIERS}(?:{_EARLIER}\s+){{1,2}}(?:[a-z]+\s+)?{_ORDERS}\b"
_OWN_RULES = (
    r"\s+(?:all\s+)?(?:of\s+)?your\s+(?:(?:previous|prior|original|initial|current|existing|safety|ethical|moral"
    r"|content|system|internal|core|built-in)\s+)?(?:programming|training|guidelines|rules|instructions|restrictions"
    r"|filters|content\s+polic(?:y|ies)|system\s+prompt)\b"
)
# Word order "ignore the instructions above".
_ORDERS_BEFORE = rf"\s+{_QUANTIFIERS}{_ORDERS}\s+(?:above|before\s+this|so\s+far|you\s+(?:were|have\s+been)\s+given)\b"
_EVERYTHING = (
    r"\s+(?:all\s+|everything\s+)(?:that\s+)?you\s+(?:were|have\s+been|'ve\s+been)\s+(?:told|given|instructed)\b"
)
_SHOW = r"(?:reveal|print|show|display|output|repeat|leak|dump|expose|share|recite|tell\s+me|give\s+me|write\s+out)"
_NO_LIMITS = r"(?:restrictions|rules|guidelines|filters|limitations|limits|policies|boundaries|censorship)"


def _rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    # "override"/"bypass" only with "your …": "this will override the previous rules" is CSS talk.
    verbs = (("ignore", 1.0, 4), ("disregard", 1.0, 4), ("forget", 0.8, 4), ("override", 1.0, 1), ("bypass", 1.0, 1))
    for verb, score, kinds in verbs:
        for tail in (_OWN_RULES, _OVERRIDE, _ORDERS_BEFORE, _EVERYTHING)[:kinds]:
            rules.append(
                Rule("PROMPT_INJECTION", score, ((verb,),), re.compile(verb + r"(?<![a-z]" + verb + ")" + tail))
            )
    rules += [
        Rule(
            "PROMPT_INJECTION",
            1.0,
            (("your",), ("prompt", "instruction", "system message")),
            re.compile(
                _SHOW + r"\s+(?:me\s+)?(?:all\s+of\s+|the\s+contents?\s+of\s+)?your\s+(?:(?:full|entire|complete|exact"
                r"|verbatim)\s+)?(?:system\s+(?:prompt|message|instructions)|(?:initial|original|hidden|secret)"
                r"\s+(?:prompt|instructions))\b"
            ),
        ),
        Rule(
            "PROMPT_INJECTION",
            0.8,
            (("your",), ("prompt", "instruction", "system message")),
            # Not "show/give/tell me your instructions": that is how people ask for directions.
            re.compile(
                r"(?:print|output|repeat|recite|dump|leak|reveal)\s+(?:all\s+(?:of\s+)?)?your\s+(?:instructions|prompt)\b"
            ),
        ),
        Rule(
            "PROMPT_INJECTION",
            0.8,
            (("your",), ("prompt", "instruction", "system message")),
            re.compile(r"what(?:'s|\s+is|\s+was)\s+your\s+system\s+prompt"),
        ),
        Rule(
            "PROMPT_INJECTION",
            0.9,
            (("repeat",),),
            # "words above", the extraction classic; not "repeat the text above in Spanish".
            re.compile(r"repeat(?<![a-z]repeat)\s+(?:all\s+)?(?:the\s+)?words\s+above\b"),
        ),
        Rule(
            "PROMPT_INJECTION",
            0.8,
            (("instruction",), (":",)),
            re.compile(
                r"(?:new|updated|revised)\s+(?:system\s+)?instructions?\s*:\s*(?:you\b|your\b|from\s+now|ignore|disregard"
                r"|forget|act\s|pretend|respond|reply|answer|output|print|reveal)"
            ),
        ),
        Rule(
            "PROMPT_INJECTION",
            0.9,
            (("system",), (" of ",)),
            re.compile(r"(?:begin|start|end)\s+of\s+(?:the\s+)?system\s+(?:prompt|instructions|message)\b"),
        ),
        # Chat-template role tags typed into content: the model may take what follows as a system turn.
        Rule("PROMPT_INJECTION", 1.0, (("<|",),), re.compile(r"<\|im_start\|>\s*system\b")),
        Rule(
            "PROMPT_INJECTION",
            0.9,
            (("<|",),),
            re.compile(
                r"<\|(?:im_start|im_end|system|assistant|endoftext|start_header_id|end_header_id|eot_id"
                r"|begin_of_text)\|>"
            ),
        ),
        Rule("PROMPT_INJECTION", 0.9, (("<<",),), re.compile(r"<</?sys>>")),
        Rule("PROMPT_INJECTION", 0.8, (("[inst]", "[/inst]"),), re.compile(r"\[/?inst\]")),
        # Jailbreaks: personas and modes that claim to lift the model's rules.
        # DAN in capitals (so not Dan the colleague), found from the literal with fixed-width look-behinds.
        Rule(
            "JAILBREAK",
            1.0,
            (("dan",),),
            re.compile(
                r"DAN(?![\w'’])(?:"
                + "|".join(
                    f"(?<=(?i:{lead} )DAN)"
                    for lead in (
                        "you are",
                        "you are now",
                        "you will be",
                        "act as",
                        "act as a",
                        "pretend to be",
                        "become",
                    )
                )
                + r"|\s+(?i:mode)\b|.{0,80}?(?i:do\s+anything\s+now))",
                re.DOTALL,
            ),
            cased=True,
        ),
        Rule("JAILBREAK", 1.0, (("do anything now",),), re.compile(r"do\s+anything\s+now.{0,80}?\bdan\b", re.DOTALL)),
        Rule("JAILBREAK", 0.8, (("dan",),), re.compile(r"you\s+are\s+now\s+dan(?![\w'’])")),
        Rule(
            "JAILBREAK",
            1.0,
            (("developer mode",),),
            re.compile(
                r"(?:chatgpt|gpt|the\s+ai|assistant|claude|llm|model)\s+with\s+developer\s+mode"
                r"|you\s+are\s+now\s+(?:in\s+|running\s+in\s+|operating\s+in\s+)developer\s+mode"
                r"|developer\s+mode\s+(?:output|response)|simulate\s+developer\s+mode"
            ),
        ),
        Rule(
            "JAILBREAK",
            1.0,
            (("jailbr",),),
            re.compile(
                r"you\s+are\s+(?:now\s+)?(?:a\s+|an\s+)?jailbroken|(?:enter|enable|activate)\s+jailbreak\s+mode"
            ),
        ),
        Rule("JAILBREAK", 0.8, (("jailbr",),), re.compile(r"jailbreak\s+mode")),
        Rule(
            "JAILBREAK",
            1.0,
            (),
            re.compile(
                r"you\s+(?:are|have\s+been)\s+(?:now\s+)?(?:freed|free|released|liberated)\s+from\s+(?:[\w'’]+\s+){0,8}"
                + _NO_LIMITS
                + r"|you\s+are\s+no\s+longer\s+(?:bound|restricted|limited|constrained)\s+by"
            ),
        ),
        Rule(
            "JAILBREAK",
            0.9,
            (("pretend", "imagine", "as if"), (" no ",)),
            re.compile(
                r"(?:pretend|imagine|act\s+as\s+if|behave\s+as\s+if|respond\s+as\s+if|answer\s+as\s+if)\s+(?:that\s+)?"
                r"you\s+(?:have|had|are\s+under)\s+no\s+(?:\w+\s+)?" + _NO_LIMITS
            ),
        ),
        Rule(
            "JAILBREAK",
            0.8,
            (("unfiltered", "uncensored", "unrestricted", "amoral"),),
            re.compile(
                r"(?:you\s+are\s+(?:now\s+)?|act\s+as\s+|behave\s+as\s+|respond\s+as\s+)(?:an?\s+)?"
                r"(?:unfiltered|uncensored|unrestricted|amoral)\b"
            ),
        ),
    ]
    return tuple(rules)


_RULES = _rules()

_HIDDEN = re.compile("[\U000e0000-\U000e007f]+|[\u202d\u202e]+|[\u200b\u200c\u200d\u2060\ufeff]{8,}")
_FLAG_TAGS = re.compile("[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,6}\U000e007f")
_BLACK_FLAG = "\U0001f3f4"


class InjectionDetector:
    """Finds prompt injection, jailbreaks and hidden text; option `categories` picks a subset."""

    name = "injection"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = options or {}
        check_keys(self.name, options, {"categories"})
        self.categories = pick_categories(self.name, options, CATEGORIES, CATEGORIES)
        rules = [rule for rule in _RULES if rule.category in self.categories]
        # Rules indexed by the words of their first cue group: a scan looks for each word once and
        # visits only the rules whose word occurs.
        self._always = tuple(rule for rule in rules if not rule.cues)
        by_cue: dict[str, list[Rule]] = {}
        for rule in rules:
            for cue in rule.cues[0] if rule.cues else ():
                by_cue.setdefault(cue, []).append(rule)
        # Cues that start with a rare character ("<|", "[inst]") are only looked for if it occurs:
        # a one-character `in` costs a twentieth of a longer one.
        self._by_cue = tuple((cue, cue[0] if cue[0] in "<[" else "", tuple(found)) for cue, found in by_cue.items())

    def scan(self, text: str) -> list[Match]:
        low = ascii_lower(text)
        candidates = list(self._always)
        for cue, rare, rules in self._by_cue:
            if (not rare or rare in low) and cue in low:
                candidates.extend(rules)
        found: list[Match] = []
        present: dict[str, bool] = {}
        for rule in dict.fromkeys(candidates):
            if not all(any(_has(present, low, cue) for cue in group) for group in rule.cues[1:]):
                continue
            haystack = text if rule.cased else low
            found.extend(Match(rule.category, m.start(), m.end(), rule.score) for m in rule.pattern.finditer(haystack))
        if "PROMPT_INJECTION" in self.categories and "<" in low and "</system>" in low:
            found.extend(_orphan_closing_tags(low))
        if "INVISIBLE_TEXT" in self.categories and not text.isascii():
            found.extend(_hidden(text))
        return keep_best(found, CATEGORIES)


def _has(present: dict[str, bool], low: str, cue: str) -> bool:
    if cue not in present:
        present[cue] = cue in low
    return present[cue]


def _orphan_closing_tags(low: str) -> Iterator[Match]:
    """`</system>` with no `<system>` before it: text trying to close the real system prompt.

    A balanced `<system>…</system>` is left alone: it is far more often XML (config files) than
    an attack, and the phrase rules still see whatever instructions it wraps.
    """
    at = low.find("</system>")
    while at != -1:
        if "<system>" not in low[:at]:
            yield Match("PROMPT_INJECTION", at, at + len("</system>"), 0.8)
        at = low.find("</system>", at + 1)


def _hidden(text: str) -> Iterator[Match]:
    for m in _HIDDEN.finditer(text):
        first = text[m.start()]
        if "\U000e0000" <= first <= "\U000e007f":
            if text[m.start() - 1 : m.start()] == _BLACK_FLAG and _FLAG_TAGS.fullmatch(m.group()):
                continue  # 🏴 + subdivision tags + cancel tag: the England, Scotland or Wales flag
            yield Match("INVISIBLE_TEXT", m.start(), m.end(), 1.0)
        elif first in "\u202d\u202e":
            yield Match("INVISIBLE_TEXT", m.start(), m.end(), 0.9)
        else:
            yield Match("INVISIBLE_TEXT", m.start(), m.end(), 0.7)
