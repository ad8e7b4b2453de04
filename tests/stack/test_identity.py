"""The local identity provider through boto3's Cognito client and the shared verifier:
users keep their ``sub`` and tokens stay valid across a restart."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from common.auth import AuthError, CognitoVerifier
from tests.support.servers import serve_in_thread
from videoforge.stack.identity.app import IdentityApp
from videoforge.stack.identity.keys import SigningKey
from videoforge.stack.identity.tokens import Pool
from videoforge.stack.identity.users import UserStore
from videoforge.stack.sigv4 import Credentials, Verifier

KEYS = Credentials("idp-test", "idp-test-secret")
POOL = Pool.local("us-east-1")
PASSWORD = "Local-Pass-1!"


class RunningIdentity:
    def __init__(self, root: Path) -> None:
        self.users = UserStore(root / "users.db")
        app = IdentityApp(self.users, SigningKey.load_or_create(root / "key.pem"), POOL,
                          Verifier(KEYS, service="cognito-idp"))
        self.served = contextlib.ExitStack()
        self.url = self.served.enter_context(serve_in_thread(app.asgi))

    def client(self, secret: str = KEYS.secret_key) -> Any:
        return boto3.client("cognito-idp", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=KEYS.access_key, aws_secret_access_key=secret,
                            config=Config(retries={"max_attempts": 1}))

    def verifier(self) -> CognitoVerifier:
        return CognitoVerifier(region="us-east-1", user_pool_id=POOL.pool_id,
                               client_id=POOL.client_id, endpoint_url=self.url)

    def stop(self) -> None:
        self.served.close()
        self.users.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[], RunningIdentity]]:
    running: list[RunningIdentity] = []

    def start() -> RunningIdentity:
        if running:
            running.pop().stop()
        running.append(RunningIdentity(tmp_path / "identity"))
        return running[-1]

    yield start
    for server in running:
        server.stop()


def _create(idp: Any, username: str, password: str = PASSWORD) -> str:
    user = idp.admin_create_user(UserPoolId=POOL.pool_id, Username=username,
                                 UserAttributes=[{"Name": "email", "Value": f"{username}@x"}],
                                 MessageAction="SUPPRESS")["User"]
    idp.admin_set_user_password(UserPoolId=POOL.pool_id, Username=username,
                                Password=password, Permanent=True)
    return next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")


def _login(idp: Any, username: str, password: str = PASSWORD) -> dict[str, Any]:
    return dict(idp.initiate_auth(ClientId=POOL.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username,
                                                  "PASSWORD": password})["AuthenticationResult"])


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_sign_in_refresh_and_groups(start: Callable[[], RunningIdentity]) -> None:
    server = start()
    idp = server.client()
    sub = _create(idp, "alice")
    tokens = _login(idp, "alice")
    verifier = server.verifier()
    for token, use in ((tokens["IdToken"], "id"), (tokens["AccessToken"], "access")):
        principal = verifier.verify(token)
        assert (principal.user_id, principal.username, principal.token_use) == (sub, "alice",
                                                                                use)
        assert not principal.is_admin
    idp.admin_add_user_to_group(UserPoolId=POOL.pool_id, Username="alice", GroupName="admin")
    refreshed = idp.initiate_auth(ClientId=POOL.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                  AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]})
    assert verifier.verify(refreshed["AuthenticationResult"]["IdToken"]).is_admin
    with pytest.raises(ClientError) as wrong:
        _login(idp, "alice", "Not-the-pass1!")
    with pytest.raises(ClientError) as nobody:
        _login(idp, "nobody")
    assert _code(wrong) == _code(nobody) == "NotAuthorizedException"
    assert wrong.value.response["Error"]["Message"] == nobody.value.response["Error"]["Message"]


def test_admin_calls_need_our_signature_and_policy(start: Callable[[], RunningIdentity]
                                                   ) -> None:
    server = start()
    with pytest.raises(ClientError) as unsigned:
        server.client(secret="wrong").admin_create_user(UserPoolId=POOL.pool_id, Username="m")
    assert _code(unsigned) == "SignatureDoesNotMatch"
    idp = server.client()
    idp.admin_create_user(UserPoolId=POOL.pool_id, Username="bob")
    with pytest.raises(ClientError) as weak:
        idp.admin_set_user_password(UserPoolId=POOL.pool_id, Username="bob",
                                    Password="short", Permanent=True)
    assert _code(weak) == "InvalidPasswordException"
    with pytest.raises(ClientError) as twice:
        idp.admin_create_user(UserPoolId=POOL.pool_id, Username="bob")
    assert _code(twice) == "UsernameExistsException"
    with pytest.raises(ClientError) as other_client:
        idp.initiate_auth(ClientId="someone-else", AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": "bob", "PASSWORD": PASSWORD})
    assert _code(other_client) == "ResourceNotFoundException"
    # A user without a permanent password gets Cognito's challenge, not tokens.
    idp.admin_set_user_password(UserPoolId=POOL.pool_id, Username="bob", Password=PASSWORD,
                                Permanent=False)
    challenge = idp.initiate_auth(ClientId=POOL.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": "bob", "PASSWORD": PASSWORD})
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_users_keys_and_sessions_survive_a_restart(start: Callable[[], RunningIdentity]
                                                   ) -> None:
    first = start()
    sub = _create(first.client(), "carol")
    before = _login(first.client(), "carol")
    jwks = httpx.get(f"{first.url}/{POOL.pool_id}/.well-known/jwks.json").json()

    second = start()
    assert httpx.get(f"{second.url}/{POOL.pool_id}/.well-known/jwks.json").json() == jwks
    verifier = second.verifier()
    assert verifier.verify(before["IdToken"]).user_id == sub   # issued before the restart
    after = _login(second.client(), "carol")
    assert verifier.verify(after["IdToken"]).user_id == sub
    second.client().initiate_auth(ClientId=POOL.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                  AuthParameters={"REFRESH_TOKEN": before["RefreshToken"]})
    with pytest.raises(AuthError):
        verifier.verify(before["IdToken"][:-4] + "AAAA")
