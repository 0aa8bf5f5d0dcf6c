"""deploy/helm/glassgate rendered by Helm's own engine, offline, and checked against Kubernetes' API schemas.

Helm itself is not installed here: .venv-deploy (`make install-deploy-tools`, which `make test`
runs) holds helm-python-sdk, Helm's Go SDK behind a C ABI, and kubernetes-validate, the API's
JSON schemas. deploy/tools/render_chart.py runs there: `helm lint --strict`, a render, and a
strict schema check of every manifest (unknown fields are errors) for the oldest Kubernetes
the chart supports and the newest the schemas know.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from glassgate.config import Settings
from glassgate.server_settings import ServerSettings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "glassgate"
TOOLS_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"
RENDER = ROOT / "deploy" / "tools" / "render_chart.py"
PRODUCTION: dict[str, Any] = {
    "image": {"repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/glassgate", "tag": "0.1.0"},
    "secrets": {
        "databaseUrl": "postgresql://glassgate:pw@aurora.cluster-x.us-east-1.rds.amazonaws.com:5432/glassgate",
        "redisUrl": "rediss://cache.x.use1.cache.amazonaws.com:6379/0",
        "adminToken": "admin-token",
        "secretKey": "secret-key",
        "extra": {"OPENAI_API_KEY": "sk-held"},
    },
    "serviceAccount": {
        "aws": {"roleArn": "arn:aws:iam::123456789012:role/glassgate-bedrock"},
        "azure": {"clientId": "00000000-0000-0000-0000-0000000000aa", "tenantId": "tenant-1"},
    },
    "otel": {"endpoint": "http://otel-collector.observability:4318"},
    "worker": {"enabled": True, "concurrency": 8},
    "topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
    ],
    "extraVolumes": [
        {
            "name": "azure-token",
            "projected": {
                "sources": [{"serviceAccountToken": {"path": "token", "audience": "api://AzureADTokenExchange"}}]
            },
        }
    ],
    "extraVolumeMounts": [{"name": "azure-token", "mountPath": "/var/run/secrets/azure", "readOnly": True}],
}


def render(tmp_path: Path, values: dict[str, Any], kube_version: str = "1.25.0") -> dict[str, Any]:
    if not TOOLS_PYTHON.is_file():
        pytest.fail("the deploy tools are not installed: run `make install-deploy-tools` (make test does)")
    values_path = tmp_path / "values.json"
    values_path.write_text(json.dumps(values))
    done = subprocess.run(
        [str(TOOLS_PYTHON), str(RENDER), str(CHART), str(values_path), kube_version],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def by_kind(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    assert "error" not in result, result.get("error")
    assert result["lint"]["errors"] == [], result["lint"]
    assert result["invalid"] == [], "\n".join(result["invalid"])
    return {(manifest["kind"], manifest["metadata"]["name"]): manifest for manifest in result["manifests"]}


@pytest.mark.parametrize("kube_version", ["1.25.0", "1.37.0"])
def test_production_values_render_valid_manifests(tmp_path: Path, kube_version: str) -> None:
    manifests = by_kind(render(tmp_path, PRODUCTION, kube_version))
    assert set(manifests) == {
        ("ConfigMap", "glassgate"),
        ("Secret", "glassgate"),
        ("ServiceAccount", "glassgate"),
        ("Service", "glassgate"),
        ("Deployment", "glassgate"),
        ("Deployment", "glassgate-worker"),
        ("HorizontalPodAutoscaler", "glassgate"),
        ("PodDisruptionBudget", "glassgate"),
    }


def test_server_pods_probe_drain_and_run_unprivileged_on_a_read_only_root(tmp_path: Path) -> None:
    manifests = by_kind(render(tmp_path, PRODUCTION))
    deployment = manifests[("Deployment", "glassgate")]
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    [container] = spec["containers"]
    assert container["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/glassgate:0.1.0"
    assert container["args"] == ["serve"]
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    server = Settings(**yaml.safe_load(manifests[("ConfigMap", "glassgate")]["data"]["glassgate.yaml"])).server
    drain = sleep + server.shutdown_delay_s + server.graceful_shutdown_s
    assert spec["terminationGracePeriodSeconds"] >= drain + 10, "preStop, the delay, the drain, then the writer"
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    assert "emptyDir" in volumes[mounts["/var/lib/glassgate"]] and "emptyDir" in volumes[mounts["/tmp"]]
    assert volumes[mounts["/etc/glassgate"]]["configMap"]["name"] == "glassgate"
    assert "projected" in volumes[mounts["/var/run/secrets/azure"]], "extra volumes are mounted"
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["GLASSGATE_PORT"] == "4000" and spec["enableServiceLinks"] is False, "no GLASSGATE_PORT=tcp://…"
    assert env["GLASSGATE_HOST"] == "0.0.0.0" and env["GLASSGATE_CONFIG"] == "/etc/glassgate/glassgate.yaml"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability:4318"
    assert env["GLASSGATE_EVALS__WORKER"] == "false", "the worker Deployment takes over the evaluation jobs"
    assert container["envFrom"] == [{"secretRef": {"name": "glassgate"}}]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert set(pod["metadata"]["annotations"]) == {"checksum/config", "checksum/secret"}, "config changes roll pods"
    assert spec["serviceAccountName"] == "glassgate"
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"


def test_identity_secret_config_scaling_and_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifests = by_kind(render(tmp_path, PRODUCTION))
    account = manifests[("ServiceAccount", "glassgate")]
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/glassgate-bedrock",
        "azure.workload.identity/client-id": "00000000-0000-0000-0000-0000000000aa",
        "azure.workload.identity/tenant-id": "tenant-1",
    }
    secret = manifests[("Secret", "glassgate")]["stringData"]
    assert set(secret) == {
        "GLASSGATE_DATABASE_URL",
        "GLASSGATE_REDIS_URL",
        "GLASSGATE_ADMIN_TOKEN",
        "GLASSGATE_SECRET_KEY",
        "OPENAI_API_KEY",
    }
    config = yaml.safe_load(manifests[("ConfigMap", "glassgate")]["data"]["glassgate.yaml"])
    for name, value in secret.items():
        monkeypatch.setenv(name, value)
    settings = Settings(**config)
    assert settings.database_url == PRODUCTION["secrets"]["databaseUrl"] and settings.redis_url is not None
    hpa = manifests[("HorizontalPodAutoscaler", "glassgate")]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "glassgate" and hpa["minReplicas"] >= 2
    pdb = manifests[("PodDisruptionBudget", "glassgate")]["spec"]
    assert pdb["maxUnavailable"] == 1
    service = manifests[("Service", "glassgate")]["spec"]
    deployment = manifests[("Deployment", "glassgate")]
    assert service["selector"] == pdb["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    worker = manifests[("Deployment", "glassgate-worker")]["spec"]["template"]["spec"]
    [container] = worker["containers"]
    assert container["args"] == ["worker", "--concurrency=8"]
    assert "GLASSGATE_EVALS__WORKER" not in {item["name"] for item in container["env"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert service["selector"]["app.kubernetes.io/component"] == "server", "the Service never sends calls to workers"


def test_an_existing_secret_replaces_the_generated_one(tmp_path: Path) -> None:
    values = {"secrets": {"create": False, "existingSecret": "glassgate-prod"}, "autoscaling": {"enabled": False}}
    manifests = by_kind(render(tmp_path, values))
    assert ("Secret", "glassgate") not in manifests
    deployment = manifests[("Deployment", "glassgate")]
    assert deployment["spec"]["replicas"] == 2
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": "glassgate-prod"}}]
    assert ("PodDisruptionBudget", "glassgate") in manifests
    assert ("HorizontalPodAutoscaler", "glassgate") not in manifests


def test_a_single_pod_trial_with_the_embedded_database(tmp_path: Path) -> None:
    values = {
        "embeddedDatabase": True,
        "replicaCount": 1,
        "autoscaling": {"enabled": False},
        "secrets": {"adminToken": "t", "secretKey": "k"},
    }
    manifests = by_kind(render(tmp_path, values))
    deployment = manifests[("Deployment", "glassgate")]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert ("PodDisruptionBudget", "glassgate") not in manifests
    assert "GLASSGATE_DATABASE_URL" not in manifests[("Secret", "glassgate")]["stringData"]


def server_pod(tmp_path: Path, server: dict[str, Any], **values: Any) -> tuple[ServerSettings, dict[str, Any]]:
    """The `server:` settings the pods read from the ConfigMap, and the server pod's spec."""
    manifests = by_kind(render(tmp_path, {**PRODUCTION, "server": server, **values}))
    config = yaml.safe_load(manifests[("ConfigMap", "glassgate")]["data"]["glassgate.yaml"])
    return Settings(**config).server, manifests[("Deployment", "glassgate")]["spec"]["template"]["spec"]


