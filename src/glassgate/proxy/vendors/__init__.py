"""Vendor adapters: pure parsers of each vendor's wire format (no IO)."""

from glassgate.proxy.vendors.anthropic import AnthropicAdapter
from glassgate.proxy.vendors.azure import AzureAdapter
from glassgate.proxy.vendors.base import (
    CallSummary,
    Usage,
    VendorAdapter,
    WireCall,
    get_adapter,
    register,
    registered_vendors,
)
from glassgate.proxy.vendors.bedrock import BedrockAdapter
from glassgate.proxy.vendors.openai import OpenAIAdapter

register(OpenAIAdapter())
register(AzureAdapter())
register(AnthropicAdapter())
register(BedrockAdapter())

__all__ = [
    "CallSummary",
    "Usage",
    "VendorAdapter",
    "WireCall",
    "get_adapter",
    "register",
    "registered_vendors",
]
