"""deploy/: every file parses, refers to what exists, and says what the guide promises.

No container engine, cluster or compose runs here: these read the files. The image's build
steps run for real in tests/e2e/test_container_build.py, the Helm chart is rendered by Helm's
engine in tests/integration/test_helm_chart.py, and nginx's config is exercised in
tests/e2e/test_compose_nginx.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from glassgate.config import AwsAuth, Settings, load_settings
from glassgate.server_settings import ServerSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROOT = DEPLOY.parent
CHART = DEPLOY / "helm" / "glassgate"
REPLICAS = ("glassgate-1", "glassgate-2")
ALB_IDLE_TIMEOUT_S = 900  # what the guide has the ALB set to (above proxy.read_timeout_s)
SPAN_FLUSH_S = 10  # after the drain, the span writer writes (or spills) its queue


def data_files() -> list[Path]:
    """Every YAML and JSON file in deploy/, except Helm templates (Go templates, not YAML)."""
    files = [*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.json")]
    return sorted(path for path in files if "templates" not in path.relative_to(DEPLOY).parts)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def compose_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """compose/glassgate.yaml with the environment compose gives a replica."""
    env = compose()["services"]["glassgate-1"]["environment"]
    for name, value in env.items():
        # As compose would: `${NAME:-default}` gives the default, a required `${NAME:?...}` a sample value.
        value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
        monkeypatch.setenv(name, re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "x", value))
    return load_settings(DEPLOY / "compose" / "glassgate.yaml")


def ecs_container() -> dict[str, Any]:
    task = json.loads((DEPLOY / "ecs" / "task-definition.json").read_text())
    [container] = task["containerDefinitions"]
    return dict(container)


def ecs_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a task gets from its environment and secrets (sample values for the secrets)."""
    container = ecs_container()
    for item in container["environment"]:
        monkeypatch.setenv(item["name"], item["value"])
    for secret in container["secrets"]:
        name = secret["name"]
        monkeypatch.setenv(name, "redis://cache:6379/0" if "REDIS" in name else "postgresql://u:p@db/g")
    return load_settings(None)


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def build_verbs() -> set[str]:
    """The steps deploy/build.sh accepts (its case arms)."""
    return set(re.findall(r"^\s+([a-z-]+)\)", (DEPLOY / "build.sh").read_text(), flags=re.MULTILINE))


@pytest.mark.parametrize("path", data_files(), ids=lambda path: str(path.relative_to(DEPLOY)))
def test_every_yaml_and_json_file_parses(path: Path) -> None:
    text = path.read_text()
    documents = [json.loads(text)] if path.suffix == ".json" else list(yaml.safe_load_all(text))
    assert documents and all(document is not None for document in documents)


def test_the_deploy_folder_has_every_piece_the_guide_names() -> None:
    for name in (
        "Dockerfile",
        "Dockerfile.dockerignore",
        "build.sh",
        "compose.yaml",
        "README.md",
        "ecs/task-definition.json",
        "helm/glassgate/Chart.yaml",
        "helm/glassgate/values.yaml",
    ):
        assert (DEPLOY / name).is_file(), name
    templates = {path.name for path in (CHART / "templates").iterdir()}
    for kind in ("deployment", "service", "hpa", "pdb", "configmap", "secret", "serviceaccount", "worker-deployment"):
        assert f"{kind}.yaml" in templates


