"""The gallery and streaming Lambda functions: created, or updated where their code (by
SHA-256) or configuration (role, runtime, handler, memory, timeout, environment) differs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import CommonSettings
from videoforge.provision.package import Package, runtime
from videoforge.provision.results import Changes, ProvisionError, Result, error_code

FUNCTIONS = ("gallery", "streaming")
# The largest zip Lambda takes inline in the request (Lambda quotas, "Deployment package
# (.zip file archive) size": 50 MB zipped, direct upload).
MAX_INLINE_ZIP_BYTES = 50 * 1000 * 1000
# Lambda environment variables may total 4 KB (Lambda quotas).
MAX_ENVIRONMENT_BYTES = 4096
# Set by Lambda itself; a function may not define them (Lambda developer guide, "Reserved
# environment variables").
_RESERVED = ("AWS_", "LAMBDA_", "_HANDLER", "_X_AMZN_TRACE_ID", "TZ")


class LambdaSettings(BaseSettings):
    """``VF_LAMBDA_*``: how big and how long each function runs."""

    model_config = SettingsConfigDict(env_prefix="VF_LAMBDA_", extra="ignore")

    # 1769 MB is one full vCPU (Lambda developer guide, "Memory and computing power");
    # presigning and a database read need far less.
    memory_mb: int = Field(default=512, ge=128, le=10240)
    # API Gateway HTTP APIs give an integration at most 30 s (API Gateway quotas).
    timeout_s: int = Field(default=29, ge=1, le=30)
    # The functions' VF_TRUSTED_PROXIES: the caller's address reaches them through the load
    # balancer, the gateway and API Gateway, each appending its peer to X-Forwarded-For
    # (common/lambda_entry.py), so the caller is the third entry from the right.
    trusted_proxies: int = Field(default=3, ge=0)


@dataclass(frozen=True)
class VpcPlacement:
    """Where a function's network interfaces go: the subnets it runs in (private, routed
    out through NAT) and its security group (the one the database and Redis let in)."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]

    def config(self) -> dict[str, list[str]]:
        return {"SubnetIds": sorted(self.subnet_ids),
                "SecurityGroupIds": sorted(self.security_group_ids)}


# Empty lists take a function out of its VPC (Lambda API, UpdateFunctionConfiguration).
NO_VPC: dict[str, list[str]] = {"SubnetIds": [], "SecurityGroupIds": []}


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    service: str
    role_arn: str
    memory_mb: int
    timeout_s: int
    environment: dict[str, str]
    vpc: VpcPlacement | None = None

    @property
    def handler(self) -> str:
        return f"{self.service}.lambda_handler.handler"

    def configuration(self) -> dict[str, Any]:
        return {"Role": self.role_arn, "Runtime": runtime(), "Handler": self.handler,
                "MemorySize": self.memory_mb, "Timeout": self.timeout_s,
                "Environment": {"Variables": dict(sorted(self.environment.items()))},
                "VpcConfig": self.vpc.config() if self.vpc else NO_VPC}


def _as_env(value: Any) -> str:
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def environment(settings: CommonSettings) -> dict[str, str]:
    """The ``VF_*`` variables that give a function ``settings``: every field that differs
    from its default (defaults need no variable)."""
    env = {}
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if value is None or value == field.default:
            continue
        key = f"VF_{name.upper()}"
        if not key.startswith(_RESERVED):
            env[key] = _as_env(value)
    if len(json.dumps(env)) > MAX_ENVIRONMENT_BYTES:
        raise ProvisionError("the functions' environment exceeds Lambda's 4 KB", exit_code=2)
    return env


def _current(lam: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(lam.get_function(FunctionName=name)["Configuration"])
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _norm(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"Role": config.get("Role"), "Runtime": config.get("Runtime"),
            "Handler": config.get("Handler"), "MemorySize": config.get("MemorySize"),
            "Timeout": config.get("Timeout"),
            "Environment": {"Variables": dict(sorted(
                ((config.get("Environment") or {}).get("Variables") or {}).items()))},
            "VpcConfig": {key: sorted((config.get("VpcConfig") or {}).get(key) or [])
                          for key in NO_VPC}}


def _wait(lam: Any, name: str) -> None:
    """Lambda refuses a second update while one is in progress (ResourceConflictException)."""
    lam.get_waiter("function_updated_v2").wait(FunctionName=name,
                                               WaiterConfig={"Delay": 2, "MaxAttempts": 60})


def ensure_function(lam: Any, spec: FunctionSpec, package: Package) -> tuple[Result, str]:
    if len(package.data) > MAX_INLINE_ZIP_BYTES:
        raise ProvisionError(f"the package is {len(package.data) / 1e6:.0f} MB, over Lambda's "
                             "50 MB for an inline upload")
    changes = Changes("lambda function", spec.name)
    wanted = spec.configuration()
    current = _current(lam, spec.name)
    if current is None:
        if not spec.vpc:
            wanted.pop("VpcConfig")
        current = lam.create_function(FunctionName=spec.name, Code={"ZipFile": package.data},
                                      PackageType="Zip", Publish=False,
                                      Tags={"Application": "videoforge"}, **wanted)
        changes.created = True
        return changes.result(id=current["FunctionArn"]), str(current["FunctionArn"])
    if current.get("CodeSha256") != package.sha256:
        lam.update_function_code(FunctionName=spec.name, ZipFile=package.data)
        changes.note("code")
        _wait(lam, spec.name)
    if _norm(current) != _norm(wanted):
        lam.update_function_configuration(FunctionName=spec.name, **wanted)
        changes.note(*sorted(k for k in wanted if _norm(current)[k] != _norm(wanted)[k]))
        _wait(lam, spec.name)
    return changes.result(id=current["FunctionArn"]), str(current["FunctionArn"])