def test_the_server_values_become_the_configs_server_section(tmp_path: Path) -> None:
    defaults, pod = server_pod(tmp_path, {})
    assert defaults == ServerSettings()
    assert pod["terminationGracePeriodSeconds"] == 60, "15 s preStop + 0 s delay + 30 s drain + 15 s for the writer"
    values = {
        "shutdownDelaySeconds": 20,
        "gracefulShutdownSeconds": 45,
        "keepAliveSeconds": 905,
        "headerTimeoutSeconds": 5,
        "bodyTimeoutSeconds": 30,
        "logLevel": "warning",
    }
    server, pod = server_pod(tmp_path, values)
    assert server == ServerSettings(
        shutdown_delay_s=20,
        graceful_shutdown_s=45,
        keep_alive_s=905,
        header_timeout_s=5,
        body_timeout_s=30,
        log_level="warning",
    )
    assert pod["terminationGracePeriodSeconds"] == 15 + 20 + 45 + 15, "the pod's termination grows with them"


def test_a_termination_grace_period_that_is_set_is_kept_when_it_covers_the_drain(tmp_path: Path) -> None:
    _, pod = server_pod(tmp_path, {"shutdownDelaySeconds": 10}, terminationGracePeriodSeconds=120)
    assert pod["terminationGracePeriodSeconds"] == 120


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"secrets": {"adminToken": "t", "secretKey": "k"}}, "secrets.databaseUrl is required"),
        ({"secrets": {"databaseUrl": "postgresql://db/g"}}, "secrets.adminToken and secrets.secretKey are required"),
        ({"embeddedDatabase": True, "secrets": {"adminToken": "t", "secretKey": "k"}}, "set replicaCount 1"),
        (
            {**PRODUCTION, "config": {"server": {"shutdown_delay_s": 20}}},
            "config.server: set the chart's server values instead",
        ),
        (
            {**PRODUCTION, "server": {"shutdownDelaySeconds": 20}, "terminationGracePeriodSeconds": 60},
            "terminationGracePeriodSeconds must be at least 75",
        ),
    ],
)
def test_values_that_would_break_a_cluster_are_refused(tmp_path: Path, values: dict[str, Any], message: str) -> None:
    result = render(tmp_path, values)
    assert message in result.get("error", ""), result.get("error")
