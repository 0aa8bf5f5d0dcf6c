"""`glassgate demo`: realistic traffic from a simulated vendor, through the real proxy, into the store.

catalog.py            the script: prompts and answers of five kinds of application
answer.py             one simulated answer (text or tool call, usage), vendor-neutral
openai_format.py      ... in OpenAI's wire format (chat, responses, embeddings, errors)
anthropic_format.py   ... in Anthropic's (messages, the SSE event sequence, errors)
simulated_vendor.py   the aiohttp server answering both APIs, with latency and faults
plan.py               which calls to make: sessions, users, tags, models, streams, faults
traffic.py            runs the vendor and Glassgate in-process and sends the plan through it
"""

DEFAULT_CALLS = 300  # how many calls `glassgate demo` makes unless told
