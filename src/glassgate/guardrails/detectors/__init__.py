"""The built-in detectors, registered exactly as a third-party plugin would register its own.

| name      | finds                                                                    | module       |
|-----------|--------------------------------------------------------------------------|--------------|
| pii       | e-mail, phone, payment card, US SSN, IBAN, IP address (street, opt-in)   | pii.py       |
| secrets   | vendor API keys and tokens, private keys, URL credentials, password=…    | secrets.py   |
| injection | prompt injection and jailbreak phrasing, role-tag spoofing, hidden text  | injection.py |
| regex     | a policy's own patterns and deny-listed phrases                          | regex.py     |
| toxicity  | abusive language (a linear model over words)                             | toxicity.py  |
| profanity | listed rude words                                                        | profanity.py |
| presidio  | Presidio's pattern recognizers (optional package; an error without it)   | presidio.py  |

Each factory takes the policy's options and raises `ValueError` naming any option it does not
know, so a misspelt option is a start-up error rather than a silently ignored setting.
"""

from __future__ import annotations

from glassgate.guardrails.base import register
from glassgate.guardrails.detectors.injection import InjectionDetector
from glassgate.guardrails.detectors.pii import PiiDetector
from glassgate.guardrails.detectors.presidio import create_presidio
from glassgate.guardrails.detectors.profanity import ProfanityDetector
from glassgate.guardrails.detectors.regex import RegexDetector
from glassgate.guardrails.detectors.secrets import SecretsDetector
from glassgate.guardrails.detectors.toxicity import ToxicityDetector

register("pii", PiiDetector)
register("secrets", SecretsDetector)
register("injection", InjectionDetector)
register("regex", RegexDetector)
# --- toxicity and profanity (toxicity.py, profanity.py, written alongside); their models load on
# first use, so importing them here costs nothing ---
register("toxicity", ToxicityDetector)
register("profanity", ProfanityDetector)
# Optional: works when presidio-analyzer is installed; otherwise naming it is a start-up error.
register("presidio", create_presidio)
