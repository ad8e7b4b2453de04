"""Fixtures of the common tests: a real (moto) Cognito user pool with one admin user."""

from __future__ import annotations

import pytest

from common import aws
from common.settings import CommonSettings


@pytest.fixture(scope="session")
def pool(moto_endpoint):
    idp = aws.client("cognito-idp", CommonSettings(aws_endpoint_url=moto_endpoint))
    pool_id = idp.create_user_pool(PoolName="vf-test")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="alice", TemporaryPassword="Tmp-pass1!")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="alice",
                                Password="Secret-pass1!", Permanent=True)
    idp.create_group(UserPoolId=pool_id, GroupName="admin")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username="alice", GroupName="admin")
    tokens = idp.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": "Secret-pass1!"},
    )["AuthenticationResult"]
    return pool_id, client_id, tokens
