"""A request body written to the store's staging area while its digests are computed, then
checked against what the client declared: the signed SHA-256, Content-MD5 and the
``x-amz-checksum-*`` value, as S3 checks them."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from collections.abc import AsyncIterator, Mapping

from videoforge.stack.objectstore.store import Staged, Store, StoreError
from videoforge.stack.sigv4 import UNSIGNED_PAYLOAD

# The largest single PUT S3 accepts: 5 GiB (S3 User Guide, "Uploading objects").
MAX_PUT_BYTES = 5 * 1024**3


def _crc32(crc: int) -> str:
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


async def receive(store: Store, chunks: AsyncIterator[bytes], headers: Mapping[str, str],
                  *, signed_payload: str) -> Staged:
    """Write the body to a staged file; raise :class:`StoreError` if it is not what the
    client signed or declared (the staged file is then removed)."""
    if signed_payload.startswith("STREAMING-") or "aws-chunked" in headers.get(
            "content-encoding", ""):
        raise StoreError(501, "NotImplemented",
                         "aws-chunked uploads are not supported by the local object store")
    path, out = store.stage()
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256() if signed_payload != UNSIGNED_PAYLOAD else None
    crc = 0
    size = 0
    try:
        with out:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_PUT_BYTES:
                    raise StoreError(400, "EntityTooLarge",
                                     "Your proposed upload exceeds the maximum allowed size")
                out.write(chunk)
                md5.update(chunk)
                crc = zlib.crc32(chunk, crc)
                if sha is not None:
                    sha.update(chunk)
            out.flush()
            os.fsync(out.fileno())
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) != size:
            raise StoreError(400, "IncompleteBody",
                             "You did not provide the number of bytes specified by the "
                             "Content-Length HTTP header")
        if sha is not None and sha.hexdigest() != signed_payload:
            raise StoreError(400, "XAmzContentSHA256Mismatch",
                             "The provided 'x-amz-content-sha256' header does not match "
                             "what was computed.")
        content_md5 = headers.get("content-md5")
        if content_md5 and content_md5 != base64.b64encode(md5.digest()).decode():
            raise StoreError(400, "BadDigest",
                             "The Content-MD5 you specified did not match what we received.")
        checksum = headers.get("x-amz-checksum-crc32")
        if checksum and checksum != _crc32(crc):
            raise StoreError(400, "BadDigest",
                             "The CRC32 you specified did not match the calculated checksum.")
    except BaseException:
        store.discard(path)
        raise
    return Staged(path, size, md5.digest())
