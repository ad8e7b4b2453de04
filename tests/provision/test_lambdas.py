"""``videoforge deploy lambdas``: a reproducible package that really serves requests, and
functions, an HTTP API and routes read back from moto; a second run changes nothing."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from common.db import migrate
from gateway.proxy import ROUTES
from tests.support.provisioning import provision_json
from videoforge.cli import main
from videoforge.provision.package import Package, build, runtime

# What the Lambda Python runtime itself provides (boto3 and what it needs).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


@pytest.fixture(scope="module")
def package() -> Package:
    return build()


def test_the_same_inputs_give_the_same_zip(package: Package) -> None:
    again = build()
    assert again.data == package.data and again.sha256 == package.sha256
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    for wanted in ("gallery/lambda_handler.py", "streaming/lambda_handler.py",
                   "common/settings.py", "fastapi/__init__.py", "mangum/__init__.py",
                   "sqlalchemy/__init__.py", "psycopg/__init__.py", "jwt/__init__.py"):
        assert wanted in names, wanted
    for unwanted in ("boto3/", "botocore/", "uvicorn/", "gateway/", "processor/", "videoforge/"):
        assert not [n for n in names if n.startswith(unwanted)], unwanted


def _runtime_dir(tmp_path: Path) -> Path:
    """A folder holding only what the Lambda runtime adds to the package: boto3 & co."""
    provided = tmp_path / "runtime"
    provided.mkdir()
    for name in RUNTIME_PROVIDED:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (provided / source.name).symlink_to(source)
    return provided


def test_the_package_alone_serves_the_api(package: Package, tmp_path: Path) -> None:
    code = tmp_path / "task"
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        archive.extractall(code)
    database = f"sqlite:///{tmp_path / 'vf.db'}"
    migrate(database)
    event = {"version": "2.0", "routeKey": "$default", "rawPath": "/api/gallery/videos",
             "rawQueryString": "", "headers": {"host": "api.example"},
             "requestContext": {"http": {"method": "GET", "path": "/api/gallery/videos",
                                         "sourceIp": "203.0.113.9", "protocol": "HTTP/1.1"},
                                "stage": "$default", "requestId": "r1"},
             "isBase64Encoded": False}
    script = ("import json, sys; from gallery.lambda_handler import handler; "
              "import streaming.lambda_handler; "
              "print(json.dumps(handler(json.loads(sys.argv[1]), None)))")
    # -S: no site-packages, so nothing outside the package and the runtime's SDK is found.
    done = subprocess.run(
        [sys.executable, "-S", "-c", script, json.dumps(event)], capture_output=True,
        text=True, timeout=120, cwd=tmp_path,
        env={"PYTHONPATH": f"{code}:{_runtime_dir(tmp_path)}", "VF_DATABASE_URL": database,
             "VF_ENV": "production", "VF_STREAM_SIGNING_KEY": "k" * 32,
             "AWS_DEFAULT_REGION": "us-east-1",
             "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["items"] == []


def _deploy(capsys: pytest.CaptureFixture[str], prefix: str) -> dict[str, Any]:
    code = main(["deploy", "lambdas", "--name-prefix", prefix, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    return dict(json.loads(out.out))


def test_deploy_creates_then_changes_nothing(names: dict[str, str], client: Any,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = names["prefix"]
    provision_json(capsys, "--user-pool-name", names["pool"], "--name-prefix", prefix)
    monkeypatch.setenv("VF_DATABASE_URL", "postgresql://vf@db.internal:5432/videoforge")
    first = _deploy(capsys, prefix)
    assert first["changed"]
    lam, apis, iam = client("lambda"), client("apigatewayv2"), client("iam")
    for service in ("gallery", "streaming"):
        config = lam.get_function(FunctionName=f"{prefix}-{service}")["Configuration"]
        assert config["Role"] == iam.get_role(RoleName=f"{prefix}-{service}")["Role"]["Arn"]
        assert config["Handler"] == f"{service}.lambda_handler.handler"
        assert config["Runtime"] == runtime()
        assert (config["MemorySize"], config["Timeout"]) == (512, 29)
        variables = config["Environment"]["Variables"]
        assert variables["VF_MEDIA_BUCKET"] == names["VF_MEDIA_BUCKET"]
        assert variables["VF_DATABASE_URL"].startswith("postgresql://vf@db.internal")
        # The load balancer, the gateway and API Gateway each append their peer.
        assert variables["VF_TRUSTED_PROXIES"] == "3"
        assert config["CodeSha256"] == first["outputs"]["package_sha256"]
        statement = json.loads(lam.get_policy(FunctionName=f"{prefix}-{service}")["Policy"])[
            "Statement"][0]
        assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    api_id = first["outputs"]["api_id"]
    integrations = {i["IntegrationId"]: i for i in apis.get_integrations(ApiId=api_id)["Items"]}
    routes = {r["RouteKey"]: integrations[r["Target"].split("/")[1]]
              for r in apis.get_routes(ApiId=api_id)["Items"]}
    expected = {f"ANY {p}{tail}": service for service, prefixes in ROUTES.items()
                for p in prefixes for tail in ("", "/{proxy+}")}
    assert set(routes) == set(expected)
    for key, service in expected.items():
        assert routes[key]["IntegrationUri"].endswith(f":function:{prefix}-{service}")
        assert routes[key]["PayloadFormatVersion"] == "2.0"
        assert routes[key]["IntegrationType"] == "AWS_PROXY"
    # Reached only through the gateway: every route takes IAM-signed requests alone, and
    # the gateway's role (once provision runs again) may invoke this API and no other.
    assert {r["AuthorizationType"] for r in apis.get_routes(ApiId=api_id)["Items"]} == {
        "AWS_IAM"}
    provision_json(capsys, "--user-pool-name", names["pool"], "--name-prefix", prefix)
    grants = {s["Sid"]: s for s in iam.get_role_policy(
        RoleName=f"{prefix}-gateway", PolicyName="videoforge")["PolicyDocument"]["Statement"]}
    assert grants["InvokeFunctionsApi"]["Action"] == ["execute-api:Invoke"]
    assert grants["InvokeFunctionsApi"]["Resource"] == (
        f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*")
    for role in ("worker", "controller", "gallery", "streaming", "monitoring"):
        document = iam.get_role_policy(RoleName=f"{prefix}-{role}",
                                       PolicyName="videoforge")["PolicyDocument"]
        assert "execute-api" not in json.dumps(document), role
    assert apis.get_stage(ApiId=api_id, StageName="$default")["AutoDeploy"] is True
    assert first["env"]["VF_GALLERY_URL"] == first["env"]["VF_STREAMING_URL"]

    second = _deploy(capsys, prefix)
    assert not second["changed"], [r for r in second["resources"] if r["outcome"] != "unchanged"]
    assert main(["deploy", "lambdas", "--name-prefix", prefix]) == 0
    assert "Nothing changed: everything is up to date." in capsys.readouterr().out

    # A route someone made public again is put back behind IAM.
    opened = next(r for r in apis.get_routes(ApiId=api_id)["Items"]
                  if r["RouteKey"] == "ANY /api/stream")
    apis.update_route(ApiId=api_id, RouteId=opened["RouteId"], AuthorizationType="NONE")
    fixed = _deploy(capsys, prefix)
    assert [r["changes"] for r in fixed["resources"] if r["outcome"] == "updated"] == [
        ["ANY /api/stream"]]
    assert apis.get_route(ApiId=api_id, RouteId=opened["RouteId"])["AuthorizationType"] == (
        "AWS_IAM")

    monkeypatch.setenv("VF_LAMBDA_MEMORY_MB", "1024")
    third = _deploy(capsys, prefix)
    updated = {r["name"]: r["changes"] for r in third["resources"] if r["outcome"] == "updated"}
    assert updated == {f"{prefix}-gallery": ["MemorySize"], f"{prefix}-streaming": ["MemorySize"]}


def test_without_roles_it_says_to_provision_first(names: dict[str, str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "lambdas", "--name-prefix", "never-provisioned"]) == 2
    assert "run `videoforge provision` first" in capsys.readouterr().err
