"""What the local stack adds on top of provisioning: the demo user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from common import aws
from common.settings import CommonSettings

if TYPE_CHECKING:
    from types_boto3_cognito_idp.type_defs import AttributeTypeTypeDef

DEFAULT_DEMO_USER = "demo"
# Satisfies Cognito's default password policy: 8+ characters with upper and lower case
# letters, a number and a symbol (Cognito developer guide, "Password policies").
DEFAULT_DEMO_PASSWORD = "Demo-Video-4ge!"


def ensure_user(settings: CommonSettings, *, username: str, password: str,
                email: str | None = None) -> None:
    """Create ``username`` with a permanent ``password`` (or reset it if it exists)."""
    cognito = aws.client("cognito-idp", settings)
    pool = settings.cognito_user_pool_id
    if not pool:
        raise RuntimeError("no Cognito user pool to add the user to (VF_COGNITO_USER_POOL_ID)")
    attributes: list[AttributeTypeTypeDef] = [
        {"Name": "email", "Value": email or f"{username}@videoforge.local"},
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
