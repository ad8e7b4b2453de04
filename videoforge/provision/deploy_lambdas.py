"""``videoforge deploy lambdas``: package once, then the functions, the HTTP API, its
routes and stage, and the invoke permissions, each created or updated only where it
differs, so a second run with the same code and settings changes nothing."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from common import aws
from common.settings import CommonSettings
from gateway.proxy import ROUTES
from videoforge.provision import http_api
from videoforge.provision.lambdas import (
    FUNCTIONS,
    FunctionSpec,
    LambdaSettings,
    ensure_function,
    environment,
)
from videoforge.provision.package import Package, build
from videoforge.provision.plan import Report
from videoforge.provision.results import ProvisionError, error_code


def _role_arn(iam: Any, name: str) -> str:
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except ClientError as exc:
        if error_code(exc) in {"NoSuchEntity", "NoSuchEntityException"}:
            raise ProvisionError(f"no IAM role {name!r}: run `videoforge provision` first "
                                 "(with the same --name-prefix)", exit_code=2) from None
        raise


def deploy_lambdas(service_settings: dict[str, CommonSettings], *, prefix: str,
                   limits: LambdaSettings, package: Package | None = None) -> Report:
    """``service_settings``: each function's settings (its environment comes from them)."""
    shared = service_settings[FUNCTIONS[0]]

    def client(service: str) -> Any:
        return aws.client(service, shared)

    package = package or build()
    lam, iam, apis = client("lambda"), client("iam"), client("apigatewayv2")
    account = str(client("sts").get_caller_identity()["Account"])
    report = Report()
    arns = {}
    for service in FUNCTIONS:
        spec = FunctionSpec(name=f"{prefix}-{service}", service=service,
                            role_arn=_role_arn(iam, f"{prefix}-{service}"),
                            memory_mb=limits.memory_mb, timeout_s=limits.timeout_s,
                            environment=environment(service_settings[service]))
        result, arns[service] = ensure_function(lam, spec, package)
        report.results.append(result)
    api_result, api = http_api.ensure_api(apis, f"{prefix}-api")
    report.results.append(api_result)
    for service in FUNCTIONS:
        report.results.append(http_api.ensure_routes(apis, api["ApiId"], arns[service],
                                                     service, ROUTES[service]))
        report.results.append(http_api.ensure_invoke_permission(
            lam, f"{prefix}-{service}", api["ApiId"], region=shared.aws_region,
            account=account))
    report.results.append(http_api.ensure_stage(apis, api["ApiId"]))
    url = http_api.endpoint(api)
    report.outputs.update(api_id=api["ApiId"], gallery_url=url, streaming_url=url,
                          package_sha256=package.sha256,
                          package_bytes=str(len(package.data)))
    return report
