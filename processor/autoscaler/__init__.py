"""The autoscaler: sizing policies and damping (``policy``), shared by the controller and
the simulator."""

from processor.autoscaler.policy import Autoscaler, Decision, ScalingConfig, Signals

__all__ = ["Autoscaler", "Decision", "ScalingConfig", "Signals"]
