"""The version store on S3-compatible object storage (AWS S3, MinIO), through pyarrow.fs.

TDM_STORE=s3://bucket/prefix. The endpoint comes from TDM_S3_ENDPOINT (else AWS_ENDPOINT_URL_S3,
AWS_ENDPOINT_URL; none: AWS itself), the region from AWS_REGION / AWS_DEFAULT_REGION, the
credentials from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, profiles).
A PUT is atomic (readers see the whole object or none), so objects are written straight to their
final key; the store never creates a bucket.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tdm.core import settings
from tdm.core.errors import TdmError, shorten
from tdm.core.files import PARQUET_OPTIONS
from tdm.store.manifests import MANIFEST

SCHEME = "s3://"
ENDPOINT_VARS = ("TDM_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_HINT = (
    "check TDM_STORE, the endpoint (TDM_S3_ENDPOINT or AWS_ENDPOINT_URL), the credentials "
    "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and that the bucket exists"
)


class ObjectStoreError(TdmError):
    """The object store could not be reached or refused a request (not a damaged version)."""


def is_url(root: object) -> bool:
    """An object-store URL (anything with a scheme), not a directory."""
    return isinstance(root, str) and "://" in root


def store_location() -> str | Path:
    """TDM_STORE when it is an object-store URL (s3://bucket/prefix), else the directory
    (TDM_STORE, or TDM_HOME/store)."""
    named = os.environ.get("TDM_STORE", "")
    return named if is_url(named) else settings.store_root()


class S3Path(PurePosixPath):
    """bucket/prefix/... of an object, shown as s3://bucket/prefix/..."""

    def __str__(self) -> str:
        return SCHEME + super().__str__()

    @property
    def key(self) -> str:
        """The path pyarrow's S3FileSystem takes: bucket/key."""
        return PurePosixPath.__str__(self)


def _parts(text: str, where: str) -> list[str]:
    parts = text.split("/")
    bad = [p for p in parts if p in ("", ".", "..") or "\\" in p or "\0" in p]
    if bad:
        raise TdmError(
            f"{where}: {shorten(text)} is not a plain key path (empty, `.` or `..` "
            "segments); the store reads and writes only inside its prefix"
        )
    return parts


def parse_url(url: str) -> S3Path:
    """s3://bucket/prefix -> S3Path('bucket/prefix'); anything else is a TdmError."""
    if not url.startswith(SCHEME):
        scheme = url.split("://", 1)[0]
        raise TdmError(
            f"TDM_STORE {shorten(url)}: the version store takes a directory or s3://bucket/prefix "
            f"(S3, MinIO), not {scheme}://"
        )
    parts = urlsplit(url)
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise TdmError(
            f"TDM_STORE {shorten(url)}: write s3://bucket/prefix only; the endpoint and the "
            "credentials come from the environment (TDM_S3_ENDPOINT, AWS_*), never the URL"
        )
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if not _BUCKET.fullmatch(bucket):
        raise TdmError(
            f"TDM_STORE {shorten(url)} names no valid bucket: write s3://bucket/prefix (a bucket "
            "name is 3-63 lower-case letters, digits, dots and hyphens)"
        )
    return S3Path(bucket, *(_parts(prefix, f"TDM_STORE {shorten(url)}") if prefix else []))


def filesystem() -> pafs.S3FileSystem:
    """An S3FileSystem configured from the environment (no request is made yet)."""
    endpoint = next((os.environ[v] for v in ENDPOINT_VARS if os.environ.get(v)), None)
    options: dict = {
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None,
        "allow_bucket_creation": False,
        "allow_bucket_deletion": False,
        "connect_timeout": 5,
        "request_timeout": 60,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=3),
    }
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TdmError(f"S3 endpoint {shorten(endpoint)} is not http(s)://host[:port]")
        options.update(endpoint_override=parts.netloc, scheme=parts.scheme)
        options["region"] = options["region"] or "us-east-1"  # MinIO and the like ignore it
    return pafs.S3FileSystem(**{k: v for k, v in options.items() if v is not None})


class S3Files:
    """The store's objects under s3://bucket/prefix. Paths are built from checked names; a
    segment that could climb out of the prefix (`..`, `.`, empty) is refused."""

    local = False

    def __init__(self, url: str):
        self.root = parse_url(url)
        self._fs: pafs.S3FileSystem | None = None

    @property
    def fs(self) -> pafs.S3FileSystem:
        if self._fs is None:
            with self._errors("connect to", self.root):
                self._fs = filesystem()
        return self._fs

    @contextlib.contextmanager
    def _errors(self, action: str, path: S3Path) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise
        except (OSError, pa.ArrowException) as e:
            message = f"cannot {action} {path}: {shorten(str(e), 300)}; {_HINT}"
            raise ObjectStoreError(message) from None

    def path(self, *parts: str) -> S3Path:
        segments = [s for part in parts for s in _parts(part, str(self.root))]
        return self.root.joinpath(*segments)  # type: ignore[return-value]

    def _info(self, path: S3Path) -> pafs.FileInfo:
        with self._errors("read", path):
            return self.fs.get_file_info(path.key)

    def exists(self, path: S3Path) -> bool:
        return self._info(path).type == pafs.FileType.File

    is_file = exists

    def size(self, path: S3Path) -> int:
        info = self._info(path)
        if info.type != pafs.FileType.File:
            raise FileNotFoundError(2, "no such object", str(path))
        return info.size

    def read_bytes(self, path: S3Path) -> bytes:
        with self._errors("read", path), self.fs.open_input_stream(path.key) as f:
            return f.read()

    def read_text(self, path: S3Path, errors: str = "strict") -> str:
        return self.read_bytes(path).decode("utf-8", errors=errors)

    def write_bytes(self, path: S3Path, data: bytes) -> None:
        """One PUT to the final key: readers see the whole object or none."""
        with self._errors("write", path), self.fs.open_output_stream(path.key) as f:
            f.write(data)

    def write_text(self, path: S3Path, text: str) -> None:
        self.write_bytes(path, text.encode("utf-8"))

    def write_parquet(self, path: S3Path, data: pa.Table) -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(data, sink, **PARQUET_OPTIONS)
        self.write_bytes(path, sink.getvalue().to_pybytes())

    def describe(self, path: S3Path) -> tuple[int, int, str]:
        """A batch object's rows, bytes and sha256 (one download)."""
        data = self.read_bytes(path)
        rows = pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows
        return rows, len(data), hashlib.sha256(data).hexdigest()

    def sha256(self, path: S3Path) -> str:
        h = hashlib.sha256()
        with self._errors("read", path), self.fs.open_input_stream(path.key) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()

    def children(self, base: S3Path) -> list[str]:
        """The names of the 'directories' (common prefixes) in `base`."""
        with self._errors("list", base):
            found = self.fs.get_file_info(pafs.FileSelector(base.key, allow_not_found=True))
        return [i.base_name for i in found if i.type == pafs.FileType.Directory]

    def sealed(self, base: S3Path) -> list[str]:
        """The names of the 'directories' of `base` holding a manifest, sorted."""
        return [n for n in sorted(self.children(base)) if self.exists(base / n / MANIFEST)]
