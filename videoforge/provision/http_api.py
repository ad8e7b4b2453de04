"""The HTTP API (API Gateway v2) in front of the functions: one Lambda proxy integration
per function (payload format 2.0, what Mangum reads), a route per path prefix the gateway
sends that service (gateway/proxy.py ``ROUTES``), the ``$default`` stage deployed
automatically, and the permission for API Gateway to invoke each function.

Every route is IAM-authorised: API Gateway refuses a request not signed (SigV4) by a
principal allowed ``execute-api:Invoke`` on it, which is the gateway's role alone
(policies.gateway), so the functions are reached through the gateway or not at all: its
rate limits and request ids cannot be skipped by calling the API's URL."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from videoforge.provision.policies import partition
from videoforge.provision.results import Changes, ProvisionError, Result, error_code

PAYLOAD_FORMAT = "2.0"
STAGE = "$default"
AUTHORIZATION = "AWS_IAM"
_PAGE = "100"


def route_keys(prefixes: tuple[str, ...]) -> list[str]:
    """``ANY /p`` and ``ANY /p/{proxy+}`` for each prefix: the prefix itself and below."""
    return [key for prefix in prefixes for key in (f"ANY {prefix}", f"ANY {prefix}/{{proxy+}}")]


def find_api(apis: Any, name: str) -> dict[str, Any] | None:
    kwargs: dict[str, Any] = {"MaxResults": _PAGE}
    found = []
    while True:
        page = apis.get_apis(**kwargs)
        found += [a for a in page.get("Items", []) if a.get("Name") == name]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    if len(found) > 1:
        raise ProvisionError(f"{len(found)} HTTP APIs are named {name!r}: delete the extra ones")
    return found[0] if found else None


def ensure_api(apis: Any, name: str) -> tuple[Result, dict[str, Any]]:
    changes = Changes("http api", name)
    api = find_api(apis, name)
    if api is None:
        api = apis.create_api(Name=name, ProtocolType="HTTP",
                              Tags={"Application": "videoforge"})
        changes.created = True
    return changes.result(id=api["ApiId"]), api


def _integrations(apis: Any, api_id: str) -> dict[str, dict[str, Any]]:
    items = apis.get_integrations(ApiId=api_id, MaxResults=_PAGE).get("Items", [])
    return {str(i.get("IntegrationUri")): i for i in items}


def _routes(apis: Any, api_id: str) -> dict[str, dict[str, Any]]:
    items = apis.get_routes(ApiId=api_id, MaxResults=_PAGE).get("Items", [])
    return {str(r["RouteKey"]): r for r in items}


def ensure_routes(apis: Any, api_id: str, function_arn: str, service: str,
                  prefixes: tuple[str, ...]) -> Result:
    changes = Changes("http api routes", service)
    integration = _integrations(apis, api_id).get(function_arn)
    if integration is None:
        integration = apis.create_integration(
            ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn,
            IntegrationMethod="POST", PayloadFormatVersion=PAYLOAD_FORMAT)
        changes.note("integration")
    elif integration.get("PayloadFormatVersion") != PAYLOAD_FORMAT:
        apis.update_integration(ApiId=api_id, IntegrationId=integration["IntegrationId"],
                                PayloadFormatVersion=PAYLOAD_FORMAT)
        changes.note("payload format")
    target = f"integrations/{integration['IntegrationId']}"
    routes = _routes(apis, api_id)
    for key in route_keys(prefixes):
        route = routes.get(key)
        if route is None:
            apis.create_route(ApiId=api_id, RouteKey=key, Target=target,
                              AuthorizationType=AUTHORIZATION)
            changes.note(key)
        elif (route.get("Target"), route.get("AuthorizationType")) != (target, AUTHORIZATION):
            apis.update_route(ApiId=api_id, RouteId=route["RouteId"], Target=target,
                              AuthorizationType=AUTHORIZATION)
            changes.note(key)
    return changes.result(id=integration["IntegrationId"])


def ensure_stage(apis: Any, api_id: str) -> Result:
    changes = Changes("http api stage", STAGE)
    try:
        stage = apis.get_stage(ApiId=api_id, StageName=STAGE)
    except ClientError as exc:
        if error_code(exc) != "NotFoundException":
            raise
        apis.create_stage(ApiId=api_id, StageName=STAGE, AutoDeploy=True)
        changes.created = True
        return changes.result()
    if not stage.get("AutoDeploy"):
        apis.update_stage(ApiId=api_id, StageName=STAGE, AutoDeploy=True)
        changes.note("auto deploy")
    return changes.result()


def _statement_ids(lam: Any, function: str) -> set[str]:
    try:
        policy = lam.get_policy(FunctionName=function)["Policy"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return set()
        raise
    return {s.get("Sid", "") for s in json.loads(policy).get("Statement", [])}


def ensure_invoke_permission(lam: Any, function: str, api_id: str, *,
                             region: str, account: str) -> Result:
    """API Gateway may invoke ``function``, from this API only."""
    changes = Changes("lambda permission", function)
    sid = f"videoforge-http-api-{api_id}"
    if sid not in _statement_ids(lam, function):
        source = f"arn:{partition(region)}:execute-api:{region}:{account}:{api_id}/*/*"
        lam.add_permission(FunctionName=function, StatementId=sid, Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com", SourceArn=source)
        changes.created = True
    return changes.result(id=sid)


def endpoint(api: Mapping[str, Any]) -> str:
    return str(api["ApiEndpoint"]).rstrip("/")
