"""The PostgreSQL database (RDS): private (no public address, only the platform's security
groups reach it), encrypted, backed up, protected from deletion, TLS required by the URL.

Its master password is generated here and lives only in the provisioned settings secret
(runtime_config), inside the URL every process gets as VF_DATABASE_URL. If that URL is
ever lost while the database exists, a run sets a new password (and says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from videoforge.provision.results import Changes, ProvisionError, Result, error_code
from videoforge.provision.runtime_config import generate, password_in

# RDS for PostgreSQL: the engine's major version (RDS picks its default minor).
ENGINE_VERSION = "16"
# Minutes: RDS takes 5–15 to create an instance; the run waits to learn its address.
CREATE_WAIT_S = 40 * 60


@dataclass(frozen=True)
class DatabaseSpec:
    identifier: str = "videoforge"
    instance_class: str = "db.t4g.micro"
    storage_gb: int = 20
    # Storage autoscaling grows the volume up to this without downtime.
    max_storage_gb: int = 200
    multi_az: bool = False
    backup_retention_days: int = 7
    deletion_protection: bool = True
    database: str = "videoforge"
    username: str = "videoforge"
    engine_version: str = ENGINE_VERSION
    kms_key_id: str | None = None

    def validate(self) -> None:
        # RDS limits (RDS User Guide, "Creating a DB instance"): gp3 storage 20..65536 GiB,
        # backups kept 0..35 days.
        if not 20 <= self.storage_gb <= self.max_storage_gb <= 65536:
            raise ProvisionError("need 20 <= database storage <= max storage <= 65536 GiB",
                                 exit_code=2)
        if not 1 <= self.backup_retention_days <= 35:
            raise ProvisionError("database backups are kept 1..35 days", exit_code=2)


def database_url(*, username: str, password: str, host: str, port: int, database: str) -> str:
    return (f"postgresql://{quote(username, safe='')}:{quote(password, safe='')}@{host}:{port}"
            f"/{database}?sslmode=require")


def _describe(rds: Any, identifier: str) -> dict[str, Any] | None:
    try:
        return dict(rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0])
    except ClientError as exc:
        if error_code(exc) == "DBInstanceNotFound":
            return None
        raise


def ensure_subnet_group(rds: Any, *, name: str, subnets: list[str]) -> Result:
    changes = Changes("db subnet group", name)
    try:
        group = rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
    except ClientError as exc:
        if error_code(exc) != "DBSubnetGroupNotFoundFault":
            raise
        rds.create_db_subnet_group(DBSubnetGroupName=name, SubnetIds=subnets,
                                   DBSubnetGroupDescription="VideoForge database",
                                   Tags=[{"Key": "Application", "Value": "videoforge"}])
        changes.created = True
        return changes.result()
    current = sorted(s["SubnetIdentifier"] for s in group.get("Subnets", []))
    changes.converge("subnets", current, sorted(subnets), lambda: rds.modify_db_subnet_group(
        DBSubnetGroupName=name, SubnetIds=subnets))
    return changes.result(id=group.get("DBSubnetGroupArn"))


def ensure_database(rds: Any, spec: DatabaseSpec, *, subnets: list[str], security_group: str,
                    stored_url: str | None) -> tuple[list[Result], str]:
    """The instance (waiting until it is available) and its URL: ``stored_url`` when it
    still names this instance, else one with a new password."""
    spec.validate()
    results = [ensure_subnet_group(rds, name=spec.identifier, subnets=subnets)]
    changes = Changes("rds instance", spec.identifier)
    current = _describe(rds, spec.identifier)
    password = None
    if current is None:
        password = generate()
        extra = {"KmsKeyId": spec.kms_key_id} if spec.kms_key_id else {}
        rds.create_db_instance(
            DBInstanceIdentifier=spec.identifier, Engine="postgres",
            EngineVersion=spec.engine_version, DBInstanceClass=spec.instance_class,
            AllocatedStorage=spec.storage_gb, MaxAllocatedStorage=spec.max_storage_gb,
            StorageType="gp3", StorageEncrypted=True, MultiAZ=spec.multi_az,
            PubliclyAccessible=False, DBSubnetGroupName=spec.identifier,
            VpcSecurityGroupIds=[security_group], DBName=spec.database,
            MasterUsername=spec.username, MasterUserPassword=password,
            BackupRetentionPeriod=spec.backup_retention_days,
            DeletionProtection=spec.deletion_protection, CopyTagsToSnapshot=True,
            AutoMinorVersionUpgrade=True, Tags=[{"Key": "Application", "Value": "videoforge"}],
            **extra)
        changes.created = True
    else:
        _converge(rds, spec, current, security_group, changes)
    instance = _available(rds, spec.identifier)
    host, port = instance["Endpoint"]["Address"], int(instance["Endpoint"]["Port"])
    if password is None:
        kept = password_in(stored_url, host=host)
        if kept is None:
            password = generate()
            rds.modify_db_instance(DBInstanceIdentifier=spec.identifier,
                                   MasterUserPassword=password, ApplyImmediately=True)
            changes.note("master password (the stored URL was missing)")
        else:
            password = kept
    results.append(changes.result(id=instance.get("DBInstanceArn")))
    return results, database_url(username=spec.username, password=password, host=host,
                                 port=port, database=spec.database)


def _converge(rds: Any, spec: DatabaseSpec, current: dict[str, Any], security_group: str,
              changes: Changes) -> None:
    """Settings that change in place; size changes wait for the maintenance window (and
    count as done once pending)."""
    pending = current.get("PendingModifiedValues") or {}
    have = {"instance class": pending.get("DBInstanceClass", current.get("DBInstanceClass")),
            "multi-az": pending.get("MultiAZ", current.get("MultiAZ")),
            "backups": current.get("BackupRetentionPeriod"),
            "deletion protection": current.get("DeletionProtection"),
            "max storage": current.get("MaxAllocatedStorage"),
            "security groups": sorted(g["VpcSecurityGroupId"]
                                      for g in current.get("VpcSecurityGroups", []))}
    want = {"instance class": spec.instance_class, "multi-az": spec.multi_az,
            "backups": spec.backup_retention_days,
            "deletion protection": spec.deletion_protection,
            "max storage": spec.max_storage_gb, "security groups": [security_group]}
    differing = [k for k in want if have[k] != want[k]]
    if differing:
        rds.modify_db_instance(
            DBInstanceIdentifier=spec.identifier, DBInstanceClass=spec.instance_class,
            MultiAZ=spec.multi_az, BackupRetentionPeriod=spec.backup_retention_days,
            DeletionProtection=spec.deletion_protection,
            MaxAllocatedStorage=spec.max_storage_gb, VpcSecurityGroupIds=[security_group],
            ApplyImmediately=False)
        changes.note(*differing)


def _available(rds: Any, identifier: str) -> dict[str, Any]:
    rds.get_waiter("db_instance_available").wait(
        DBInstanceIdentifier=identifier, WaiterConfig={"Delay": 30,
                                                       "MaxAttempts": CREATE_WAIT_S // 30})
    instance = _describe(rds, identifier)
    if not instance or not instance.get("Endpoint"):
        raise ProvisionError(f"database {identifier} has no endpoint yet; run again later")
    return instance
