"""Redis for the gateway's rate limits and the gallery's view counts (ElastiCache): a
replication group in the private subnets, TLS in transit, encrypted at rest, an AUTH
token (generated here, kept in the provisioned settings inside VF_REDIS_URL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from videoforge.provision.results import Changes, ProvisionError, Result, error_code
from videoforge.provision.runtime_config import generate, password_in

# ElastiCache AUTH tokens are 16..128 printable characters (ElastiCache User Guide,
# "Authenticating with the Redis AUTH command"); ours are 48 letters and digits.
AUTH_TOKEN_LENGTH = 48
CREATE_WAIT_S = 30 * 60


@dataclass(frozen=True)
class CacheSpec:
    identifier: str = "videoforge"
    node_type: str = "cache.t4g.micro"
    # 0: one node; 1+: replicas with automatic failover (another zone).
    replicas: int = 0

    def validate(self) -> None:
        # A replication group has a primary and 0..5 replicas (ElastiCache quotas).
        if not 0 <= self.replicas <= 5:
            raise ProvisionError("Redis takes 0..5 replicas", exit_code=2)


def redis_url(*, token: str, host: str, port: int) -> str:
    return f"rediss://:{quote(token, safe='')}@{host}:{port}/0"


def _describe(elasticache: Any, identifier: str) -> dict[str, Any] | None:
    try:
        return dict(elasticache.describe_replication_groups(
            ReplicationGroupId=identifier)["ReplicationGroups"][0])
    except ClientError as exc:
        if error_code(exc) == "ReplicationGroupNotFoundFault":
            return None
        raise


def ensure_subnet_group(elasticache: Any, *, name: str, subnets: list[str]) -> Result:
    changes = Changes("cache subnet group", name)
    try:
        group = elasticache.describe_cache_subnet_groups(
            CacheSubnetGroupName=name)["CacheSubnetGroups"][0]
    except ClientError as exc:
        if error_code(exc) != "CacheSubnetGroupNotFoundFault":
            raise
        elasticache.create_cache_subnet_group(
            CacheSubnetGroupName=name, SubnetIds=subnets,
            CacheSubnetGroupDescription="VideoForge Redis")
        changes.created = True
        return changes.result()
    current = sorted(s["SubnetIdentifier"] for s in group.get("Subnets", []))
    changes.converge("subnets", current, sorted(subnets), lambda: (
        elasticache.modify_cache_subnet_group(CacheSubnetGroupName=name, SubnetIds=subnets)))
    return changes.result(id=group.get("ARN"))


def ensure_cache(elasticache: Any, spec: CacheSpec, *, subnets: list[str],
                 security_group: str, stored_url: str | None) -> tuple[list[Result], str]:
    spec.validate()
    results = [ensure_subnet_group(elasticache, name=spec.identifier, subnets=subnets)]
    changes = Changes("redis", spec.identifier)
    current = _describe(elasticache, spec.identifier)
    token = None
    if current is None:
        token = generate(AUTH_TOKEN_LENGTH)
        elasticache.create_replication_group(
            ReplicationGroupId=spec.identifier,
            ReplicationGroupDescription="VideoForge rate limits and view counts",
            Engine="redis", CacheNodeType=spec.node_type,
            NumCacheClusters=1 + spec.replicas,
            AutomaticFailoverEnabled=spec.replicas > 0, MultiAZEnabled=spec.replicas > 0,
            CacheSubnetGroupName=spec.identifier, SecurityGroupIds=[security_group],
            TransitEncryptionEnabled=True, AtRestEncryptionEnabled=True, AuthToken=token,
            Tags=[{"Key": "Application", "Value": "videoforge"}])
        changes.created = True
    elif current.get("CacheNodeType") != spec.node_type:
        elasticache.modify_replication_group(ReplicationGroupId=spec.identifier,
                                             CacheNodeType=spec.node_type,
                                             ApplyImmediately=True)
        changes.note("node type")
    group = _available(elasticache, spec.identifier)
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    host, port = str(endpoint["Address"]), int(endpoint["Port"])
    if token is None:
        kept = password_in(stored_url, host=host)
        if kept is None:
            token = generate(AUTH_TOKEN_LENGTH)
            # ROTATE: the new token works at once, beside whatever the old one was.
            elasticache.modify_replication_group(
                ReplicationGroupId=spec.identifier, AuthToken=token,
                AuthTokenUpdateStrategy="ROTATE", ApplyImmediately=True)
            changes.note("auth token (the stored URL was missing)")
        else:
            token = kept
    results.append(changes.result(id=group.get("ARN")))
    return results, redis_url(token=token, host=host, port=port)


def _available(elasticache: Any, identifier: str) -> dict[str, Any]:
    elasticache.get_waiter("replication_group_available").wait(
        ReplicationGroupId=identifier,
        WaiterConfig={"Delay": 30, "MaxAttempts": CREATE_WAIT_S // 30})
    group = _describe(elasticache, identifier)
    if not group or not group.get("NodeGroups"):
        raise ProvisionError(f"Redis {identifier} has no endpoint yet; run again later")
    return group
