"""The termination lifecycle hook, seen from a worker instance.

With a termination hook on the group, an instance being terminated waits in
``Terminating:Wait`` until it completes the lifecycle action or the hook's heartbeat
timeout passes. A worker that learns it is being terminated (``processor/termination.py``
reads the target lifecycle state from the instance metadata, busy or idle; or SIGTERM)
drains its job between :meth:`LifecycleHook.begin_drain` and :meth:`~LifecycleHook.end_drain`,
recording heartbeats so the wait outlasts the job, then completes the action with CONTINUE
so the instance goes at once.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from common.logging import get_logger

if TYPE_CHECKING:
    from types_boto3_autoscaling import AutoScalingClient

log = get_logger(__name__)

# A hook's heartbeat timeout is 30..7200 s (Auto Scaling API, PutLifecycleHook); a beat
# every minute keeps any timeout above that alive.
DEFAULT_HEARTBEAT_INTERVAL_S = 60.0


class LifecycleHook:
    def __init__(
        self,
        autoscaling: AutoScalingClient,
        *,
        group_name: str,
        hook_name: str,
        instance_id: str,
        heartbeat_interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S,
    ) -> None:
        self.autoscaling = autoscaling
        self.group_name = group_name
        self.hook_name = hook_name
        self.instance_id = instance_id
        self.heartbeat_interval_s = heartbeat_interval_s
        self._beating: tuple[threading.Event, threading.Thread] | None = None

    def _call(self, operation: str, **extra: Any) -> bool:
        try:
            getattr(self.autoscaling, operation)(
                AutoScalingGroupName=self.group_name, LifecycleHookName=self.hook_name,
                InstanceId=self.instance_id, **extra,
            )
            return True
        except ClientError as exc:
            # No lifecycle action is pending (the instance is not being terminated by the
            # group, or the hook already timed out): nothing to keep alive.
            log.warning("lifecycle_action_unavailable", operation=operation,
                        instance_id=self.instance_id, error=exc.response["Error"]["Code"])
            return False

    def heartbeat(self) -> bool:
        return self._call("record_lifecycle_action_heartbeat")

    def complete(self, result: str = "CONTINUE") -> bool:
        return self._call("complete_lifecycle_action", LifecycleActionResult=result)

    def begin_drain(self) -> None:
        """Start heart-beating (at once, then every interval) until :meth:`end_drain`."""
        if self._beating is not None:
            return
        done = threading.Event()

        def beat() -> None:
            # Beat at once too: the hook's timeout may be shorter than our interval.
            while self.heartbeat() and not done.wait(self.heartbeat_interval_s):
                pass

        thread = threading.Thread(target=beat, name="lifecycle-heartbeat", daemon=True)
        self._beating = (done, thread)
        thread.start()

    def end_drain(self, result: str = "CONTINUE") -> None:
        """Stop heart-beating and let the termination go on."""
        if self._beating is not None:
            done, thread = self._beating
            done.set()
            thread.join()
            self._beating = None
        self.complete(result)
