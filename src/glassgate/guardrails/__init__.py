"""Guardrails: detectors that find PII, secrets, toxicity, profanity and prompt injection in the
text of a call, and the policies that decide what happens then (block, redact or flag)."""
