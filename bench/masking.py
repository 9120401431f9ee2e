"""Masking speed: keyed pseudonymisation against a per-value Python HMAC loop, in the same run.

    python bench/masking.py [--rows 1000000] [--names 5000] [--repeat 5] [--only CASE] [--json]

email: `rows` distinct realistic addresses (firstname.lastname + number @ one of a few domains)
through the `email` strategy: realistic (name-shaped local parts to other names, providers to
look-alikes), and with `style: format` (format-preserving local part, domain to *.example).
first_name: `rows` values drawn from `names` distinct first names through `substitute`
(pool: first_name). phone: `rows` distinct numbers of seven countries (US, GB, DE, FR, IN, BR,
JP) in mixed international formats through `phone` (valid numbers to valid numbers of the same
country, cycle-walked). The baseline for both is `hmac.new(key, v.encode(), sha256).hexdigest()` per
value over the same Python strings. Everything runs on one core (Arrow's thread pool is set to
one thread; numpy does not thread here). Rates are the best of `repeat` runs, engine and loop
alternating, timed in CPU time of the process (the benchmark machine is shared; --wall times
with the wall clock instead).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import time

import numpy as np
import pyarrow as pa

from tdm.core.types import LogicalType
from tdm.generators.pools import provider_values
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies import STRATEGIES
from tdm.masking.strategies.base import MaskBatch, MaskColumn

KEY = MaskingKey(b"bench-masking-key-0123456789abcdef")
LOCALES = (
    "en_US",
    "en_GB",
    "de_DE",
    "fr_FR",
    "es_ES",
    "it_IT",
    "nl_NL",
    "pl_PL",
    "sv_SE",
    "da_DK",
    "fi_FI",
    "cs_CZ",
    "pt_PT",
    "pt_BR",
    "en_IN",
    "tr_TR",
)
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "example.org", "company.co.uk", "web.de"]


def names(count: int) -> list[str]:
    """`count` distinct first names from Faker's lists (several locales if one is too short)."""
    out: dict[str, None] = {}
    for locale in LOCALES:
        out.update(dict.fromkeys(provider_values(locale, "first_names").to_pylist()))
        if len(out) >= count:
            break
    return list(out)[:count]


def emails(rows: int) -> list[str]:
    rng = np.random.default_rng(7)
    first = [n.lower() for n in provider_values("en_US", "first_names").to_pylist()]
    last = [n.lower() for n in provider_values("en_US", "last_names").to_pylist()]
    f, la, d = (rng.integers(0, len(x), rows) for x in (first, last, DOMAINS))
    parts = enumerate(zip(f, la, d, strict=True))
    return [f"{first[a]}.{last[b]}{i}@{DOMAINS[c]}" for i, (a, b, c) in parts]


# numbers of seven countries in mixed formats: each # a random digit
PHONES = (
    "+1 (212) ###-####",
    "+1-415-###-####",
    "+1646#######",
    "+44 7700 ######",
    "+44 (0)20 #### ####",
    "+49 151 ########",
    "+49(0)30 ########",
    "+33 6 ## ## ## ##",
    "+33 1########",
    "+91 98### #####",
    "+91-70########",
    "+55 11 9####-####",
    "+81 90-####-####",
    "+81 3-####-####",
)


def phones(rows: int) -> list[str]:
    """`rows` distinct numbers, most of them valid, in the formats of PHONES."""
    rng = np.random.default_rng(5)
    out: list[str] = []
    per = -(-rows // len(PHONES))
    for shape in PHONES:
        width = shape.count("#")
        for n in rng.choice(10**width, size=per, replace=False).tolist():
            digits = iter(f"{n:0{width}d}")
            out.append("".join(next(digits) if c == "#" else c for c in shape))
    return out[:rows]


def distinct_emails(args: argparse.Namespace) -> list[str]:
    mails = emails(args.rows)
    assert len(set(mails)) == len(mails)
    return mails


def drawn_first_names(args: argparse.Namespace) -> list[str]:
    pool = names(args.names)
    drawn = np.random.default_rng(11).integers(0, len(pool), args.rows)
    return [pool[i] for i in drawn]


# case -> (strategy, its parameters, the values it masks for these arguments)
CASES = {
    "email": ("email", {}, distinct_emails),
    "email_format": ("email", {"style": "format"}, distinct_emails),
    "first_name": ("substitute", {"pool": "first_name"}, drawn_first_names),
    "phone": ("phone", {}, lambda args: phones(args.rows)),
}


def engine_run(strategy: str, params: dict, values: pa.Array):
    cls = STRATEGIES[strategy]
    mask = cls(
        cls.Params.model_validate(params), MaskColumn("bench", "c", LogicalType("string")), KEY
    )
    batch = MaskBatch({}, 0)
    mask.apply(values[:1000], batch)  # warm: pools loaded, as in a long run

    def run() -> None:
        out = mask.apply(values, batch)
        assert len(out) == len(values)

    return run


def baseline_run(values: list[str]):
    secret = KEY.derive("bench")

    def run() -> None:
        for v in values:
            hmac.new(secret, v.encode(), hashlib.sha256).hexdigest()

    return run


def measure(strategy: str, params: dict, values: list[str], repeat: int, clock) -> dict:
    runs = {
        "engine": engine_run(strategy, params, pa.array(values, pa.string())),
        "baseline": baseline_run(values),
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            started = clock()
            run()
            best[name] = min(best[name], clock() - started)
    engine, baseline = len(values) / best["engine"], len(values) / best["baseline"]
    return {
        "engine_values_per_s": round(engine),
        "baseline_values_per_s": round(baseline),
        "ratio": round(engine / baseline, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--names", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--wall", action="store_true", help="time with the wall clock, not CPU time")
    p.add_argument("--only", choices=CASES, action="append", help="run this case (repeatable)")
    args = p.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    chosen = args.only or list(CASES)
    result = {}
    for case in CASES:
        if case in chosen:
            strategy, params, values = CASES[case]
            result[case] = measure(strategy, params, values(args), args.repeat, clock)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, what in (
        ("email", f"{args.rows:,} distinct emails, strategy email (realistic)"),
        ("email_format", f"{args.rows:,} distinct emails, email with style: format"),
        ("first_name", f"{args.rows:,} rows of {args.names:,} first names, substitute"),
        ("phone", f"{args.rows:,} distinct phone numbers of 7 countries, phone"),
    ):
        if name not in result:
            continue
        r = result[name]
        print(
            f"{name:<12}: engine {r['engine_values_per_s']:>11,} values/s, HMAC loop "
            f"{r['baseline_values_per_s']:>10,} values/s, {r['ratio']:>5.1f}x  ({what})"
        )


if __name__ == "__main__":
    main()
