"""PII detection: does a column look personal, by its name and by a sample of its values?

Name evidence comes from token patterns on the normalised column name, gated by the logical
type (a bool `email_verified` is no email). Value evidence is the share of non-empty sampled
values matching a format (emails, phones, Luhn-valid cards, mod-97 IBANs, SSNs, IPs), found in
the locales' Faker name lists, implying plausible ages, or embedding contact data in free text.
Both combine as a noisy-or, so agreement lifts the larger one. Reasons carry shares and counts,
never sampled values.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.core.types import LogicalType
from tdm.generators.pools import provider_values
from tdm.masking.pii.names import CATEGORIES, INFO, name_evidence


@dataclass(frozen=True)
class Finding:
    category: str  # one of CATEGORIES
    confidence: float  # 0..1
    reason: str  # human-readable; never contains sampled values
    by: str  # "name", "values" or "name+values"


# ---- by values ------------------------------------------------------------------------------

MIN_VALUES = 10  # value-only findings need at least this many non-empty values
_MAX_SAMPLE = 5000
_EMAIL = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_V4 = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_H = r"[0-9A-Fa-f]{1,4}"
_NET = r"(/\d{1,3})?"  # inet / cidr values carry a prefix length
_IP = (
    rf"^({_V4}\.){{3}}{_V4}{_NET}$|^({_H}:){{7}}{_H}{_NET}$"
    rf"|^(({_H}:){{0,6}}{_H})?::(({_H}:){{0,6}}{_H})?{_NET}$"
)
_SSN = r"\d{3}-\d{2}-\d{4}"
_PHONE_IN_TEXT = (
    r"(^|[\s(:;,])(\+\d{1,3}[\s.-]?)?\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,5}($|[\s).,;:!?])"
)
_DATE = r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
_NOT_PHONE = rf"^({_SSN}|\d+\.\d+|{_DATE})$"
_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)
_B36 = {ord(c): str(i) for i, c in enumerate(string.digits + string.ascii_uppercase)}
# category: (what matching values are, minimum share, highest confidence by values alone)
_VALUES: dict[str, tuple[str, float, float]] = {
    "email": ("are email addresses", 0.1, 0.98),
    "phone": ("are phone numbers", 0.2, 0.9),
    "credit_card": ("are Luhn-valid card numbers", 0.3, 0.98),
    "iban": ("are valid IBANs", 0.1, 0.98),
    "national_id": ("are SSN-like (###-##-####)", 0.1, 0.95),
    "ip_address": ("are IP addresses", 0.1, 0.95),
    "first_name": ("are first names of the locales", 0.3, 0.95),
    "last_name": ("are last names of the locales", 0.3, 0.95),
    "full_name": ("are person names of the locales", 0.3, 0.95),
}
# formats values of a column so named should show: a name without them is halved
_DEMOTE = ("email", "phone", "credit_card", "iban", "ip_address", "full_name")


def _strings(sample: pa.Array) -> pa.Array | None:
    """Trimmed non-empty values of a string-like sample (at most _MAX_SAMPLE, evenly spaced)."""
    t = sample.type
    if pa.types.is_dictionary(t):
        sample, t = sample.dictionary_decode(), t.value_type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)):
        return None
    values = pc.utf8_trim_whitespace(sample.drop_null().cast(pa.string()))
    values = values.filter(pc.greater(pc.utf8_length(values), 0))
    if len(values) > _MAX_SAMPLE:
        values = values.take(np.linspace(0, len(values) - 1, _MAX_SAMPLE).astype(np.int64))
    return values


def _m(values: pa.Array, regex: str) -> np.ndarray:
    return pc.match_substring_regex(values, regex).to_numpy(zero_copy_only=False)


def _luhn(digits: list[str]) -> np.ndarray:
    if not digits:
        return np.zeros(0, dtype=bool)
    d = np.frombuffer("".join(s.rjust(19, "0") for s in digits).encode(), np.uint8)
    d = d.reshape(-1, 19).astype(np.int64) - 48
    total = d[:, 0::2].sum(axis=1) + _DOUBLED[d[:, 1::2]].sum(axis=1)
    return (total % 10 == 0) & (d.sum(axis=1) > 0)


@cache
def _pool(locales: tuple[str, ...], attribute: str) -> pa.Array:
    """Lowercased Faker names ('first_names', 'last_names') over the locales."""
    found = []
    for loc in locales:
        for attr in (attribute, f"{attribute}_male", f"{attribute}_female"):
            try:
                found.append(provider_values(loc, attr))
            except (LookupError, AttributeError):
                continue
            if attr == attribute:
                break
    return pc.unique(pc.utf8_lower(pa.concat_arrays(found))) if found else pa.array([], pa.string())


def _names(low: pa.Array, locales: tuple[str, ...]) -> dict[str, np.ndarray]:
    first, last = _pool(locales, "first_names"), _pool(locales, "last_names")
    toks = pc.utf8_split_whitespace(low)
    flat = pc.utf8_trim(pc.list_flatten(toks), characters=".,")
    parent = pc.list_parent_indices(toks).to_numpy()
    n, ntok = len(low), pc.list_value_length(toks).to_numpy()
    nf = np.bincount(parent, pc.is_in(flat, value_set=first).to_numpy(False), n)
    nl = np.bincount(parent, pc.is_in(flat, value_set=last).to_numpy(False), n)
    full = (ntok >= 2) & (ntok <= 5) & (nf >= 1) & (nl >= 1) & (nf + nl >= 2)
    return {
        "first_name": (ntok == 1) & (nf == 1),
        "last_name": (ntok == 1) & (nl == 1),
        "full_name": full,
    }


def _matches(values: pa.Array, locales: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per category, which values match its format."""
    base = pc.replace_substring_regex(values, r"\s*(x|ext\.?)\s*\d{1,5}$", "")  # extension
    digits = pc.count_substring_regex(base, r"\d").to_numpy()
    phone = _m(base, r"^(\+|00)?[\d\s().\-/]{6,}\d$") & (digits >= 7) & (digits <= 15)
    phone &= ~_m(values, _NOT_PHONE) & ~_m(values, _IP)
    phone &= ~_m(values, r"^\d+$") | ((digits >= 10) & (digits <= 12))
    stripped = pc.replace_substring_regex(values, r"[ -]", "").to_pylist()
    card = _m(values, r"^\d[\d -]{10,22}\d$") & (digits >= 12) & (digits <= 19)
    card[card] = _luhn([stripped[i] for i in np.flatnonzero(card)])
    upper = [s.upper() for s in stripped]
    iban = _m(pa.array(upper, pa.string()), r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
    for i in np.flatnonzero(iban):
        iban[i] = int((upper[i][4:] + upper[i][:4]).translate(_B36)) % 97 == 1
    out = {
        "email": _m(values, f"^{_EMAIL}$"),
        "phone": phone,
        "credit_card": card,
        "iban": iban,
        "national_id": _m(values, f"^{_SSN}$"),
        "ip_address": _m(values, _IP),
    }
    return out | _names(pc.utf8_lower(values), locales)


def _curve(share: float, top: float) -> float:
    return min(top, float(np.interp(share, [0.1, 0.3, 0.5, 0.8, 1.0], [0.3, 0.5, 0.7, 0.9, 0.98])))


def _pct(k: int, n: int, what: str = "values") -> str:
    pct = 100 * int(k) // n
    return f"{pct if pct or not k else '<1'}% of {n:,} sampled {what}"


def _dob(sample: pa.Array, today: dt.date) -> tuple[float, str, int, float] | None:
    """Confidence by ages implied by a date / timestamp / ISO-date-string sample."""
    values = sample.drop_null()
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
        values = pc.utf8_slice_codeunits(values.filter(_m(values, r"^\d{4}-\d\d-\d\d")), 0, 10)
    try:
        days = values.cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not len(days):
        return None
    ages = (today.toordinal() - dt.date(1970, 1, 1).toordinal() - days) / 365.2425
    adult, alive = ((ages >= 18) & (ages <= 90)).sum(), ((ages >= 0) & (ages <= 110)).sum()
    if adult >= 0.8 * len(ages):
        return 0.95, f"{_pct(adult, len(ages), 'dates')} imply ages 18-90", len(ages), 1.0
    conf = 0.85 if alive >= 0.95 * len(ages) else 0.0
    return conf, f"{_pct(alive, len(ages), 'dates')} imply ages 0-110", len(ages), 1.0


def _evidence(
    by_name: dict, kind: str, sample: pa.Array | None, locales: tuple[str, ...], today: dt.date
) -> dict[str, tuple[float, str, int, float]]:
    """Per category: (confidence by values, reason part, values seen, share), misses included."""
    out: dict[str, tuple[float, str, int, float]] = {}
    if sample is None or len(sample) == 0:
        return out
    if "date_of_birth" in by_name and (dob := _dob(sample, today)):
        out["date_of_birth"] = dob
    if kind not in ("string", "json"):
        return out
    values = _strings(sample)
    if values is None or len(values) == 0:
        return out
    n, found = len(values), _matches(values, locales)
    for cat, hits in found.items():
        text, least, top = _VALUES[cat]
        k = int(hits.sum())
        conf = _curve(k / n, top) if k / n >= least else 0.0
        out[cat] = (conf, f"{_pct(k, n)} {text}", n, k / n)
    formatted = np.logical_or.reduce(list(found.values()))  # whole value is one of the formats
    embedded = _m(values, f"{_EMAIL}|{_PHONE_IN_TEXT}|\\b{_SSN}\\b") & ~formatted
    k = int(embedded.sum())
    conf = float(np.interp(k / n, [0, 0.05, 0.3], [0.55, 0.75, 0.95])) if k else 0.0
    out["free_text"] = (conf, f"{_pct(k, n)} contain an email, phone number or SSN", n, k / n)
    return out


def detect_column(
    name: str,
    type: LogicalType,
    sample: pa.Array | None = None,
    locales: tuple[str, ...] = ("en_US",),
    *,
    today: dt.date | None = None,
) -> list[Finding]:
    """Findings for one column, most confident first; [] when nothing looks personal."""
    if isinstance(sample, pa.ChunkedArray):
        sample = sample.combine_chunks()
    by_name = name_evidence(name, type.kind)
    by_values = _evidence(by_name, type.kind, sample, tuple(locales), today or dt.date.today())
    findings = []
    for cat in sorted(by_name.keys() | by_values.keys()):
        cn = by_name.get(cat, 0.0)
        cv, text, n, share = by_values.get(cat, (0.0, "", 0, 0.0))
        said = f"name {name!r} looks like {INFO[cat][0]} column"
        if cn and cv:
            conf, by, reason = 1 - (1 - cn) * (1 - cv), "name+values", f"{said}; {text}"
        elif cn and cat in _DEMOTE and n >= MIN_VALUES and share < 0.05:
            conf, by, reason = cn * 0.5, "name+values", f"{said}, but only {text}"
        elif cn:
            conf, by, reason = cn, "name", said
        elif cv and n >= MIN_VALUES:
            conf, by, reason = cv, "values", text
        else:
            continue
        findings.append(Finding(cat, round(min(conf, 0.99), 3), reason, by))
    return sorted(findings, key=lambda f: (-f.confidence, f.category))


def suggestion(finding: Finding) -> str:
    """The spec line to add, e.g. 'mask: email' or 'mask: {strategy: date_shift, days: 30}'."""
    spec = CATEGORIES[finding.category]
    if len(spec) == 1:
        return f"mask: {spec['strategy']}"
    return "mask: {" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"
