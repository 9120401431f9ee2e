"""Email addresses, masked collision-free, consistently, and by default believably.

Bijective (distinct inputs give distinct outputs), so `email` can mask unique columns and keys.
Addresses are lower-cased first (compared case-insensitively, John@x and john@x are one address
with one pseudonym). `style: realistic` (the default) masks a local part shaped like a person's
name (`john.smith1984`) to another name of that shape (tdm.masking.strategies.believable) and a
well-known mail provider's domain to a fixed look-alike under example.com (`gmail.com` ->
`gmail.example.com`); everything else, and everything with `style: format`, is pseudonymised
with its format kept (tdm.masking.strategies.fpe). Masked domains are always reserved ones (RFC
2606), so masked data can never mail anyone.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from tdm.core.arrowstr import lower, replace_rows
from tdm.masking.strategies import addresses
from tdm.masking.strategies.alphabets import TABLES
from tdm.masking.strategies.band import band_rows
from tdm.masking.strategies.base import (
    MaskBatch,
    Model,
    Strategy,
    as_string,
    register,
    string_buffers,
    with_nulls_of,
)
from tdm.masking.strategies.believable import NameShape
from tdm.masking.strategies.fpe import Pseudonymizer
from tdm.masking.strategies.packing import table

RESERVED_TLD = "example"
CHUNK_ROWS = 1 << 18  # rows masked together (mask): more is slower, the caches overflow
# a local part or domain with this many letters and digits is long enough for a pseudonym of its
# own whatever characters it holds (6 digits: 10**6 values); shorter ones go whole (Email.mask)
SEPARATE = 6
# addresses are lower-cased once, up front: on lower-case text the alnum alphabet permutes
# exactly as base36 does (same parts, same digits), without lower-casing every piece again
LOWERED = "alnum"
# Public mail providers (their domains say nothing about a person) -> a look-alike under
# example.com, which no pseudonymised domain ends in (those end in .example or .example.net)
PROVIDERS = {
    "gmail.com": "gmail", "googlemail.com": "googlemail", "yahoo.com": "yahoo",
    "yahoo.co.uk": "yahoo-uk", "yahoo.fr": "yahoo-fr", "yahoo.de": "yahoo-de",
    "hotmail.com": "hotmail", "hotmail.co.uk": "hotmail-uk", "hotmail.fr": "hotmail-fr",
    "outlook.com": "outlook", "live.com": "live", "msn.com": "msn", "icloud.com": "icloud",
    "me.com": "me", "mac.com": "mac", "aol.com": "aol", "gmx.de": "gmx", "gmx.net": "gmx-net",
    "web.de": "web", "t-online.de": "t-online", "mail.ru": "mail-ru", "yandex.ru": "yandex",
    "protonmail.com": "protonmail", "proton.me": "proton", "orange.fr": "orange",
    "free.fr": "free", "laposte.net": "laposte", "libero.it": "libero", "qq.com": "qq",
    "163.com": "163",
}  # fmt: skip


def _no_names() -> tuple:
    """assemble()'s names for no rows (the format style)."""
    empty = (np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.uint8))
    return (*empty, *empty), np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int16)


class EmailParams(Model):
    domain: Literal["map", "keep"] = Field(
        "map", description="map: pseudonymise the domain and end it in .example; keep: as is"
    )
    style: Literal["realistic", "format"] = Field(
        "realistic",
        description="realistic: name-shaped local parts to other names, mail providers to "
        "look-alikes; format: every local part pseudonymised with its format kept",
    )


def _strings(offsets: np.ndarray, data: np.ndarray) -> pa.StringArray:
    return pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))


def split_last(arr: pa.StringArray, sep: str) -> tuple[pa.StringArray, pa.StringArray]:
    """Each value cut before its last `sep`: (head, tail starting with sep, or '' without one).
    Nulls come out as empty strings."""
    offsets, data = string_buffers(arr)
    offsets = (offsets - offsets[0]).astype(np.int64)
    hits = np.flatnonzero(data == ord(sep))
    last = np.searchsorted(hits, offsets[1:]) - 1  # the last hit before each row's end
    cut = hits[np.maximum(last, 0)] if len(hits) else offsets[1:]
    cut = np.where((last >= 0) & (cut >= offsets[:-1]), cut, offsets[1:])
    head = _strings(*addresses.slices(data, offsets[:-1], cut))
    return head, _strings(*addresses.slices(data, cut, offsets[1:]))


