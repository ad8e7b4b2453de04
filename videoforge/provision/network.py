"""The network the platform runs in: one security group per part, each letting in only
what reaches it, and (for the database, Redis and the Lambda functions) private subnets
whose way out is a NAT gateway.

Who may reach whom (nothing else is open; egress is AWS's default, anywhere):

| group | lets in |
|---|---|
| PREFIX-workers | metrics 9101 and node 9100 from PREFIX-monitoring |
| PREFIX-gateway | 8000 from its load balancer (gateway.py); 9104, 9100 from monitoring |
| PREFIX-control | autoscaler 9102, notifier 9103, node 9100 from monitoring |
| PREFIX-lambda | nothing (the functions only call out) |
| PREFIX-monitoring | nothing (the operator adds their own access to Grafana) |
| PREFIX-db | PostgreSQL 5432 from workers, gateway, control, lambda |
| PREFIX-redis | Redis 6379 from gateway and lambda (rate limits, view counts) |

The private subnets (one per availability zone, two zones: RDS wants two) hold the
database, Redis and the functions. Functions in a VPC have no internet address, yet they
call SQS, S3 and Cognito's key set: the private route table sends S3 to a gateway endpoint
(free) and everything else to one NAT gateway in a public subnet.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from gateway.settings import GatewaySettings
from notifier.settings import NotifierSettings
from processor.autoscaler.settings import AutoscalerSettings
from processor.settings import ProcessorSettings
from videoforge.provision.results import Changes, ProvisionError, Result

PRIVATE_ZONES = 2
# Each private subnet is a /20 (4091 usable addresses: Lambda takes one per ENI).
PRIVATE_PREFIX_LENGTH = 20


def _default(settings: Any, field: str) -> int:
    return int(settings.model_fields[field].default)


# The metrics listeners each part's instances run, at their settings' defaults (what the
# images bake), and the monitoring role scrapes (ansible/roles/monitoring defaults).
METRICS_PORTS = {
    "workers": (_default(ProcessorSettings, "metrics_port"),),
    "gateway": (_default(GatewaySettings, "gateway_metrics_port"),),
    "control": (_default(AutoscalerSettings, "autoscaler_metrics_port"),
                _default(NotifierSettings, "notifier_metrics_port")),
}
NODE_EXPORTER_PORT = 9100
POSTGRES_PORT, REDIS_PORT = 5432, 6379


def tcp(port: int, *, cidr: str | None = None, group: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if cidr:
        rule["IpRanges"] = [{"CidrIp": cidr}]
    if group:
        rule["UserIdGroupPairs"] = [{"GroupId": group}]
    return rule


def _tags(name: str) -> list[dict[str, Any]]:
    return [{"Key": "Name", "Value": name}, {"Key": "Application", "Value": "videoforge"}]


def vpc_of(ec2: Any, subnets: list[str]) -> str:
    found = ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
    vpcs = {s["VpcId"] for s in found}
    if len(vpcs) != 1:
        raise ProvisionError(f"the subnets are in {len(vpcs)} VPCs; give subnets of one",
                             exit_code=2)
    return str(vpcs.pop())


def ensure_security_group(ec2: Any, *, name: str, vpc: str, description: str,
                          ingress: list[dict[str, Any]], exclusive_for: frozenset[str] = frozenset()
                          ) -> tuple[Result, str]:
    """The group, with at least ``ingress``: rules are added, never taken away, except
    those letting in a group of ``exclusive_for``, which may reach only what ``ingress``
    opens to it (a port opened by hand or by an older version is closed again)."""
    changes = Changes("security group", name)
    found = ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc]}]
    )["SecurityGroups"]
    if found:
        group = found[0]
    else:
        group = {"GroupId": ec2.create_security_group(
            GroupName=name, VpcId=vpc, Description=description, TagSpecifications=[
                {"ResourceType": "security-group", "Tags": _tags(name)}])["GroupId"],
                 "IpPermissions": []}
        changes.created = True
    group_id = str(group["GroupId"])

    def key(rule: dict[str, Any]) -> tuple[Any, ...]:
        return (rule.get("IpProtocol"), rule.get("FromPort"), rule.get("ToPort"),
                tuple(sorted(r["CidrIp"] for r in rule.get("IpRanges", []))),
                tuple(sorted(p["GroupId"] for p in rule.get("UserIdGroupPairs", []))))

    present = [single for rule in group.get("IpPermissions", []) for single in _split(rule)]
    have = {key(single) for single in present}
    missing = [rule for rule in ingress if key(rule) not in have]
    if missing:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=missing)
        changes.note("ingress")
    wanted = {key(single) for rule in ingress for single in _split(rule)}
    stray = [single for single in present if key(single) not in wanted
             and {p["GroupId"] for p in single.get("UserIdGroupPairs", [])} & exclusive_for]
    if stray:
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=stray)
        changes.note("stray ingress")
    return changes.result(id=group_id), group_id


def _split(rule: dict[str, Any]) -> list[dict[str, Any]]:
    """One rule per source: EC2 merges the sources of rules with the same ports."""
    base = {k: rule.get(k) for k in ("IpProtocol", "FromPort", "ToPort")}
    return ([{**base, "IpRanges": [r]} for r in rule.get("IpRanges", [])]
            + [{**base, "UserIdGroupPairs": [{"GroupId": p["GroupId"]}]}
               for p in rule.get("UserIdGroupPairs", [])])


@dataclass(frozen=True)
class SecurityGroups:
    workers: str
    gateway: str
    control: str
    lambdas: str
    monitoring: str
    database: str
    redis: str


def group_name(prefix: str, part: str) -> str:
    return f"{prefix}-{part}"


def ensure_security_groups(ec2: Any, *, prefix: str, vpc: str
                           ) -> tuple[list[Result], SecurityGroups]:
    results: list[Result] = []
    ids: dict[str, str] = {}

    def group(part: str, description: str, ingress: list[dict[str, Any]]) -> None:
        # The monitoring host reaches each part's metrics ports and nothing else.
        watched = frozenset(ids[m] for m in ("monitoring",) if m in ids)
        result, ids[part] = ensure_security_group(
            ec2, name=group_name(prefix, part), vpc=vpc,
            description=f"VideoForge {description}", ingress=ingress, exclusive_for=watched)
        results.append(result)

    group("monitoring", "monitoring host (Prometheus scrapes from here)", [])
    for part, ports in METRICS_PORTS.items():
        group(part, f"{part} instances", [tcp(p, group=ids["monitoring"])
                                          for p in (*ports, NODE_EXPORTER_PORT)])
    group("lambda", "Lambda functions (gallery, streaming)", [])
    group("db", "PostgreSQL", [tcp(POSTGRES_PORT, group=ids[part])
                               for part in ("workers", "gateway", "control", "lambda")])
    group("redis", "Redis", [tcp(REDIS_PORT, group=ids[part]) for part in ("gateway", "lambda")])
    return results, SecurityGroups(
        workers=ids["workers"], gateway=ids["gateway"], control=ids["control"],
        lambdas=ids["lambda"], monitoring=ids["monitoring"], database=ids["db"],
        redis=ids["redis"])


def private_subnet_name(prefix: str, zone: str) -> str:
    return f"{prefix}-private-{zone}"


def find_private_subnets(ec2: Any, prefix: str) -> list[str]:
    """The private subnets provision made for ``prefix`` (by their Name tag)."""
    found = ec2.describe_subnets(Filters=[
        {"Name": "tag:Name", "Values": [private_subnet_name(prefix, "*")]}])["Subnets"]
    return sorted(str(s["SubnetId"]) for s in found)


def _free_blocks(vpc_cidr: str, used: list[str], count: int) -> list[str]:
    """``count`` free blocks from the top of the VPC's range (default subnets fill it
    from the bottom)."""
    if not count:
        return []
    taken = [ipaddress.ip_network(c) for c in used]
    free = [block for block in ipaddress.ip_network(vpc_cidr).subnets(
        new_prefix=PRIVATE_PREFIX_LENGTH) if not any(block.overlaps(t) for t in taken)]
    if len(free) < count:
        raise ProvisionError(f"no room for {count} /{PRIVATE_PREFIX_LENGTH} subnets in "
                             f"{vpc_cidr}: pass --private-subnet-ids", exit_code=2)
    return [str(block) for block in free[-count:]]


def ensure_private_subnets(ec2: Any, *, prefix: str, vpc: str, public_subnets: list[str]
                           ) -> tuple[list[Result], list[str]]:
    """Two private subnets (the zones of the first public ones), a route table through a
    NAT gateway in a public subnet, and the S3 gateway endpoint on it."""
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    public = [s for s in subnets if s["SubnetId"] in public_subnets]
    zones = sorted({s["AvailabilityZone"] for s in public})[:PRIVATE_ZONES]
    if len(zones) < PRIVATE_ZONES:
        raise ProvisionError(f"the public subnets span {len(zones)} availability zone(s); "
                             f"the database needs {PRIVATE_ZONES}", exit_code=2)
    existing = {s["AvailabilityZone"]: s for s in subnets
                if _name(s) == private_subnet_name(prefix, s["AvailabilityZone"])}
    missing = [zone for zone in zones if zone not in existing]
    cidr = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["CidrBlock"]
    blocks = _free_blocks(cidr, [s["CidrBlock"] for s in subnets], len(missing))
    results = []
    for zone, block in zip(missing, blocks, strict=True):
        name = private_subnet_name(prefix, zone)
        existing[zone] = ec2.create_subnet(
            VpcId=vpc, CidrBlock=block, AvailabilityZone=zone, TagSpecifications=[
                {"ResourceType": "subnet", "Tags": _tags(name)}])["Subnet"]
        results.append(Changes("subnet", name, created=True).result(
            id=existing[zone]["SubnetId"]))
    for zone in zones:
        if zone not in missing:
            results.append(Changes("subnet", private_subnet_name(prefix, zone)).result(
                id=existing[zone]["SubnetId"]))
    private = sorted(str(existing[zone]["SubnetId"]) for zone in zones)
    nat_result, nat = _ensure_nat(ec2, prefix=prefix, subnet=sorted(p["SubnetId"]
                                                                    for p in public)[0])
    table_result, table = _ensure_route_table(ec2, prefix=prefix, vpc=vpc, nat=nat,
                                              subnets=private)
    endpoint = _ensure_s3_endpoint(ec2, prefix=prefix, vpc=vpc, route_table=table)
    return [*results, nat_result, table_result, endpoint], private


def _name(resource: dict[str, Any]) -> str | None:
    return next((t["Value"] for t in resource.get("Tags", []) if t["Key"] == "Name"), None)


def _ensure_nat(ec2: Any, *, prefix: str, subnet: str) -> tuple[Result, str]:
    name = f"{prefix}-nat"
    changes = Changes("nat gateway", name)
    found = ec2.describe_nat_gateways(Filters=[
        {"Name": "tag:Name", "Values": [name]},
        {"Name": "state", "Values": ["pending", "available"]}])["NatGateways"]
    if found:
        return changes.result(id=found[0]["NatGatewayId"]), str(found[0]["NatGatewayId"])
    address = ec2.allocate_address(Domain="vpc", TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": _tags(name)}])
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=address["AllocationId"],
                                 TagSpecifications=[{"ResourceType": "natgateway",
                                                     "Tags": _tags(name)}])["NatGateway"]
    nat_id = str(nat["NatGatewayId"])
    # A route to a NAT gateway that is still pending is refused (a minute or two).
    ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[nat_id],
                                                 WaiterConfig={"Delay": 10, "MaxAttempts": 60})
    changes.created = True
    return changes.result(id=nat_id), nat_id


def _ensure_route_table(ec2: Any, *, prefix: str, vpc: str, nat: str, subnets: list[str]
                        ) -> tuple[Result, str]:
    name = f"{prefix}-private"
    changes = Changes("route table", name)
    found = ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": [name]},
                                              {"Name": "vpc-id", "Values": [vpc]}])
    if found["RouteTables"]:
        table = found["RouteTables"][0]
    else:
        table = ec2.create_route_table(VpcId=vpc, TagSpecifications=[
            {"ResourceType": "route-table", "Tags": _tags(name)}])["RouteTable"]
        changes.created = True
    table_id = str(table["RouteTableId"])
    default = [r for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    if not default:
        ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0",
                         NatGatewayId=nat)
        changes.note("default route")
    elif default[0].get("NatGatewayId") != nat:
        ec2.replace_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0",
                          NatGatewayId=nat)
        changes.note("default route")
    associated = {a.get("SubnetId") for a in table.get("Associations", [])}
    for subnet in subnets:
        if subnet not in associated:
            _associate(ec2, table_id, subnet)
            changes.note(f"subnet {subnet}")
    return changes.result(id=table_id), table_id


def _associate(ec2: Any, table: str, subnet: str) -> None:
    """Move ``subnet`` onto ``table`` (from the main table, or another one)."""
    current = ec2.describe_route_tables(Filters=[
        {"Name": "association.subnet-id", "Values": [subnet]}])["RouteTables"]
    for other in current:
        for association in other.get("Associations", []):
            if association.get("SubnetId") == subnet:
                ec2.replace_route_table_association(
                    AssociationId=association["RouteTableAssociationId"], RouteTableId=table)
                return
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)


def _ensure_s3_endpoint(ec2: Any, *, prefix: str, vpc: str, route_table: str) -> Result:
    name = f"{prefix}-s3"
    changes = Changes("vpc endpoint", name)
    region = ec2.meta.region_name
    service = f"com.amazonaws.{region}.s3"
    found = ec2.describe_vpc_endpoints(Filters=[
        {"Name": "vpc-id", "Values": [vpc]}, {"Name": "service-name", "Values": [service]},
        {"Name": "vpc-endpoint-type", "Values": ["Gateway"]}])["VpcEndpoints"]
    found = [e for e in found if e.get("State", "available").lower() not in {"deleted",
                                                                              "deleting"}]
    if not found:
        endpoint = ec2.create_vpc_endpoint(
            VpcId=vpc, ServiceName=service, VpcEndpointType="Gateway",
            RouteTableIds=[route_table], TagSpecifications=[
                {"ResourceType": "vpc-endpoint", "Tags": _tags(name)}])["VpcEndpoint"]
        changes.created = True
        return changes.result(id=endpoint["VpcEndpointId"])
    endpoint = found[0]
    if route_table not in endpoint.get("RouteTableIds", []):
        ec2.modify_vpc_endpoint(VpcEndpointId=endpoint["VpcEndpointId"],
                                AddRouteTableIds=[route_table])
        changes.note("route tables")
    return changes.result(id=endpoint["VpcEndpointId"])
