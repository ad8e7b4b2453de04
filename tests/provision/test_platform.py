"""From an empty account to the whole platform, in the README's order, read back from moto:
network, database, Redis and the settings secret; the functions in the database's subnets;
then the fleet, the gateway with its DNS name, and the control group. Each run, repeated,
changes nothing; no password reaches the report."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support.provisioning import provision_json
from videoforge.cli import main
from videoforge.provision import runtime_config

ZONE_NAME = "videos.example"


def _base(names: dict[str, str]) -> list[str]:
    return ["--user-pool-name", names["pool"], "--name-prefix", names["prefix"],
            "--with-database", "--with-redis"]


def _everything(names: dict[str, str], zone: str) -> list[str]:
    return [*_base(names), "--with-fleet", "--ami-id", "ami-12345678", "--lifecycle-hook",
            "drain", "--with-gateway", "--gateway-ami-id", "ami-87654321", "--with-control",
            "--control-ami-id", "ami-11223344", "--domain-name", f"www.{ZONE_NAME}",
            "--hosted-zone-id", zone]


def _groups(ec2: Any, outputs: dict[str, str]) -> dict[str, dict[int, set[str]]]:
    """Each group's ingress: port → the groups it lets in."""
    found = {}
    for part in ("workers", "gateway", "control", "lambdas", "monitoring", "database",
                 "redis"):
        group = ec2.describe_security_groups(GroupIds=[outputs[f"{part}_security_group"]])[
            "SecurityGroups"][0]
        found[part] = {r["FromPort"]: {p["GroupId"] for p in r["UserIdGroupPairs"]}
                       for r in group["IpPermissions"]}
        assert not [r for r in group["IpPermissions"] if r.get("IpRanges")], part
    return found


def _secret(client: Any, prefix: str) -> dict[str, str]:
    stored = runtime_config.read(client("secretsmanager"), runtime_config.secret_name(prefix))
    assert stored is not None
    return stored


def _no_secrets_in(text: str, stored: dict[str, str]) -> None:
    for key in ("VF_DATABASE_URL", "VF_REDIS_URL"):
        password = stored[key].split("@", 1)[0].rsplit(":", 1)[1]
        assert len(password) >= 32 and password not in text, key
    assert stored["VF_STREAM_SIGNING_KEY"] not in text