@register
class Email(Strategy):
    """Email addresses. The letters and digits of the local part are pseudonymised (dots, plus
    signs and the like stay) or, with `style: realistic`, a name-shaped local part
    (first.last1984: a first name, one of . _ -, a last name, up to 8 digits) becomes another
    such name; the domain is kept, or mapped: a mail provider's to its look-alike under
    example.com (realistic), others pseudonymised under the reserved .example TLD (.example.net
    beside a masked name). A local part or domain with fewer than SEPARATE letters and digits
    (jo@..., ...@x.io) is too short for a pseudonym of its own: it is pseudonymised together
    with the next SEPARATE-n characters of the other side (or, in a short address, with all of
    it), so such a domain maps differently per address; with the domain kept, the local part is
    pseudonymised alone: a short one of letters and digits only is widened (it may change
    length), one with dots or the like refused. Unique inputs give unique, valid outputs."""

    name = "email"
    Params = EmailParams
    types = ("string",)
    bijective = True
    # the style decides which rows get which mapping, not the mappings: both share one domain
    presentation = ("style",)
    summary: ClassVar[str] = "name-shaped local parts to names, others pseudonymised; domain mapped"

    @property
    def names(self) -> NameShape | None:
        if self.p.style != "realistic":
            return None
        return NameShape(Pseudonymizer(self.key, self.domain() + "/names"))

    def part_fpe(self, part: str) -> Pseudonymizer:
        """The pseudonymizer of one part of the addresses (local, unit, rest, domain), kept
        for the column like Strategy.fpe: FF1's per-length constants (ten CBC-MACs each) are
        then set up once, not again for every chunk of rows."""
        kept = self.__dict__.setdefault("_part_fpe", {})
        if part not in kept:
            kept[part] = Pseudonymizer(self.key, self.domain() + "/" + part)
        return kept[part]

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        arr = as_string(lower(values))
        if self.p.domain == "keep":
            return with_nulls_of(self.keep_domain(arr), arr)
        if len(arr) <= CHUNK_ROWS:
            return self.mask_addresses(arr)
        # a row's mask depends on its value alone: in chunks, the working arrays stay in cache
        chunks = range(0, len(arr), CHUNK_ROWS)
        return pa.concat_arrays(
            [self.mask_addresses(as_string(arr.slice(lo, CHUNK_ROWS))) for lo in chunks]
        )

    def mask_addresses(self, arr: pa.StringArray) -> pa.StringArray:
        """The addresses of `arr` (lower case, offset 0) masked, the domain mapped."""
        # One copy of the bytes, permuted in place: each row's local part (its letters and
        # digits before the last '@'), or for a short address its pieces (joined()); then the
        # addresses are put together again with their masked names and mapped domains.
        offsets, data = string_buffers(arr)
        offsets = offsets - offsets[0] if offsets[0] else offsets
        names = self.names
        member = table(TABLES[LOWERED].member)
        parser = names.parser if names is not None else None
        cut, n_local, n_domain, codes, first, group, value = addresses.split_all(
            data, offsets, member, parser
        )
        if names is None:
            group = np.full(len(arr), -1, dtype=np.int16)
        valid = pc.is_valid(arr).to_numpy(False) if arr.null_count else np.ones(len(arr), bool)
        domains = _strings(*addresses.slices(data, cut[first], offsets[first + 1]))
        plain, beside_names, provider = self.map_domains(domains)
        # every path keeps the lengths that decide it, or ends its domain its own way: the
        # images of two paths never meet, and within a path the pieces are permuted apart;
        # name-shaped ones go NAMED with a provider or long enough to be told from joined()
        split_rows = (cut, offsets[1:], n_local, n_domain, codes, group)
        kind = addresses.route(split_rows, provider, valid, (SEPARATE, len(plain)))
        apart = np.flatnonzero(kind == addresses.SEPARATE)
        local = self.part_fpe("local")
        local.permute(data, offsets, apart, 0, n_domain[apart], LOWERED)
        todo = apart if names is not None else apart[:0]
        while len(todo):  # a pseudonym with the name shape could meet a masked name: again
            todo = todo[names.find(data, offsets[todo], cut[todo])[0]]
            local.permute(data, offsets, todo, 0, n_domain[todo], LOWERED)
        short = np.flatnonzero(kind == addresses.JOINT)
        widened = self.joined(data, offsets, short, n_local, n_domain)
        if widened is not None:
            kind[widened[0]] = addresses.EMPTY
        m_off, m_data = string_buffers(pa.concat_arrays([plain, beside_names]))
        if names is not None:
            names.masked(value, group)
        rendered = (names.names, value, group) if names is not None else _no_names()
        tld = np.frombuffer(b"." + RESERVED_TLD.encode(), dtype=np.uint8)
        mapped = (m_off - m_off[0], np.concatenate([m_data, np.zeros(8, np.uint8)]))
        rows = (data, offsets, cut, kind, codes)
        out = _strings(*addresses.assembled(rows, mapped, rendered, tld))
        if widened is not None:  # short values of letters and digits only, no '@': widened
            out = replace_rows(out, *widened)
        return with_nulls_of(out, arr)

    def keep_domain(self, arr: pa.StringArray) -> pa.StringArray:
        """With the domain kept: the local part masked alone, then the domain as is."""
        local, suffix = split_last(arr, "@")
        fpe = self.part_fpe("local")
        names = self.names
        if names is None:
            return pc.binary_join_element_wise(fpe.strings(local, LOWERED), suffix, "")
        offsets, data = string_buffers(local)
        offsets = offsets - offsets[0]
        named, parts = names.find(data, offsets[:-1], offsets[1:])
        rest = np.flatnonzero(~named)
        out = fpe.strings(local.take(pa.array(rest)), LOWERED)
        todo = np.arange(len(rest))
        while len(todo):  # a pseudonym with the name shape could meet a masked name: again
            o_off, o_data = string_buffers(out)
            o_off = o_off - o_off[0]
            todo = todo[names.find(o_data, o_off[todo], o_off[todo + 1])[0]]
            out = replace_rows(out, todo, fpe.strings(out.take(pa.array(todo)), LOWERED))
        order = np.argsort(np.concatenate([rest, np.flatnonzero(named)]), kind="stable")
        local = pa.concat_arrays([out, names.mask(parts)]).take(pa.array(order))
        return pc.binary_join_element_wise(local, suffix, "")

    def joined(self, data, offsets, rows, n_local, n_domain) -> tuple | None:
        """Addresses with a short side, in place: the short side and the nearest SEPARATE-n
        characters of the other side as one value, the rest of the long side as another; or,
        when both sides have fewer than 2 * SEPARATE together, the whole address as one value
        (their domains then end in .example). A whole one of letters and digits only (no '@')
        and too short is widened instead: (its rows, their pseudonyms), or None."""
        if not len(rows):
            return None
        total = n_local[rows] + n_domain[rows]
        whole = total < 2 * SEPARATE
        first = ~whole & (n_local[rows] < SEPARATE)  # the unit: the first SEPARATE characters
        last = ~whole & ~first  # the unit: the last SEPARATE characters
        rest = total - SEPARATE
        skipped = np.ones(len(offsets) - 1, dtype=bool)
        skipped[rows[whole]] = False
        band, _ = band_rows(data, offsets, skipped, TABLES[LOWERED])
        unit = self.part_fpe("unit")
        widened = None
        if band.any():
            these = np.flatnonzero(band)
            values = _strings(*addresses.slices(data, offsets[these], offsets[these + 1]))
            widened = these, unit.strings(values, LOWERED)
            keep = ~band[rows]
            rows, total, whole, first, last, rest = (
                x[keep] for x in (rows, total, whole, first, last, rest)
            )
        unit.permute(
            data, offsets, rows, np.where(last, rest, 0), np.where(first, rest, 0), LOWERED
        )
        other = self.part_fpe("rest")
        head = np.where(whole, total, np.where(first, SEPARATE, 0))
        other.permute(data, offsets, rows, head, np.where(last, SEPARATE, 0), LOWERED)
        return widened

    def map_domains(self, suffixes: pa.StringArray) -> tuple:
        """Per distinct '@domain' (or ''): its mapped form beside a pseudonymised local part and
        beside a masked name, and whether it is a provider's (realistic). '@shop.co.uk' ->
        '@xqtb.ka.lm.example' (every label pseudonymised, so distinct domains stay distinct; a
        masked name's ends in .example.net instead), '@gmail.com' -> '@gmail.example.com'. Only
        domains long enough for a pseudonym of their own are pseudonymised: no row uses the
        others' mapped form."""
        domains = pc.utf8_slice_codeunits(suffixes, 1)
        looks = pa.array(list(PROVIDERS.values()), pa.string())
        at = pc.index_in(domains, value_set=pa.array(list(PROVIDERS), pa.string()))
        if self.p.style != "realistic":
            at = pa.nulls(len(domains), pa.int32())
        provider = pc.is_valid(at).to_numpy(False)
        offsets, data = string_buffers(suffixes)
        member = table(TABLES[LOWERED].member)
        n_domain = addresses.split_all(data, offsets - offsets[0], member)[2]
        long_ = np.flatnonzero((n_domain >= SEPARATE) & ~provider)
        mapped = self.part_fpe("domain").strings(
            domains.take(pa.array(long_)), LOWERED, widen=False
        )
        look = pc.binary_join_element_wise("@", looks.take(at), f".{RESERVED_TLD}.com", "")
        out = []
        for tld in (f".{RESERVED_TLD}", f".{RESERVED_TLD}.net"):
            pseudonym = np.full(len(domains), len(long_))  # '' for every other domain
            pseudonym[long_] = np.arange(len(long_))
            forms = pc.binary_join_element_wise("@", mapped, tld, "")
            forms = pa.concat_arrays([as_string(forms), pa.array([""], pa.string())])
            out.append(pc.coalesce(look, forms.take(pa.array(pseudonym))))
        return out[0], out[1], provider
