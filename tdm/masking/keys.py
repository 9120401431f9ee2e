"""The masking key: read from the environment, never logged or stored; only its fingerprint is.

Purpose keys are derived from the master key with HMAC-SHA256, so the AES key of the
format-preserving permutations, the HMAC key of keyed hashes and the fingerprint are unrelated.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

from tdm.core.errors import TdmError

ENV_VAR = "TDM_MASKING_KEY"
MIN_LENGTH = 16
# A fixed, public key for demos only: anything masked with it can be reversed by anyone.
DEV_KEY = b"tdm-insecure-development-key-do-not-use"


@dataclass(frozen=True)
class MaskingKey:
    _secret: bytes = field(repr=False)
    dev: bool = False

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"MaskingKey(fingerprint={self.fingerprint!r}, dev={self.dev})"

    __str__ = __repr__

    def derive(self, purpose: str) -> bytes:
        return hmac.new(self._secret, f"tdm/{purpose}".encode(), hashlib.sha256).digest()

    @property
    def fingerprint(self) -> str:
        """Identifies the key in manifests and version ids without revealing it."""
        return ("dev-" if self.dev else "") + self.derive("fingerprint").hex()[:16]


def key_from_env(allow_dev: bool = False, env: str = ENV_VAR) -> MaskingKey:
    """The key in $TDM_MASKING_KEY; the public dev key only when explicitly allowed."""
    value = os.environ.get(env, "")
    if value:
        if len(value) < MIN_LENGTH:
            raise TdmError(
                f"{env} is too short ({len(value)} characters); use at least "
                f"{MIN_LENGTH}, e.g. `openssl rand -hex 32`"
            )
        if value.encode() == DEV_KEY:  # would pass for a secret key in every manifest
            raise TdmError(
                f"{env} holds the public demo key, which anyone can use to reverse the "
                "masking; set a secret key (`openssl rand -hex 32`), or unset it and pass "
                "--dev-key for a labelled demo run"
            )
        return MaskingKey(value.encode())
    if allow_dev:
        return MaskingKey(DEV_KEY, dev=True)
    raise TdmError(
        f"this dataset masks columns, so it needs a key: set {env} (e.g. "
        f"`export {env}=$(openssl rand -hex 32)`), or pass --dev-key for an insecure "
        "demo key"
    )