def test_network_database_redis_and_the_settings(names: dict[str, str], client: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    prefix = names["prefix"]
    first = provision_json(capsys, *_base(names))
    out = first["outputs"]
    ec2, rds, cache = client("ec2"), client("rds"), client("elasticache")

    private = out["private_subnets"].split(",")
    subnets = ec2.describe_subnets(SubnetIds=private)["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)
    (table,) = ec2.describe_route_tables(Filters=[
        {"Name": "tag:Name", "Values": [f"{prefix}-private"]}])["RouteTables"]
    assert {a["SubnetId"] for a in table["Associations"] if "SubnetId" in a} == set(private)
    (default,) = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    nat = ec2.describe_nat_gateways(NatGatewayIds=[default["NatGatewayId"]])["NatGateways"][0]
    assert nat["SubnetId"] not in private  # in a public subnet, the way out
    (s3,) = ec2.describe_vpc_endpoints(Filters=[
        {"Name": "vpc-id", "Values": [out["vpc_id"]]},
        {"Name": "service-name", "Values": ["com.amazonaws.us-east-1.s3"]}])["VpcEndpoints"]
    assert table["RouteTableId"] in s3["RouteTableIds"]

    groups = _groups(ec2, out)
    ids = {part: out[f"{part}_security_group"] for part in groups}
    assert groups["database"] == {5432: {ids["workers"], ids["gateway"], ids["control"],
                                         ids["lambdas"]}}
    assert groups["redis"] == {6379: {ids["gateway"], ids["lambdas"]}}
    assert groups["lambdas"] == {} and groups["monitoring"] == {}
    assert groups["control"] == {port: {ids["monitoring"]} for port in (9102, 9103, 9100)}
    assert groups["workers"] == {port: {ids["monitoring"]} for port in (9101, 9100)}

    db = rds.describe_db_instances(DBInstanceIdentifier=prefix)["DBInstances"][0]
    assert (db["Engine"], db["PubliclyAccessible"], db["StorageEncrypted"]) == ("postgres",
                                                                               False, True)
    assert db["DeletionProtection"] is True and db["BackupRetentionPeriod"] == 7
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == prefix
    assert {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]} == set(private)
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [ids["database"]]
    redis = cache.describe_replication_groups(ReplicationGroupId=prefix)["ReplicationGroups"][0]
    assert redis["TransitEncryptionEnabled"] and redis["AtRestEncryptionEnabled"]

    stored = _secret(client, prefix)
    host = db["Endpoint"]["Address"]
    assert stored["VF_DATABASE_URL"].startswith("postgresql://videoforge:")
    assert stored["VF_DATABASE_URL"].endswith(f"@{host}:5432/videoforge?sslmode=require")
    endpoint = redis["NodeGroups"][0]["PrimaryEndpoint"]
    assert stored["VF_REDIS_URL"].startswith("rediss://:")
    assert stored["VF_REDIS_URL"].endswith(f"@{endpoint['Address']}:{endpoint['Port']}/0")
    assert stored["VF_MEDIA_BUCKET"] == names["VF_MEDIA_BUCKET"]
    assert stored["VF_COGNITO_USER_POOL_ID"] == out["user_pool_id"]
    assert first["env"]["VF_RUNTIME_SECRET"] == f"{prefix}/runtime"
    assert out["database_endpoint"] == f"{host}:5432"

    second = provision_json(capsys, *_base(names))
    assert not second["changed"], [r for r in second["resources"] if r["outcome"] != "unchanged"]
    assert _secret(client, prefix) == stored
    _no_secrets_in(json.dumps(first) + json.dumps(second), stored)

    # A lost URL: the next run sets a new password (the old one is nowhere to be read).
    sm = client("secretsmanager")
    broken = {k: v for k, v in stored.items() if k != "VF_DATABASE_URL"}
    sm.put_secret_value(SecretId=f"{prefix}/runtime", SecretString=json.dumps(broken))
    healed = provision_json(capsys, *_base(names))
    changes = {r["name"]: r["changes"] for r in healed["resources"] if r["outcome"] != "unchanged"}
    assert changes[prefix] == ["master password (the stored URL was missing)"]
    again = _secret(client, prefix)
    assert again["VF_DATABASE_URL"] != stored["VF_DATABASE_URL"]
    assert again["VF_DATABASE_URL"].endswith(f"@{host}:5432/videoforge?sslmode=require")


def test_functions_run_in_the_database_subnets_with_the_stored_settings(
        names: dict[str, str], client: Any, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = names["prefix"]
    out = provision_json(capsys, *_base(names))["outputs"]
    monkeypatch.delenv("VF_DATABASE_URL", raising=False)
    monkeypatch.setenv("VF_LOG_LEVEL", "DEBUG")  # the shell's own settings still win
    code = main(["deploy", "lambdas", "--name-prefix", prefix, "--json"])
    deployed = capsys.readouterr()
    assert code == 0, deployed.err
    stored = _secret(client, prefix)
    for service in ("gallery", "streaming"):
        config = client("lambda").get_function(FunctionName=f"{prefix}-{service}")[
            "Configuration"]
        assert sorted(config["VpcConfig"]["SubnetIds"]) == out["private_subnets"].split(",")
        assert config["VpcConfig"]["SecurityGroupIds"] == [out["lambdas_security_group"]]
        variables = config["Environment"]["Variables"]
        assert variables["VF_DATABASE_URL"] == stored["VF_DATABASE_URL"]
        assert variables["VF_REDIS_URL"] == stored["VF_REDIS_URL"]
        assert variables["VF_LOG_LEVEL"] == "DEBUG"
        if service == "streaming":  # the HLS grant key (gallery has no such setting)
            assert variables["VF_STREAM_SIGNING_KEY"] == stored["VF_STREAM_SIGNING_KEY"]
    _no_secrets_in(deployed.out, stored)
    assert main(["deploy", "lambdas", "--name-prefix", prefix, "--json"]) == 0
    assert not json.loads(capsys.readouterr().out)["changed"]

    # Out of the VPC on request; a second run puts nothing back.
    assert main(["deploy", "lambdas", "--name-prefix", prefix, "--no-vpc", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["name"]: r["changes"] for r in report["resources"]
            if r["outcome"] == "updated"} == {f"{prefix}-{s}": ["VpcConfig"]
                                              for s in ("gallery", "streaming")}
    assert main(["deploy", "lambdas", "--name-prefix", prefix, "--no-vpc",
                 "--security-group-ids", "sg-1"]) == 2
    assert "--no-vpc takes no security groups" in capsys.readouterr().err


def test_fleet_gateway_dns_and_control_point_at_the_settings(
        names: dict[str, str], client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = names["prefix"]
    zone = client("route53").create_hosted_zone(
        Name=ZONE_NAME, CallerReference=prefix)["HostedZone"]["Id"].rsplit("/", 1)[1]
    provision_json(capsys, *_base(names))
    assert main(["deploy", "lambdas", "--name-prefix", prefix, "--json"]) == 0
    api_url = json.loads(capsys.readouterr().out)["outputs"]["gallery_url"]

    first = provision_json(capsys, *_everything(names, zone))
    out = first["outputs"]
    stored = _secret(client, prefix)
    assert stored["VF_GALLERY_URL"] == stored["VF_STREAMING_URL"] == api_url
    assert stored["VF_AUTOSCALER_ASG_NAME"] == names["VF_AUTOSCALER_ASG_NAME"]
    assert stored["VF_LIFECYCLE_HOOK"] == "drain"

    ec2, autoscaling = client("ec2"), client("autoscaling")
    launches = {
        names["VF_AUTOSCALER_ASG_NAME"]: ("worker", out["workers_security_group"]),
        f"{prefix}-gateway": ("gateway", out["gateway_security_group"]),
        f"{prefix}-control": ("controller", out["control_security_group"]),
    }
    for template_name, (role, group) in launches.items():
        data = ec2.describe_launch_template_versions(
            LaunchTemplateName=template_name, Versions=["$Default"])[
            "LaunchTemplateVersions"][0]["LaunchTemplateData"]
        assert data["IamInstanceProfile"] == {"Name": f"{prefix}-{role}"}, template_name
        assert data["SecurityGroupIds"] == [group], template_name
        user_data = base64.b64decode(data["UserData"]).decode()
        assert user_data.startswith("#cloud-config\n")
        (entry,) = json.loads(user_data.split("\n", 1)[1])["write_files"]
        assert entry["path"] == "/etc/videoforge/instance.env"
        assert entry["content"] == (f'VF_RUNTIME_SECRET="{prefix}/runtime"\n'
                                    'VF_AWS_REGION="us-east-1"\n')
    control = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{prefix}-control"])["AutoScalingGroups"][0]
    assert (control["MinSize"], control["MaxSize"], control["DesiredCapacity"]) == (1, 1, 1)

    balancer = client("elbv2").describe_load_balancers(Names=[f"{prefix}-gateway"])[
        "LoadBalancers"][0]
    records = client("route53").list_resource_record_sets(HostedZoneId=zone)[
        "ResourceRecordSets"]
    (alias,) = [r for r in records if r["Type"] == "A"]
    assert alias["Name"] == f"www.{ZONE_NAME}."
    assert alias["AliasTarget"]["DNSName"].rstrip(".") == balancer["DNSName"]
    assert out["site_url"] == f"http://www.{ZONE_NAME}"
    cors = client("s3").get_bucket_cors(Bucket=names["VF_UPLOADS_BUCKET"])["CORSRules"]
    assert cors[0]["AllowedOrigins"] == [f"http://www.{ZONE_NAME}"]

    second = provision_json(capsys, *_everything(names, zone))
    assert not second["changed"], [r for r in second["resources"] if r["outcome"] != "unchanged"]
    _no_secrets_in(json.dumps(first) + json.dumps(second), stored)


def test_bad_combinations_are_refused(names: dict[str, str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provision", "--with-database", "--database-url", "postgresql://x/y"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["provision", "--hosted-zone-id", "Z123"]) == 2
    assert "--hosted-zone-id goes with --domain-name" in capsys.readouterr().err


def test_the_monitoring_host_reaches_only_the_metrics_ports(
        names: dict[str, str], client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--user-pool-name", names["pool"], "--name-prefix", names["prefix"],
            "--with-fleet", "--ami-id", "ami-12345678"]
    out = provision_json(capsys, *args)["outputs"]
    ec2, monitoring = client("ec2"), out["monitoring_security_group"]
    workers = out["workers_security_group"]
    # A port opened to the monitoring host by hand (or by an older version), and an
    # operator's own rule from elsewhere.
    ec2.authorize_security_group_ingress(GroupId=workers, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "UserIdGroupPairs": [{"GroupId": monitoring}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}])
    again = provision_json(capsys, *args)
    (result,) = [r for r in again["resources"] if r["name"] == f"{names['prefix']}-workers"
                 and r["kind"] == "security group"]
    assert result["outcome"] == "updated" and result["changes"] == ["stray ingress"]
    rules = ec2.describe_security_groups(GroupIds=[workers])["SecurityGroups"][0][
        "IpPermissions"]
    from_monitoring = {r["FromPort"] for r in rules
                       if any(p["GroupId"] == monitoring for p in r["UserIdGroupPairs"])}
    assert from_monitoring == {9101, 9100}
    assert [r["IpRanges"] for r in rules if r["FromPort"] == 22] == [[{"CidrIp": "10.1.0.0/16"}]]
    assert not provision_json(capsys, *args)["changed"]
