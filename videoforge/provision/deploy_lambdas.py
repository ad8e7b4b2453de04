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
    VpcPlacement,
    ensure_function,
    environment,
)
from videoforge.provision.network import find_private_subnets, group_name, vpc_of
from videoforge.provision.package import Package, build
from videoforge.provision.plan import Report
from videoforge.provision.results import ProvisionError, error_code

# What ``placement`` returns for "look it up": provision's private subnets, if any.
AUTO = "auto"


def _role_arn(iam: Any, name: str) -> str:
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except ClientError as exc:
        if error_code(exc) in {"NoSuchEntity", "NoSuchEntityException"}:
            raise ProvisionError(f"no IAM role {name!r}: run `videoforge provision` first "
                                 "(with the same --name-prefix)", exit_code=2) from None
        raise


def placement(ec2: Any, *, prefix: str, subnet_ids: tuple[str, ...] = (),
              security_group_ids: tuple[str, ...] = ()) -> VpcPlacement | None:
    """The functions go where the database is: the given subnets, or the private subnets
    `provision` made for ``prefix`` (none: outside any VPC), with the given security
    groups or provision's PREFIX-lambda group (the one the database and Redis let in)."""
    subnets = list(subnet_ids) or find_private_subnets(ec2, prefix)
    if not subnets:
        if security_group_ids:
            raise ProvisionError("security groups need subnets: pass --subnet-ids",
                                 exit_code=2)
        return None
    if security_group_ids:
        return VpcPlacement(tuple(subnets), tuple(security_group_ids))
    name, vpc = group_name(prefix, "lambda"), vpc_of(ec2, subnets)
    found = ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc]}]
    )["SecurityGroups"]
    if not found:
        raise ProvisionError(f"no security group {name} in {vpc}: run `videoforge provision` "
                             "first, or pass --security-group-ids", exit_code=2)
    return VpcPlacement(tuple(subnets), (str(found[0]["GroupId"]),))


def deploy_lambdas(service_settings: dict[str, CommonSettings], *, prefix: str,
                   limits: LambdaSettings, package: Package | None = None,
                   vpc: VpcPlacement | None | str = AUTO) -> Report:
    """``service_settings``: each function's settings (its environment comes from them);
    ``vpc``: where they run (AUTO: :func:`placement` with no arguments)."""
    shared = service_settings[FUNCTIONS[0]]

    def client(service: str) -> Any:
        return aws.client(service, shared)

    package = package or build()
    lam, iam, apis = client("lambda"), client("iam"), client("apigatewayv2")
    account = str(client("sts").get_caller_identity()["Account"])
    where = placement(client("ec2"), prefix=prefix) if vpc == AUTO else vpc
    assert where is None or isinstance(where, VpcPlacement)
    report = Report()
    arns = {}
    for service in FUNCTIONS:
        settings = service_settings[service].model_copy(
            update={"trusted_proxies": limits.trusted_proxies})
        spec = FunctionSpec(name=f"{prefix}-{service}", service=service,
                            role_arn=_role_arn(iam, f"{prefix}-{service}"),
                            memory_mb=limits.memory_mb, timeout_s=limits.timeout_s,
                            environment=environment(settings), vpc=where)
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
    if where:
        report.outputs.update(lambda_subnets=",".join(sorted(where.subnet_ids)),
                              lambda_security_groups=",".join(sorted(where.security_group_ids)))
    return report
