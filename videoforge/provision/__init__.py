"""``videoforge provision``: the AWS resources the platform needs, created or updated
idempotently (buckets, queues, Cognito, the worker fleet, alarms)."""

from videoforge.provision.fleet import FleetSpec
from videoforge.provision.plan import ProvisionConfig, Report, provision
from videoforge.provision.results import Outcome, ProvisionError, Result

__all__ = ["FleetSpec", "Outcome", "ProvisionConfig", "ProvisionError", "Report", "Result",
           "provision"]
