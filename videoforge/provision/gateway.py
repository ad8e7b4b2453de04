"""The gateway's place on AWS: an application load balancer (HTTP, or HTTPS with a
certificate and HTTP redirected to it), a target group whose health check is the
gateway's ``/healthz``, security groups that let the internet reach only the balancer and
the balancer reach only the gateway's port, and the gateway's own launch template and
Auto Scaling group (registered in the target group, replaced when its check fails)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from videoforge.provision.fleet import FleetSpec, ensure_fleet, find_subnets
from videoforge.provision.network import ensure_security_group, tcp, vpc_of
from videoforge.provision.results import Changes, Result, error_code

GATEWAY_PORT = 8000
HEALTH_CHECK_PATH = "/healthz"
# Connections get this long to finish when an instance leaves (scale-in, replacement);
# the unit's stop timeout covers it (ansible/roles/gateway).
DEREGISTRATION_DELAY_S = 30
HEALTH_CHECK = {"HealthCheckProtocol": "HTTP", "HealthCheckPath": HEALTH_CHECK_PATH,
                "HealthCheckIntervalSeconds": 15, "HealthCheckTimeoutSeconds": 5,
                "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 3}
# Packer names the gateway image videoforge-gateway-<timestamp> (packer/images.pkr.hcl).
AMI_NAME_PATTERN = "videoforge-gateway-*"


@dataclass(frozen=True)
class GatewaySpec:
    name: str = "videoforge-gateway"
    fleet: FleetSpec = FleetSpec(group_name="videoforge-gateway",
                                 template_name="videoforge-gateway",
                                 ami_pattern=AMI_NAME_PATTERN, instance_type="t3.small",
                                 min_size=2, max_size=4, desired=2,
                                 health_check_grace_s=120)
    certificate_arn: str | None = None      # None: plain HTTP on port 80
    # The site's name, an alias of the load balancer in this Route 53 hosted zone.
    domain_name: str | None = None
    hosted_zone_id: str | None = None


def ensure_target_group(elb: Any, *, name: str, vpc: str) -> tuple[Result, str]:
    changes = Changes("target group", name)
    try:
        group = elb.describe_target_groups(Names=[name])["TargetGroups"][0]
    except ClientError as exc:
        if error_code(exc) != "TargetGroupNotFound":
            raise
        group = elb.create_target_group(Name=name, Protocol="HTTP", Port=GATEWAY_PORT,
                                        VpcId=vpc, TargetType="instance",
                                        Matcher={"HttpCode": "200"},
                                        **HEALTH_CHECK)["TargetGroups"][0]
        changes.created = True
    arn = str(group["TargetGroupArn"])
    current = {k: group.get(k) for k in HEALTH_CHECK}
    changes.converge("health check", current, HEALTH_CHECK, lambda: elb.modify_target_group(
        TargetGroupArn=arn, Matcher={"HttpCode": "200"}, **HEALTH_CHECK))
    attributes = {a["Key"]: a["Value"] for a in
                  elb.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
    delay = str(DEREGISTRATION_DELAY_S)
    changes.converge("deregistration delay",
                     attributes.get("deregistration_delay.timeout_seconds"), delay,
                     lambda: elb.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
                         {"Key": "deregistration_delay.timeout_seconds", "Value": delay}]))
    return changes.result(id=arn), arn


def ensure_load_balancer(elb: Any, *, name: str, subnets: list[str], security_group: str
                         ) -> tuple[Result, dict[str, Any]]:
    changes = Changes("load balancer", name)
    try:
        balancer = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except ClientError as exc:
        if error_code(exc) != "LoadBalancerNotFound":
            raise
        balancer = elb.create_load_balancer(
            Name=name, Subnets=subnets, SecurityGroups=[security_group],
            Scheme="internet-facing", Type="application", IpAddressType="ipv4",
            Tags=[{"Key": "Application", "Value": "videoforge"}])["LoadBalancers"][0]
        changes.created = True
    if sorted(balancer.get("SecurityGroups") or []) != [security_group]:
        elb.set_security_groups(LoadBalancerArn=balancer["LoadBalancerArn"],
                                SecurityGroups=[security_group])
        changes.note("security groups")
    return changes.result(id=balancer["LoadBalancerArn"]), balancer


def _listener_specs(target_group: str, certificate: str | None) -> dict[int, dict[str, Any]]:
    forward = [{"Type": "forward", "TargetGroupArn": target_group}]
    if not certificate:
        return {80: {"Protocol": "HTTP", "DefaultActions": forward}}
    redirect = [{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
    return {80: {"Protocol": "HTTP", "DefaultActions": redirect},
            443: {"Protocol": "HTTPS", "DefaultActions": forward,
                  "Certificates": [{"CertificateArn": certificate}],
                  "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}}


def ensure_listeners(elb: Any, balancer_arn: str, target_group: str,
                     certificate: str | None) -> list[Result]:
    existing = {int(listener["Port"]): listener for listener in
                elb.describe_listeners(LoadBalancerArn=balancer_arn)["Listeners"]}
    results = []
    for port, spec in _listener_specs(target_group, certificate).items():
        changes = Changes("listener", f"{port}/{spec['Protocol']}")
        current = existing.get(port)
        if current is None:
            elb.create_listener(LoadBalancerArn=balancer_arn, Port=port, **spec)
            changes.created = True
        else:
            actual = [{k: v for k, v in a.items() if k in ("Type", "TargetGroupArn")}
                      for a in current.get("DefaultActions", [])]
            wanted = [{k: v for k, v in a.items() if k in ("Type", "TargetGroupArn")}
                      for a in spec["DefaultActions"]]
            if (current.get("Protocol"), actual) != (spec["Protocol"], wanted):
                elb.modify_listener(ListenerArn=current["ListenerArn"], Port=port, **spec)
                changes.note("actions")
        results.append(changes.result())
    return results


def ensure_alias_record(route53: Any, *, zone: str, name: str, balancer: dict[str, Any]
                        ) -> Result:
    """``name`` → the load balancer, an alias A record (it follows the balancer's addresses,
    and Route 53 answers it without a charge per query)."""
    fqdn = name.rstrip(".") + "."
    changes = Changes("dns record", fqdn)
    target = {"HostedZoneId": balancer["CanonicalHostedZoneId"],
              "DNSName": balancer["DNSName"].rstrip(".") + ".", "EvaluateTargetHealth": True}
    found = route53.list_resource_record_sets(HostedZoneId=zone, StartRecordName=fqdn,
                                              StartRecordType="A", MaxItems="1")
    current = next((r.get("AliasTarget") for r in found["ResourceRecordSets"]
                    if r["Name"] == fqdn and r["Type"] == "A"), None)
    changes.created = current is None

    def norm(alias: dict[str, Any] | None) -> tuple[Any, ...] | None:
        return None if alias is None else (alias["HostedZoneId"], alias["DNSName"].lower(),
                                           alias.get("EvaluateTargetHealth"))

    changes.converge("target", norm(current), norm(target), lambda: (
        route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={
            "Comment": "VideoForge gateway", "Changes": [{"Action": "UPSERT",
                "ResourceRecordSet": {"Name": fqdn, "Type": "A", "AliasTarget": target}}]})))
    return changes.result()


def ensure_gateway(ec2: Any, elb: Any, autoscaling: Any, spec: GatewaySpec, *,
                   route53: Any = None) -> tuple[list[Result], dict[str, str]]:
    subnets = find_subnets(ec2, spec.fleet.subnet_ids)
    vpc = vpc_of(ec2, subnets)
    results = []
    lb_result, lb_group = ensure_security_group(
        ec2, name=f"{spec.name}-lb", vpc=vpc, description="VideoForge gateway load balancer",
        ingress=[tcp(80, cidr="0.0.0.0/0")] + (
            [tcp(443, cidr="0.0.0.0/0")] if spec.certificate_arn else []))
    instance_result, instance_group = ensure_security_group(
        ec2, name=spec.name, vpc=vpc, description="VideoForge gateway instances",
        ingress=[tcp(GATEWAY_PORT, group=lb_group)])
    target_result, target_group = ensure_target_group(elb, name=spec.name, vpc=vpc)
    balancer_result, balancer = ensure_load_balancer(elb, name=spec.name, subnets=subnets,
                                                     security_group=lb_group)
    results += [lb_result, instance_result, target_result, balancer_result]
    results += ensure_listeners(elb, balancer["LoadBalancerArn"], target_group,
                                spec.certificate_arn)
    fleet = replace(spec.fleet, subnet_ids=tuple(subnets),
                    security_group_ids=(instance_group,), target_group_arns=(target_group,))
    fleet_results, fleet_outputs = ensure_fleet(ec2, autoscaling, fleet)
    results += fleet_results
    scheme = "https" if spec.certificate_arn else "http"
    if spec.domain_name and spec.hosted_zone_id and route53 is not None:
        results.append(ensure_alias_record(route53, zone=spec.hosted_zone_id,
                                           name=spec.domain_name, balancer=balancer))
    outputs = {"load_balancer_url": f"{scheme}://{balancer['DNSName']}",
               "gateway_target_group": target_group,
               "gateway_auto_scaling_group": fleet.group_name,
               "gateway_launch_template_id": fleet_outputs["launch_template_id"],
               "gateway_ami_id": fleet_outputs["ami_id"]}
    if spec.domain_name:
        outputs["site_url"] = f"{scheme}://{spec.domain_name.rstrip('.')}"
    return results, outputs
