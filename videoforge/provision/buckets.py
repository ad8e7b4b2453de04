"""The upload and media buckets: private (public access blocked), encrypted at rest
(SSE-S3, or SSE-KMS with a given key), CORS for the browser, and a lifecycle on uploads
and on the media bucket's chunk work prefix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from common.storage import UPLOADS_PREFIX, WORK_PREFIX
from videoforge.provision.results import Changes, ProvisionError, Result, error_code

_BLOCK_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
              "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
# The CORS preflight answer may be cached this long by browsers.
_CORS_MAX_AGE_S = 3600
_UPLOADS_RULE_ID = "expire-uploads"
_WORK_RULE_ID = "expire-chunk-work"
# A chunked job runs for hours, not days: its work prefix older than this is a leftover.
_WORK_EXPIRY_DAYS = 7
_EXPOSED_HEADERS = ("ETag", "Content-Length", "Content-Range")


@dataclass(frozen=True)
class BucketSpec:
    name: str
    kms_key_id: str | None = None                 # None: SSE-S3
    cors_methods: tuple[str, ...] = ()            # () : no CORS
    cors_origins: tuple[str, ...] = ()
    expire_prefix: str | None = None              # lifecycle: objects under it expire…
    expire_days: int = 7                          # …after this many days
    expire_rule_id: str = _UPLOADS_RULE_ID
    abort_multipart_days: int = 1                 # stale multipart uploads are aborted


def cors_rules(spec: BucketSpec) -> list[dict[str, Any]] | None:
    if not spec.cors_methods:
        return None
    # ETag must be readable: a browser completing a multipart upload sends every
    # part's ETag back. Players read the length and range of what they fetch.
    return [{"AllowedOrigins": list(spec.cors_origins), "AllowedMethods": list(spec.cors_methods),
             "AllowedHeaders": ["*"], "ExposeHeaders": list(_EXPOSED_HEADERS),
             "MaxAgeSeconds": _CORS_MAX_AGE_S}]


def lifecycle_rules(spec: BucketSpec) -> list[dict[str, Any]] | None:
    if spec.expire_prefix is None:
        return None
    return [{"ID": spec.expire_rule_id, "Status": "Enabled",
             "Filter": {"Prefix": spec.expire_prefix},
             "Expiration": {"Days": spec.expire_days},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": spec.abort_multipart_days}}]


def _encryption(spec: BucketSpec) -> dict[str, Any]:
    default: dict[str, Any] = {"SSEAlgorithm": "AES256"}
    if spec.kms_key_id:
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": spec.kms_key_id}
    # Bucket keys cut KMS requests (and cost) for SSE-KMS; meaningless but harmless for SSE-S3.
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": default,
                       "BucketKeyEnabled": bool(spec.kms_key_id)}]}


def _read(call: Any, missing: str, key: str, **kwargs: Any) -> Any:
    """A bucket sub-resource, or None where S3 says it is not configured."""
    try:
        return call(**kwargs)[key]
    except ClientError as exc:
        if error_code(exc) == missing:
            return None
        raise


# --- normal forms: what S3 returns differs in order and defaults from what we put ------
def _norm_encryption(config: dict[str, Any] | None) -> Any:
    if not config:
        return None
    rule = config["Rules"][0]
    default = rule["ApplyServerSideEncryptionByDefault"]
    kms = default.get("SSEAlgorithm") == "aws:kms"
    return (default.get("SSEAlgorithm"), default.get("KMSMasterKeyID"),
            bool(rule.get("BucketKeyEnabled")) and kms)


def _norm_cors(rules: list[dict[str, Any]] | None) -> Any:
    if not rules:
        return None
    return sorted(
        tuple(sorted((k, tuple(sorted(v)) if isinstance(v, list) else v)
                     for k, v in rule.items() if k != "ID"))
        for rule in rules
    )


def _norm_lifecycle(rules: list[dict[str, Any]] | None) -> Any:
    if not rules:
        return None
    return sorted(
        (r.get("ID"), r.get("Status"), (r.get("Filter") or {}).get("Prefix", r.get("Prefix")),
         (r.get("Expiration") or {}).get("Days"),
         (r.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation"))
        for r in rules
    )


def _exists(s3: Any, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
        return True
    except ClientError as exc:
        code = error_code(exc)
        if code in {"404", "NoSuchBucket", "NotFound"}:
            return False
        if code in {"403", "AccessDenied"}:
            raise ProvisionError(
                f"bucket {name!r} exists but this account cannot use it (bucket names are "
                "global: choose another with VF_UPLOADS_BUCKET / VF_MEDIA_BUCKET)"
            ) from exc
        raise


def ensure_bucket(s3: Any, spec: BucketSpec, *, region: str) -> Result:
    changes = Changes("s3 bucket", spec.name)
    name = spec.name
    if not _exists(s3, name):
        kwargs: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":  # us-east-1 rejects an explicit location constraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
        changes.created = True

    block = _read(s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration",
                  "PublicAccessBlockConfiguration", Bucket=name)
    changes.converge("public access block", block, _BLOCK_ALL, lambda: s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration=_BLOCK_ALL))

    encryption = _encryption(spec)
    current = _read(s3.get_bucket_encryption, "ServerSideEncryptionConfigurationNotFoundError",
                    "ServerSideEncryptionConfiguration", Bucket=name)
    changes.converge("encryption", _norm_encryption(current), _norm_encryption(encryption),
                     lambda: s3.put_bucket_encryption(
                         Bucket=name, ServerSideEncryptionConfiguration=encryption))

    cors = cors_rules(spec)
    current = _read(s3.get_bucket_cors, "NoSuchCORSConfiguration", "CORSRules", Bucket=name)
    changes.converge("cors", _norm_cors(current), _norm_cors(cors), lambda: (
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": cors}) if cors
        else s3.delete_bucket_cors(Bucket=name)))

    lifecycle = lifecycle_rules(spec)
    current = _read(s3.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration",
                    "Rules", Bucket=name)
    changes.converge("lifecycle", _norm_lifecycle(current), _norm_lifecycle(lifecycle), lambda: (
        s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": lifecycle}) if lifecycle
        else s3.delete_bucket_lifecycle(Bucket=name)))
    return changes.result(id=f"arn:aws:s3:::{name}")


def bucket_specs(
    *, uploads: str, media: str, kms_key_id: str | None, origins: Sequence[str],
    upload_expiry_days: int, abort_multipart_days: int,
) -> list[BucketSpec]:
    """Uploads: browsers PUT (single or multipart parts) to presigned URLs; sources expire.
    Media: browsers GET (hls.js fetches playlists and segments with XHR)."""
    origins = tuple(origins)
    return [
        BucketSpec(uploads, kms_key_id, ("PUT", "GET", "HEAD"), origins,
                   expire_prefix=UPLOADS_PREFIX, expire_days=upload_expiry_days,
                   abort_multipart_days=abort_multipart_days),
        BucketSpec(media, kms_key_id, ("GET", "HEAD"), origins,
                   expire_prefix=WORK_PREFIX, expire_days=_WORK_EXPIRY_DAYS,
                   expire_rule_id=_WORK_RULE_ID, abort_multipart_days=abort_multipart_days),
    ]
