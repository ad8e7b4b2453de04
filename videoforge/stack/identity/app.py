"""The identity provider's HTTP side: Cognito's JSON API (``X-Amz-Target``) for the
calls VideoForge makes, and the key set at ``/{pool}/.well-known/jwks.json``.

Sign-in calls are unsigned, as on Cognito; admin calls need a SigV4 signature with the
local stack's key pair.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from videoforge.provision.cognito import PASSWORD_POLICY
from videoforge.stack.identity import tokens
from videoforge.stack.identity.keys import SigningKey
from videoforge.stack.identity.users import FORCE_CHANGE_PASSWORD, User, UserError, UserStore
from videoforge.stack.sigv4 import SignatureError, Verifier, from_asgi

_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
_JSON = "application/x-amz-json-1.1"
# Cognito caps a username at 128 characters and a password at 256 (API reference).
_MAX_USERNAME = 128
_MAX_PASSWORD = 256


def _error(code: str, message: str, status: int = 400) -> Response:
    return JSONResponse({"__type": code, "message": message}, status_code=status,
                        media_type=_JSON)


def check_password_policy(password: str) -> None:
    """Cognito's password policy, as provisioning sets it on the real pool."""
    policy = PASSWORD_POLICY
    problems = []
    if len(password) < int(policy["MinimumLength"]):
        problems.append(f"at least {policy['MinimumLength']} characters")
    for flag, test, what in (("RequireUppercase", str.isupper, "an upper-case letter"),
                             ("RequireLowercase", str.islower, "a lower-case letter"),
                             ("RequireNumbers", str.isdigit, "a number")):
        if policy[flag] and not any(test(c) for c in password):
            problems.append(what)
    if policy["RequireSymbols"] and all(c.isalnum() for c in password):
        problems.append("a symbol")
    if problems or len(password) > _MAX_PASSWORD:
        raise UserError("InvalidPasswordException",
                        "Password does not conform to policy: needs " + ", ".join(problems)
                        if problems else "Password is too long.")


def _user_json(user: User, *, attributes_key: str) -> dict[str, Any]:
    return {"Username": user.username, "UserStatus": user.status, "Enabled": True,
            "UserCreateDate": user.created, "UserLastModifiedDate": user.modified,
            attributes_key: [{"Name": k, "Value": v} for k, v in sorted(user.attributes.items())]}


class IdentityApp:
    def __init__(self, users: UserStore, key: SigningKey, pool: tokens.Pool,
                 verifier: Verifier) -> None:
        self.users = users
        self.key = key
        self.pool = pool
        self.verifier = verifier
        self._actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "InitiateAuth": self.initiate_auth,
            "AdminCreateUser": self.admin_create_user,
            "AdminSetUserPassword": self.admin_set_user_password,
            "AdminGetUser": self.admin_get_user,
            "AdminAddUserToGroup": lambda p: self._group(p, member=True),
            "AdminRemoveUserFromGroup": lambda p: self._group(p, member=False),
            "AdminDeleteUser": self.admin_delete_user,
        }
        self.asgi = Starlette(routes=[
            Route("/{pool_id}/.well-known/jwks.json", self.jwks, methods=["GET"]),
            Route("/", self.call, methods=["POST"]),
        ])

    async def jwks(self, request: Request) -> Response:
        if request.path_params["pool_id"] != self.pool.pool_id:
            return JSONResponse({"message": "no such user pool"}, status_code=404)
        return JSONResponse(self.key.jwks())

    async def call(self, request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        action = target.removeprefix(_TARGET_PREFIX)
        handler = self._actions.get(action) if target.startswith(_TARGET_PREFIX) else None
        if handler is None:
            return _error("UnknownOperationException", f"{action or 'no action'} is not "
                          "supported by the local identity provider")
        body = await request.body()
        if action != "InitiateAuth":
            try:
                self.verifier.verify(from_asgi(request.scope),
                                     payload_hash=hashlib.sha256(body).hexdigest())
            except SignatureError as exc:
                return _error("UnrecognizedClientException" if exc.code ==
                              "InvalidAccessKeyId" else exc.code, exc.message, 403)
        try:
            params = json.loads(body or b"{}")
            if not isinstance(params, dict):
                raise ValueError
        except ValueError:
            return _error("SerializationException", "the request body is not a JSON object")
        try:
            result = handler(params)
        except UserError as exc:
            return _error(exc.code, exc.message)
        except (KeyError, TypeError) as exc:
            return _error("InvalidParameterException", f"missing or bad parameter {exc}")
        return JSONResponse(result, media_type=_JSON)

    # --- actions -------------------------------------------------------------------------
    def _check_pool(self, params: dict[str, Any]) -> str:
        if params["UserPoolId"] != self.pool.pool_id:
            raise UserError("ResourceNotFoundException",
                            f"User pool {params['UserPoolId']} does not exist.")
        username = str(params["Username"])
        if not 1 <= len(username) <= _MAX_USERNAME:
            raise UserError("InvalidParameterException", "Username must be 1..128 characters")
        return username

    def initiate_auth(self, params: dict[str, Any]) -> dict[str, Any]:
        if params["ClientId"] != self.pool.client_id:
            raise UserError("ResourceNotFoundException",
                            f"User pool client {params['ClientId']} does not exist.")
        flow, auth = params["AuthFlow"], params.get("AuthParameters") or {}
        if flow == "USER_PASSWORD_AUTH":
            user = self.users.authenticate(str(auth["USERNAME"]), str(auth["PASSWORD"]))
            if user.status == FORCE_CHANGE_PASSWORD:
                return {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "",
                        "ChallengeParameters": {"USER_ID_FOR_SRP": user.username}}
            result = tokens.issue(self.pool, self.key, user)
            result["RefreshToken"] = self.users.new_refresh_token(user.username)
        elif flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            user = self.users.redeem_refresh_token(str(auth["REFRESH_TOKEN"]))
            result = tokens.issue(self.pool, self.key, user)
        else:
            raise UserError("InvalidParameterException", f"auth flow {flow} is not enabled "
                                                         "for this client")
        return {"AuthenticationResult": result, "ChallengeParameters": {}}

    def admin_create_user(self, params: dict[str, Any]) -> dict[str, Any]:
        username = self._check_pool(params)
        temporary = params.get("TemporaryPassword")
        if temporary:
            check_password_policy(str(temporary))
        attributes = {str(a["Name"]): str(a["Value"]) for a in params.get("UserAttributes", [])}
        user = self.users.create(username, attributes, temporary)
        return {"User": _user_json(user, attributes_key="Attributes")}

    def admin_set_user_password(self, params: dict[str, Any]) -> dict[str, Any]:
        username = self._check_pool(params)
        password = str(params["Password"])
        check_password_policy(password)
        self.users.set_password(username, password, permanent=bool(params.get("Permanent")))
        return {}

    def admin_get_user(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(self._check_pool(params))
        return _user_json(user, attributes_key="UserAttributes")

    def admin_delete_user(self, params: dict[str, Any]) -> dict[str, Any]:
        self.users.delete(self._check_pool(params))
        return {}

    def _group(self, params: dict[str, Any], *, member: bool) -> dict[str, Any]:
        self.users.set_group(self._check_pool(params), str(params["GroupName"]), member=member)
        return {}
