"""What the local stack adds on top of provisioning: the demo user and browser access
to the buckets (the page uploads and plays straight from the moto endpoint)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from common import aws
from common.settings import CommonSettings

DEFAULT_DEMO_USER = "demo"
# Satisfies Cognito's default password policy: 8+ characters with upper and lower case
# letters, a number and a symbol (Cognito developer guide, "Password policies").
DEFAULT_DEMO_PASSWORD = "Demo-Video-4ge!"


def ensure_user(settings: CommonSettings, *, username: str, password: str,
                email: str | None = None) -> None:
    """Create ``username`` with a permanent ``password`` (or reset it if it exists)."""
    cognito = aws.client("cognito-idp", settings)
    pool = settings.cognito_user_pool_id
    attributes = [{"Name": "email", "Value": email or f"{username}@videoforge.local"},
                  {"Name": "email_verified", "Value": "true"}]
    try:
        cognito.admin_create_user(UserPoolId=pool, Username=username,
                                  UserAttributes=attributes, MessageAction="SUPPRESS")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "UsernameExistsException":
            raise
    # A permanent password skips the FORCE_CHANGE_PASSWORD challenge at first sign-in.
    cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=password,
                                    Permanent=True)


def allow_browser(settings: CommonSettings, *, origins: list[str]) -> None:
    """Let the page at ``origins`` PUT uploads (reading each part's ETag) and GET media."""
    s3: Any = aws.client("s3", settings)
    rule = {
        "AllowedOrigins": origins,
        "AllowedMethods": ["GET", "HEAD", "PUT"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag", "Content-Length", "Content-Range"],
        "MaxAgeSeconds": 3600,
    }
    for bucket in (settings.uploads_bucket, settings.media_bucket):
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
