"""The Cognito user pool (password policy, the admin group) and the web page's app client:
a public client (no secret: it runs in the browser) signing in with username + password
and refreshing its tokens."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from common.auth import ADMIN_GROUP
from videoforge.provision.results import Changes, ProvisionError, Result, error_code

PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}
AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
# list_user_pools / list_user_pool_clients page sizes: the API maximums.
_POOLS_PAGE = 60
_CLIENTS_PAGE = 60


def _find_pool(idp: Any, name: str) -> str | None:
    kwargs: dict[str, Any] = {"MaxResults": _POOLS_PAGE}
    found = []
    while True:
        page = idp.list_user_pools(**kwargs)
        found += [p["Id"] for p in page.get("UserPools", []) if p["Name"] == name]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    if len(found) > 1:
        # Cognito allows duplicate names; guessing which one is ours could point the
        # platform at the wrong users.
        raise ProvisionError(f"{len(found)} user pools are named {name!r}: "
                             f"set VF_COGNITO_USER_POOL_ID to the one to use ({', '.join(found)})")
    return found[0] if found else None


def _pool_settings() -> dict[str, Any]:
    return {"Policies": {"PasswordPolicy": PASSWORD_POLICY},
            "AutoVerifiedAttributes": ["email"]}


def ensure_user_pool(idp: Any, *, name: str, pool_id: str | None = None) -> tuple[Result, str]:
    changes = Changes("cognito user pool", name)
    pool_id = pool_id or _find_pool(idp, name)
    if pool_id is None:
        pool_id = idp.create_user_pool(PoolName=name, **_pool_settings())["UserPool"]["Id"]
        changes.created = True
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    current = pool.get("Policies", {}).get("PasswordPolicy", {})
    current = {k: current.get(k) for k in PASSWORD_POLICY}
    verified = sorted(pool.get("AutoVerifiedAttributes") or [])
    if current != PASSWORD_POLICY or verified != ["email"]:
        # UpdateUserPool resets what it is not given, so send every setting we manage.
        idp.update_user_pool(UserPoolId=pool_id, **_pool_settings())
        changes.note("password policy" if current != PASSWORD_POLICY else "verified attributes")
    return changes.result(id=pool_id), pool_id


def ensure_admin_group(idp: Any, *, pool_id: str) -> Result:
    changes = Changes("cognito group", ADMIN_GROUP)
    try:
        idp.get_group(UserPoolId=pool_id, GroupName=ADMIN_GROUP)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        idp.create_group(UserPoolId=pool_id, GroupName=ADMIN_GROUP,
                         Description="VideoForge administrators")
        changes.created = True
    return changes.result()


def _find_client(idp: Any, pool_id: str, name: str) -> str | None:
    kwargs: dict[str, Any] = {"UserPoolId": pool_id, "MaxResults": _CLIENTS_PAGE}
    while True:
        page = idp.list_user_pool_clients(**kwargs)
        for client in page.get("UserPoolClients", []):
            if client["ClientName"] == name:
                return str(client["ClientId"])
        if not page.get("NextToken"):
            return None
        kwargs["NextToken"] = page["NextToken"]


def ensure_app_client(idp: Any, *, pool_id: str, name: str) -> tuple[Result, str]:
    changes = Changes("cognito app client", name)
    client_id = _find_client(idp, pool_id, name)
    if client_id is None:
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName=name, GenerateSecret=False,
            ExplicitAuthFlows=AUTH_FLOWS, PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
        changes.created = True
    client = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)[
        "UserPoolClient"]
    if client.get("ClientSecret"):
        raise ProvisionError(f"app client {name!r} has a secret; the web page needs a public "
                             "client: delete it (or choose another name) and run again")
    if sorted(client.get("ExplicitAuthFlows") or []) != sorted(AUTH_FLOWS):
        idp.update_user_pool_client(UserPoolId=pool_id, ClientId=client_id, ClientName=name,
                                    ExplicitAuthFlows=AUTH_FLOWS,
                                    PreventUserExistenceErrors="ENABLED")
        changes.note("auth flows")
    return changes.result(id=client_id), client_id
