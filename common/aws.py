"""One place that builds boto3 clients, so every service honours the endpoint override.

:func:`client` is typed per service name (``client("s3", ...)`` is an ``S3Client``) from the
types-boto3 stubs, a dev dependency: the client types are imported for the type checker
only, so the worker image runs without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

from common.settings import CommonSettings

if TYPE_CHECKING:
    from types_boto3_apigatewayv2 import ApiGatewayV2Client
    from types_boto3_autoscaling import AutoScalingClient
    from types_boto3_cloudwatch import CloudWatchClient
    from types_boto3_cognito_idp import CognitoIdentityProviderClient
    from types_boto3_ec2 import EC2Client
    from types_boto3_elbv2 import ElasticLoadBalancingv2Client
    from types_boto3_iam import IAMClient
    from types_boto3_lambda import LambdaClient
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

# "adaptive" adds client-side rate limiting on throttling errors on top of the
# standard retry mode's exponential backoff; 5 attempts is boto's documented ceiling
# for standard mode's default of 3 raised modestly for a batch fleet.
_RETRY_CONFIG = Config(retries={"max_attempts": 5, "mode": "adaptive"})


def endpoint_url(service: str, settings: CommonSettings) -> str | None:
    """Where ``service`` is reached: its own override, the shared endpoint, or real AWS."""
    return settings.aws_endpoint_urls.get(service) or settings.aws_endpoint_url


@overload
def client(service: Literal["apigatewayv2"], settings: CommonSettings,
           **overrides: Any) -> ApiGatewayV2Client: ...
@overload
def client(service: Literal["autoscaling"], settings: CommonSettings,
           **overrides: Any) -> AutoScalingClient: ...
@overload
def client(service: Literal["cloudwatch"], settings: CommonSettings,
           **overrides: Any) -> CloudWatchClient: ...
@overload
def client(service: Literal["cognito-idp"], settings: CommonSettings,
           **overrides: Any) -> CognitoIdentityProviderClient: ...
@overload
def client(service: Literal["ec2"], settings: CommonSettings, **overrides: Any) -> EC2Client: ...
@overload
def client(service: Literal["elbv2"], settings: CommonSettings,
           **overrides: Any) -> ElasticLoadBalancingv2Client: ...
@overload
def client(service: Literal["iam"], settings: CommonSettings, **overrides: Any) -> IAMClient: ...
@overload
def client(service: Literal["lambda"], settings: CommonSettings,
           **overrides: Any) -> LambdaClient: ...
@overload
def client(service: Literal["s3"], settings: CommonSettings, **overrides: Any) -> S3Client: ...
@overload
def client(service: Literal["sqs"], settings: CommonSettings, **overrides: Any) -> SQSClient: ...
# A name only known at run time (or a service without stubs here) stays untyped.
@overload
def client(service: str, settings: CommonSettings, **overrides: Any) -> Any: ...


def client(service: str, settings: CommonSettings, **overrides: Any) -> Any:
    """A boto3 client for ``service`` at :func:`endpoint_url` (None: real AWS)."""
    config = _RETRY_CONFIG
    if service == "s3":
        # Presigned URLs must carry the SigV4 signature and address the bucket by path,
        # which is what both moto and browsers behind the gateway can reach.
        config = config.merge(
            Config(signature_version="s3v4", s3={"addressing_style": "path"})
        )
    # boto3's stubs type only literal service names; this one is a parameter.
    make: Any = boto3.client
    return make(
        service,
        region_name=settings.aws_region,
        endpoint_url=endpoint_url(service, settings),
        config=config,
        **overrides,
    )
