"""Passwords in database URLs, found by parsing the URL (never by a pattern over text).

The rule, for `scheme://user:password@host...` as users paste it (raw reserved characters and all):
after `://`, the userinfo ends at the LAST `@`, unless that `@` is in a `key=value` option after
the first `?` or `#` (`?appName=a@b`) and there is an `@` before that `?`/`#`: then at the last
`@` before it. The user runs up to the first `:` of the userinfo, the password is the rest
(possibly empty). No `://`, no `@`, no `:` in the userinfo, or a path right after `://`
(`sqlite:///file`): no password. Left ambiguous: a password holding `@`, then `?`/`#`, then a
`key=value`-looking text (`p@a?b=c`); percent-encode such passwords.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
_SEPARATORS = "@/:"
MIN_SECRET = 3  # shorter fragments are not scrubbed from free text: they would mangle it


def scheme_of(url: str) -> str:
    """The scheme of `url` without its driver: 'postgresql' for postgresql+psycopg://...,
    'mongodb' for mongodb+srv://...; as written (case kept), all of `url` when it has no ':'."""
    return url.split(":", 1)[0].split("+", 1)[0]


def _password_span(url: str) -> tuple[int, int] | None:
    """Where the password is in `url`: [start, end), or None when it has none."""
    after = url.find("://")
    if after < 0:
        return None
    start = after + 3
    rest = url[start:]
    if rest.startswith("/"):  # no authority: sqlite:///path, file:///dir
        return None
    at = rest.rfind("@")
    if at < 0:
        return None
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    if cut < at:
        before = rest.rfind("@", 0, cut)
        option = re.split("[?&]", rest[:at])[-1]
        if before >= 0 and "=" in option:  # the last "@" is in a ?key=value option
            at = before
    colon = rest.find(":", 0, at)
    if colon < 0:
        return None
    return start + colon + 1, start + at


def password_of(url: str) -> str | None:
    """The password of `url` as written (still percent-encoded), or None."""
    span = _password_span(url)
    return None if span is None else url[span[0] : span[1]]


def hide_password(url: str) -> str:
    """`url` with its password replaced by `***`; everything else, the user included, as is."""
    span = _password_span(url)
    return url if span is None else url[: span[0]] + MASK + url[span[1] :]


def secrets_of(url: str) -> set[str]:
    """The texts to scrub from messages about `url`: its password as written, percent-decoded
    and as SQLAlchemy's make_url reads it (which differs for a raw `@`), and the fragments of
    these around each `@`, `/` and `:` that are at least MIN_SECRET long, since a driver may echo
    the part a misparse took for the host (e.g. `ssXq1@127.0.0.1` of `alice:p@ssXq1@127.0.0.1`).
    """
    password = password_of(url)
    whole = {password, unquote(password)} if password else set()
    try:
        from sqlalchemy.engine import make_url

        whole.add(make_url(url).password or "")
    except Exception:  # not a URL SQLAlchemy reads: the parse above is all there is
        pass
    whole.discard("")
    pieces = set()
    for secret in whole:
        pieces.update(re.split(f"[{_SEPARATORS}]", secret))
        for i, char in enumerate(secret):
            if char in _SEPARATORS:
                pieces.update((secret[:i], secret[i + 1 :]))
    return whole | {p for p in pieces if len(p) >= MIN_SECRET}


def without_secret(text: str, url_or_password: str) -> str:
    """`text` (a URL or a driver's message) with the password hidden wherever it appears.

    Pass the URL (anything with `://`): then every form of its password is scrubbed, see
    secrets_of. A bare password is still accepted (its plain and decoded forms).
    """
    if "://" in url_or_password:
        text = text.replace(url_or_password, hide_password(url_or_password))
        secrets = secrets_of(url_or_password)
    else:
        secrets = {url_or_password, unquote(url_or_password)} - {""}
    # Longest first, so no tail of a long secret survives a shorter one's replacement. Short
    # secrets are replaced only as the userinfo of a URL (`:pw@`): anywhere else they would
    # mangle the message, and a 1-2 character password is no secret worth that. Case is
    # ignored: drivers lowercase host names, and a misparsed URL puts password text there.
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(f":{secret}@", f":{MASK}@")
        if len(secret) >= MIN_SECRET:
            text = re.sub(re.escape(secret), MASK, text, flags=re.IGNORECASE)
    return text
