"""Bucket CORS as S3 applies it: the first rule whose origin and method match answers a
preflight, and adds the ``Access-Control-*`` headers to the actual response."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from videoforge.stack.objectstore.s3xml import CorsRule


def _matches(pattern: str, value: str, *, case: bool = True) -> bool:
    # S3 allows one "*" wildcard in an allowed origin or header.
    if pattern == "*":
        return True
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern) if "*" in pattern else pattern == value


def matching_rule(rules: Sequence[CorsRule], *, origin: str, method: str,
                  request_headers: Sequence[str] = ()) -> CorsRule | None:
    for rule in rules:
        if not any(_matches(o, origin) for o in rule.origins):
            continue
        if method not in rule.methods:
            continue
        if all(any(_matches(h, wanted, case=False) for h in rule.headers)
               for wanted in request_headers):
            return rule
    return None


def response_headers(rule: CorsRule, *, origin: str, preflight: bool,
                     request_headers: Sequence[str] = ()) -> dict[str, str]:
    wildcard = rule.origins == ("*",)
    headers = {"Access-Control-Allow-Origin": "*" if wildcard else origin,
               "Access-Control-Allow-Methods": ", ".join(rule.methods),
               "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"}
    if not wildcard:
        headers["Access-Control-Allow-Credentials"] = "true"
    if rule.expose:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose)
    if preflight:
        if request_headers:
            headers["Access-Control-Allow-Headers"] = ", ".join(request_headers)
        if rule.max_age is not None:
            headers["Access-Control-Max-Age"] = str(rule.max_age)
    return headers
