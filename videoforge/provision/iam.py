"""IAM roles (trust + one inline least-privilege policy each) and the instance profiles
the EC2 roles are launched with. Policies come from videoforge/provision/policies.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from videoforge.provision import policies
from videoforge.provision.results import Changes, Result, error_code

# The inline policy every role carries, and the path that keeps our roles together.
POLICY_NAME = "videoforge"
ROLE_PATH = "/videoforge/"


@dataclass(frozen=True)
class RoleSpec:
    key: str                                      # worker, controller, gateway, …
    principal: str                                # who may assume it
    policy: Callable[[policies.Names], dict[str, Any]]
    instance_profile: bool                        # EC2 roles get one

    def name(self, names: policies.Names) -> str:
        return f"{names.prefix}-{self.key}"


ROLES = (
    RoleSpec("worker", policies.EC2_PRINCIPAL, policies.worker, instance_profile=True),
    RoleSpec("controller", policies.EC2_PRINCIPAL, policies.controller, instance_profile=True),
    RoleSpec("gateway", policies.EC2_PRINCIPAL, policies.gateway, instance_profile=True),
    RoleSpec("gallery", policies.LAMBDA_PRINCIPAL, policies.gallery, instance_profile=False),
    RoleSpec("streaming", policies.LAMBDA_PRINCIPAL, policies.streaming,
             instance_profile=False),
    RoleSpec("monitoring", policies.EC2_PRINCIPAL, policies.monitoring, instance_profile=True),
)


def _document(value: Any) -> Any:
    """IAM returns policy documents URL-encoded JSON (boto3 usually decodes them)."""
    if isinstance(value, str):
        return json.loads(unquote(value))
    return value


def _missing(exc: ClientError) -> bool:
    return error_code(exc) in {"NoSuchEntity", "NoSuchEntityException"}


def ensure_role(iam: Any, spec: RoleSpec, names: policies.Names, *,
                tags: dict[str, str]) -> tuple[Result, str]:
    name = spec.name(names)
    changes = Changes("iam role", name)
    trust = policies.trust(spec.principal)
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if not _missing(exc):
            raise
        role = iam.create_role(RoleName=name, Path=ROLE_PATH,
                               AssumeRolePolicyDocument=json.dumps(trust),
                               Description=f"VideoForge {spec.key}",
                               Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())]
                               )["Role"]
        changes.created = True
    changes.converge("trust", _document(role.get("AssumeRolePolicyDocument")), trust,
                     lambda: iam.update_assume_role_policy(RoleName=name,
                                                           PolicyDocument=json.dumps(trust)))
    policy = spec.policy(names)
    try:
        current = _document(iam.get_role_policy(RoleName=name,
                                                PolicyName=POLICY_NAME)["PolicyDocument"])
    except ClientError as exc:
        if not _missing(exc):
            raise
        current = None
    changes.converge("policy", current, policy, lambda: iam.put_role_policy(
        RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy)))
    return changes.result(id=role["Arn"]), str(role["Arn"])


def ensure_instance_profile(iam: Any, name: str) -> tuple[Result, str]:
    """A profile named like its role, holding exactly that role."""
    changes = Changes("instance profile", name)
    try:
        profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except ClientError as exc:
        if not _missing(exc):
            raise
        profile = iam.create_instance_profile(InstanceProfileName=name,
                                              Path=ROLE_PATH)["InstanceProfile"]
        changes.created = True
    roles = [r["RoleName"] for r in profile.get("Roles", [])]
    if roles != [name]:
        for other in roles:
            iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=other)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        changes.note("role")
    return changes.result(id=profile["Arn"]), str(profile["Arn"])


def ensure_roles(iam: Any, names: policies.Names, *, tags: dict[str, str]
                 ) -> tuple[list[Result], dict[str, str]]:
    """Every role (and the EC2 roles' profiles); outputs ``{key}_role_arn`` and
    ``{key}_instance_profile``."""
    results: list[Result] = []
    outputs: dict[str, str] = {}
    for spec in ROLES:
        result, arn = ensure_role(iam, spec, names, tags=tags)
        results.append(result)
        outputs[f"{spec.key}_role_arn"] = arn
        if spec.instance_profile:
            profile_result, _ = ensure_instance_profile(iam, spec.name(names))
            results.append(profile_result)
            outputs[f"{spec.key}_instance_profile"] = spec.name(names)
    return results, outputs
