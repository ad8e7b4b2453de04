"""Discrete-event simulation of the worker fleet under the autoscaling policies."""