def test_dockerfile_builds_in_stages_and_runs_unprivileged_with_a_healthcheck() -> None:
    steps = instructions((DEPLOY / "Dockerfile").read_text())
    stages = [arguments.split()[-1] for name, arguments in steps if name == "FROM"]
    assert stages == ["python-build", "web", "wheel", "runtime"]
    runtime = steps[max(index for index, (name, _) in enumerate(steps) if name == "FROM") :]
    names = [name for name, _ in runtime]
    [user] = [arguments for name, arguments in runtime if name == "USER"]
    assert user.split(":")[0] not in ("0", "root") and int(user.split(":")[0]) >= 1000
    assert names.index("USER") < names.index("ENTRYPOINT"), "the process starts as the unprivileged user"
    [healthcheck] = [arguments for name, arguments in runtime if name == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and "curl" not in healthcheck
    [entrypoint] = [json.loads(arguments) for name, arguments in runtime if name == "ENTRYPOINT"]
    assert entrypoint[:3] == ["/usr/bin/tini", "--", "glassgate"], "exec form with an init that forwards SIGTERM"
    assert [json.loads(arguments) for name, arguments in runtime if name == "CMD"] == [["serve"]]
    assert ("EXPOSE", "4000") in runtime and ("STOPSIGNAL", "SIGTERM") in runtime
    env = " ".join(arguments for name, arguments in runtime if name == "ENV")
    assert "GLASSGATE_HOST=0.0.0.0" in env and "GLASSGATE_DATA_DIR=/var/lib/glassgate" in env
    assert ("VOLUME", '["/var/lib/glassgate"]') in runtime
    copies = [arguments for name, arguments in runtime if name == "COPY"]
    assert copies == ["--from=wheel /opt/venv /opt/venv"], "only the installed virtualenv reaches the runtime image"


def test_dockerfile_steps_are_build_script_verbs_and_its_sources_exist() -> None:
    steps = instructions((DEPLOY / "Dockerfile").read_text())
    runs = [arguments for name, arguments in steps if name == "RUN"]
    used = {verb for arguments in runs for verb in re.findall(r"deploy/build\.sh ([a-z-]+)", arguments)}
    assert used == build_verbs(), "every build step is a verb of build.sh, and every verb is used by the image"
    for name, arguments in steps:
        if name == "COPY" and not arguments.startswith("--from="):
            *sources, _ = arguments.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
    script = (DEPLOY / "build.sh").read_text()
    assert "--require-hashes" in script and "--frozen" in script, "dependencies come from the lock, hash-checked"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv*", "web/node_modules", "src/glassgate/static"} <= set(ignored)


def test_hash_pinned_requirement_files_pin_every_package_with_a_hash() -> None:
    for path in (DEPLOY / "uv-requirements.txt", DEPLOY / "build-constraints.txt", DEPLOY / "tools/requirements.txt"):
        blocks = re.split(r"\n(?=[a-z0-9])", re.sub(r"^#.*\n", "", path.read_text(), flags=re.MULTILINE).strip())
        assert blocks, path
        for block in blocks:
            assert re.match(r"[a-z0-9][a-z0-9._-]*==\S+ ", block) and "--hash=sha256:" in block, f"{path}: {block}"


def test_compose_runs_two_replicas_behind_nginx_with_their_dependencies_healthy_first() -> None:
    spec = compose()
    services = spec["services"]
    assert set(services) == {*REPLICAS, "nginx", "postgres", "redis", "otel-collector"}
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    for name in REPLICAS:
        replica = services[name]
        env = replica["environment"]
        assert "@postgres:5432/" in env["GLASSGATE_DATABASE_URL"]
        assert env["GLASSGATE_REDIS_URL"] == "redis://redis:6379/0"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
        assert env["GLASSGATE_CONFIG"] == "/etc/glassgate/glassgate.yaml"
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert replica["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(replica["healthcheck"]["test"])
        assert replica["read_only"] is True and "/tmp" in replica["tmpfs"]
        assert int(replica["stop_grace_period"].rstrip("s")) > 30, "longer than the server's 30 s drain"
        assert replica["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / replica["build"]["context"] / replica["build"]["dockerfile"]).is_file()
    assert {name: dep["condition"] for name, dep in services["nginx"]["depends_on"].items()} == dict.fromkeys(
        REPLICAS, "service_healthy"
    )
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}, which has no healthcheck"


def test_compose_mounts_only_files_that_exist_and_asks_for_every_secret_in_its_example() -> None:
    spec = compose()
    for name, service in spec["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in spec["volumes"], f"{name} uses volume {source}, which is not declared"
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (DEPLOY / "compose.yaml").read_text()))
    example = set(re.findall(r"^#?\s*([A-Z_]+)=", (DEPLOY / "compose" / "env.example").read_text(), flags=re.MULTILINE))
    assert required == {"POSTGRES_PASSWORD", "GLASSGATE_ADMIN_TOKEN", "GLASSGATE_SECRET_KEY"}
    assert required <= example


def test_compose_config_is_a_valid_glassgate_config_with_the_compose_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = compose_settings(monkeypatch)
    assert settings.database_url == "postgresql://glassgate:x@postgres:5432/glassgate"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.otlp.endpoint == "http://otel-collector:4318/v1/traces"
    assert settings.host == "127.0.0.1", "compose does not set the host: the image's GLASSGATE_HOST does"
    assert isinstance(settings.upstreams["bedrock"].auth, AwsAuth)


def test_nginx_balances_both_replicas_and_relays_streams_unbuffered() -> None:
    conf = (DEPLOY / "compose" / "nginx.conf").read_text()
    statements = [line.split("#")[0].strip().rstrip(";") for line in conf.splitlines()]
    directives = dict(statement.split(None, 1) for statement in statements if " " in statement)
    headers = dict(s.split(None, 2)[1:] for s in statements if s.startswith("proxy_set_header "))
    upstream = re.search(r"upstream glassgate \{(.*?)\}", conf, flags=re.DOTALL)
    assert upstream is not None
    assert re.findall(r"server ([\w-]+):4000", upstream.group(1)) == list(REPLICAS)
    assert int(directives["keepalive"]) > 0
    assert directives["proxy_pass"] == "http://glassgate", "no URI part: the request line is passed unchanged"
    assert directives["proxy_http_version"] == "1.1" and headers["Connection"] == '""', "keep-alive upstream"
    assert directives["proxy_buffering"] == "off" and directives["proxy_request_buffering"] == "off"
    assert headers["Host"] == "$http_host", "SigV4 clients signed the Host they sent"
    assert directives["merge_slashes"] == "off"
    assert int(directives["proxy_read_timeout"].rstrip("s")) > 600, "longer than proxy.read_timeout_s"
    assert "non_idempotent" not in directives["proxy_next_upstream"], "an LLM call is never sent twice"


def test_ecs_task_definition_uses_a_task_role_secrets_manager_and_the_image_contract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = json.loads((DEPLOY / "ecs" / "task-definition.json").read_text())
    assert task["taskRoleArn"].startswith("arn:aws:iam::") and task["executionRoleArn"].startswith("arn:aws:iam::")
    container = ecs_container()
    secrets = {secret["name"]: secret["valueFrom"] for secret in container["secrets"]}
    for name in ("GLASSGATE_DATABASE_URL", "GLASSGATE_ADMIN_TOKEN", "GLASSGATE_SECRET_KEY"):
        assert secrets[name].startswith("arn:aws:secretsmanager:")
    assert container["command"] == ["serve"] and container["portMappings"][0]["containerPort"] == 4000
    assert container["healthCheck"]["command"][0] == "CMD" and "/healthz" in container["healthCheck"]["command"][-1]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert container["stopTimeout"] > 30 and container["readonlyRootFilesystem"] is True
    assert [mount["containerPath"] for mount in container["mountPoints"]] == ["/var/lib/glassgate"]
    settings = ecs_settings(monkeypatch)
    assert settings.host == "0.0.0.0" and isinstance(settings.upstreams["bedrock"].auth, AwsAuth)
    assert settings.upstreams["bedrock"].auth.access_key_id is None, "Bedrock is signed with the task role"


def test_helm_templates_refer_only_to_values_that_exist() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    referenced = {
        reference
        for template in (CHART / "templates").iterdir()
        for reference in re.findall(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", template.read_text())
    }
    assert len(referenced) > 30
    for reference in sorted(referenced):
        node: Any = values
        for key in reference.strip(".").split("."):
            assert isinstance(node, dict) and key in node, f"templates use .Values{reference}, not in values.yaml"
            node = node[key]


def test_helm_default_config_is_a_valid_glassgate_config() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    settings = Settings(**values["config"], database_url="postgresql://u:p@db/g")
    assert set(settings.upstreams) == {"openai", "anthropic"}
    assert values["config"]["tracing"]["spill_max_bytes"] < 2 * 1024**3, "spill fits in data.sizeLimit (2Gi)"


# --- the `server:` settings, where each orchestrator and balancer needs them ------------------


def test_compose_stops_a_replica_only_after_its_delay_drain_and_flush_behind_an_nginx_that_closes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = compose_settings(monkeypatch).server
    assert "server" in yaml.safe_load((DEPLOY / "compose" / "glassgate.yaml").read_text()), "set where it is seen"
    grace = int(compose()["services"]["glassgate-1"]["stop_grace_period"].rstrip("s"))
    assert grace >= server.shutdown_delay_s + server.graceful_shutdown_s + SPAN_FLUSH_S
    conf = (DEPLOY / "compose" / "nginx.conf").read_text()
    keepalive = re.search(r"^\s*keepalive_timeout (\d+)s;", conf, flags=re.MULTILINE)
    assert keepalive is not None and int(keepalive.group(1)) < server.keep_alive_s, "nginx closes idle first"


def test_ecs_tasks_delay_their_drain_for_the_alb_and_outlast_its_idle_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ecs_settings(monkeypatch).server
    assert server.shutdown_delay_s == 15, "the ALB stops routing to a task signalled before its deregistration"
    assert server.keep_alive_s > ALB_IDLE_TIMEOUT_S, "the ALB, not the task, closes an idle connection"
    assert ecs_container()["stopTimeout"] >= server.shutdown_delay_s + server.graceful_shutdown_s + SPAN_FLUSH_S
    assert "GLASSGATE_SERVER__SHUTDOWN_DELAY_S=15" in (DEPLOY / "README.md").read_text(), "the guide says so"


def test_helm_server_values_name_every_server_setting() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    rendered = dict(re.findall(r'"([a-z_]+)" \.Values\.server\.([A-Za-z]+)', helpers))
    assert set(rendered) == set(ServerSettings.model_fields), "every field of the server: section, and only those"
    assert set(rendered.values()) == set(values["server"]), "from every server value, and only those"
    defaults = ServerSettings(**{field: values["server"][value] for field, value in rendered.items()})
    assert defaults == ServerSettings(), "the chart's defaults are the server's"
    assert values["terminationGracePeriodSeconds"] is None, "computed from preStop and the server values"
