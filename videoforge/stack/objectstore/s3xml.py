"""The XML S3 speaks: documents the local object store answers with, and the request
documents it reads (complete multipart upload, delete objects, CORS rules)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from videoforge.stack.objectstore.store import ObjectInfo, PartInfo, StoreError

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


def iso8601(stamp: float) -> str:
    millis = int(stamp * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{millis:03d}Z"


def http_date(stamp: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(stamp))


def _add(parent: ET.Element, tag: str, value: Any = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if value is not None:
        child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return child


def document(root: str, fields: Iterable[tuple[str, Any]] = ()) -> ET.Element:
    element = ET.Element(root, xmlns=NAMESPACE)
    for tag, value in fields:
        _add(element, tag, value)
    return element


def render(element: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element)


def simple(root: str, **fields: Any) -> bytes:
    element = document(root, fields.items())
    return render(element)


def error(code: str, message: str, resource: str, request_id: str) -> bytes:
    element = ET.Element("Error")
    for tag, value in (("Code", code), ("Message", message), ("Resource", resource),
                       ("RequestId", request_id)):
        _add(element, tag, value)
    return render(element)


def _object(parent: ET.Element, info: ObjectInfo) -> None:
    entry = _add(parent, "Contents")
    for tag, value in (("Key", info.key), ("LastModified", iso8601(info.modified)),
                       ("ETag", info.etag), ("Size", info.size),
                       ("StorageClass", "STANDARD")):
        _add(entry, tag, value)


@dataclass(frozen=True)
class Listing:
    bucket: str
    prefix: str
    delimiter: str
    max_keys: int
    objects: list[ObjectInfo]
    prefixes: list[str]
    truncated: bool
    next_marker: str | None


def list_objects(listing: Listing, *, v2: bool, token: str | None,
                 start_after: str | None, marker: str | None) -> bytes:
    element = document("ListBucketResult", [("Name", listing.bucket),
                                              ("Prefix", listing.prefix)])
    if v2:
        _add(element, "KeyCount", len(listing.objects) + len(listing.prefixes))
        if token:
            _add(element, "ContinuationToken", token)
        if start_after:
            _add(element, "StartAfter", start_after)
    else:
        _add(element, "Marker", marker or "")
    _add(element, "MaxKeys", listing.max_keys)
    if listing.delimiter:
        _add(element, "Delimiter", listing.delimiter)
    _add(element, "IsTruncated", listing.truncated)
    if listing.truncated and listing.next_marker:
        _add(element, "NextContinuationToken" if v2 else "NextMarker", listing.next_marker)
    for info in listing.objects:
        _object(element, info)
    for prefix in listing.prefixes:
        _add(_add(element, "CommonPrefixes"), "Prefix", prefix)
    return render(element)


def list_buckets(buckets: list[tuple[str, float]]) -> bytes:
    element = document("ListAllMyBucketsResult")
    owner = _add(element, "Owner")
    _add(owner, "ID", "videoforge-local")
    _add(owner, "DisplayName", "videoforge-local")
    holder = _add(element, "Buckets")
    for name, created in buckets:
        bucket = _add(holder, "Bucket")
        _add(bucket, "Name", name)
        _add(bucket, "CreationDate", iso8601(created))
    return render(element)


def list_parts(bucket: str, key: str, upload_id: str, parts: list[PartInfo], *,
               marker: int, max_parts: int) -> bytes:
    chosen = [p for p in parts if p.number > marker]
    page, rest = chosen[:max_parts], chosen[max_parts:]
    element = document("ListPartsResult", [
        ("Bucket", bucket), ("Key", key), ("UploadId", upload_id),
        ("PartNumberMarker", marker), ("MaxParts", max_parts), ("IsTruncated", bool(rest))])
    if rest:
        _add(element, "NextPartNumberMarker", page[-1].number)
    for part in page:
        entry = _add(element, "Part")
        for tag, value in (("PartNumber", part.number),
                           ("LastModified", iso8601(part.modified)),
                           ("ETag", part.etag), ("Size", part.size)):
            _add(entry, tag, value)
    return render(element)


def list_uploads(bucket: str, prefix: str, uploads: list[tuple[str, str, float]], *,
                 markers: tuple[str, str], max_uploads: int, truncated: bool) -> bytes:
    element = document("ListMultipartUploadsResult", [
        ("Bucket", bucket), ("KeyMarker", markers[0]), ("UploadIdMarker", markers[1]),
        ("Prefix", prefix), ("MaxUploads", max_uploads), ("IsTruncated", truncated)])
    if truncated and uploads:
        _add(element, "NextKeyMarker", uploads[-1][0])
        _add(element, "NextUploadIdMarker", uploads[-1][1])
    for key, upload_id, created in uploads:
        entry = _add(element, "Upload")
        for tag, value in (("Key", key), ("UploadId", upload_id),
                           ("Initiated", iso8601(created)), ("StorageClass", "STANDARD")):
            _add(entry, tag, value)
    return render(element)


def delete_result(deleted: list[str], quiet: bool) -> bytes:
    element = document("DeleteResult")
    if not quiet:
        for key in deleted:
            _add(_add(element, "Deleted"), "Key", key)
    return render(element)


# --- request documents -------------------------------------------------------------------
def _parse(body: bytes) -> ET.Element:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise StoreError(400, "MalformedXML", "The XML you provided was not well-formed") \
            from None
    for element in root.iter():  # drop namespaces: S3 accepts documents with or without
        element.tag = element.tag.rsplit("}", 1)[-1]
    return root


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    if found is None or found.text is None:
        raise StoreError(400, "MalformedXML", f"{tag} is missing")
    return found.text.strip()


def completed_parts(body: bytes) -> list[tuple[int, str]]:
    root = _parse(body)
    try:
        return [(int(_text(part, "PartNumber")), _text(part, "ETag"))
                for part in root.findall("Part")]
    except ValueError:
        raise StoreError(400, "MalformedXML", "PartNumber must be a number") from None


def delete_keys(body: bytes) -> tuple[list[str], bool]:
    root = _parse(body)
    quiet = (root.findtext("Quiet") or "").strip().lower() == "true"
    return [_text(obj, "Key") for obj in root.findall("Object")], quiet


@dataclass(frozen=True)
class CorsRule:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    max_age: int | None


def cors_rules(body: bytes) -> list[CorsRule]:
    rules = []
    for rule in _parse(body).findall("CORSRule"):
        def texts(tag: str, rule: ET.Element = rule) -> tuple[str, ...]:
            return tuple((e.text or "").strip() for e in rule.findall(tag))
        age = rule.findtext("MaxAgeSeconds")
        rules.append(CorsRule(texts("AllowedOrigin"), texts("AllowedMethod"),
                              texts("AllowedHeader"), texts("ExposeHeader"),
                              int(age) if age and age.strip().isdigit() else None))
    return rules
