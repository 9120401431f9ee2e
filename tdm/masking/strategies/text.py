"""Free-text scrubbing: the emails, phone numbers, card numbers, ids, IBANs and IPs found inside
text (or inside the strings of JSON documents) replaced by tokens."""

from __future__ import annotations

import contextlib
import json
from typing import Any, ClassVar, Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from tdm.masking.strategies.base import MaskBatch, Model, Strategy, register

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# RE2 syntax (pyarrow.compute): no look-around. Applied in this order: emails before phones (their
# digits), IBANs and cards before the shorter digit patterns they contain.
PATTERNS: dict[str, tuple[str, str]] = {
    "email": (r"[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}", "[EMAIL]"),
    "iban": (r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", "[IBAN]"),
    "card": (r"\b\d(?:[ -]?\d){12,18}\b", "[CARD]"),
    "id": (r"\b\d{3}-\d{2}-\d{4}\b", "[ID]"),
    "ip": (rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b", "[IP]"),
    "phone": (
        r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
        r"|\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"
        r"|\b\d{3}[.-]\d{3}[.-]\d{4}"
        r"|\b0\d{2,4}[ /-]\d{4,8})"
        r"(?: ?(?:x|ext\.?) ?\d{1,6}\b|\b)",  # an extension goes with its number
        "[PHONE]",
    ),
}
Kind = Literal["email", "iban", "card", "id", "ip", "phone"]


class ScrubParams(Model):
    kinds: tuple[Kind, ...] = Field(tuple(PATTERNS), description="what to find and replace")
    patterns: dict[str, str] = Field(
        default_factory=dict, description="more {RE2 regex: token} pairs, applied after the rest"
    )


@register
class Scrub(Strategy):
    """Free text with the emails, phone numbers, card numbers, SSN-like ids, IBANs and IPv4
    addresses found in it replaced by [EMAIL], [PHONE], [CARD], [ID], [IBAN] and [IP] (one
    vectorised regex pass per kind). Names and addresses in prose are not found."""

    name = "scrub"
    Params = ScrubParams
    types = ("string", "json")
    summary: ClassVar[str] = "replace emails/phones/cards/ids/IBANs/IPs inside text by tokens"

    def problems(self):
        out = []
        for pattern in self.p.patterns:
            try:
                pc.replace_substring_regex(pa.array(["x"]), pattern, "")
            except pa.ArrowInvalid as err:
                out.append(
                    (
                        "patterns",
                        f"bad regex {pattern!r}: {err}",
                        "RE2 syntax: no look-ahead or look-behind",
                    )
                )
        return out

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        if self.column.type.kind == "json":
            return self.documents(values)
        return self.text(values)

    def text(self, values: pa.Array) -> pa.Array:
        out = values
        rules = [PATTERNS[k] for k in PATTERNS if k in self.p.kinds]
        for pattern, token in [*rules, *self.p.patterns.items()]:
            out = pc.replace_substring_regex(out, pattern, token)
        return out

    def documents(self, values: pa.Array) -> pa.Array:
        """JSON: every string and integer inside each document scrubbed (all at once; an integer
        that is a card number becomes the string "[CARD]"), the structure and keys kept. Text
        that is not JSON is scrubbed as text."""
        texts = values.to_pylist()
        holders: list[list] = [[t] for t in texts]  # holder[0]: the document, or the raw text
        parsed = [False] * len(texts)
        leaves: list[tuple[Any, Any]] = []
        for i, text in enumerate(texts):
            if text is not None:
                with contextlib.suppress(ValueError):
                    holders[i][0], parsed[i] = json.loads(text), True
                _strings_in(holders[i], 0, leaves)
        if not leaves:
            return values
        found = [c[k] if isinstance(c[k], str) else str(c[k]) for c, k in leaves]
        scrubbed = self.text(pa.array(found, pa.string())).to_pylist()
        for (container, key), before, value in zip(leaves, found, scrubbed, strict=True):
            if value != before:  # a number that holds a card number becomes the token text
                container[key] = value
        out = [
            json.dumps(h[0], ensure_ascii=False) if p else h[0]
            for h, p in zip(holders, parsed, strict=True)
        ]
        return pa.array(out, values.type)


def _strings_in(container: Any, key: Any, out: list) -> None:
    """(container, key) of every string and integer inside container[key], depth first."""
    node = container[key]
    if isinstance(node, str) or (isinstance(node, int) and not isinstance(node, bool)):
        out.append((container, key))
    elif isinstance(node, dict):
        for k in node:
            _strings_in(node, k, out)
    elif isinstance(node, list):
        for i in range(len(node)):
            _strings_in(node, i, out)
