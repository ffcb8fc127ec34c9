"""The README's commands, run in order on a fresh clone as a newcomer types them.

Every command of the README's ```sh and ```console blocks is run in a `git clone` of this
repository's HEAD, except the ones that need an AWS account (NEEDS_AWS: listed here by hand, and
the test fails if the README's list differs, so a new command is either run or consciously
skipped) and `make test` itself (this suite). `make serve` runs in the background for the curl
commands after it; a console command's documented output is checked (the JSON answer's fields, or
an error line on stderr). The clone borrows this checkout's venv (reinstalled in place) and built
packages, so it does not spend minutes rebuilding what `make test` has just built; node_modules is
not borrowed: the README's order must install it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```(sh|console)\n(.*?)^```", re.M | re.S)
NEEDS_AWS = [
    "make install && npx cdk bootstrap aws://ACCOUNT_ID/REGION",
    "make deploy",
    "make smoke",
    "make destroy",
    "API_URL=$(aws cloudformation describe-stacks",
    'curl -s "$API_URL"',
]
THIS_SUITE = "make test"
SERVE = "make serve"


def readme_commands() -> list[tuple[str, str | None]]:
    """(command, its documented output or None), in the README's order; comments dropped."""
    commands: list[tuple[str, str | None]] = []
    for kind, body in BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8")):
        for line in body.splitlines():
            if kind == "sh" and line.strip() and not line.startswith("#"):
                commands.append((_without_comment(line), None))
            elif kind == "console" and line.startswith("$ "):
                commands.append((line[2:], None))
            elif kind == "console" and commands:
                commands[-1] = (commands[-1][0], line)
    return commands


def _without_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system
        shutil.copy2(source, destination)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of HEAD with this checkout's venv (editable-installed from the clone) and
    built packages (newer than the clone's sources, so make does not rebuild them), hard-linked
    where the disk allows: they are 4 GB, and nothing here rewrites a file in place (pip and
    Python replace files, they don't edit them)."""
    clone = tmp_path_factory.mktemp("readme") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    shutil.copytree(REPO / ".venv", clone / ".venv", symlinks=True, copy_function=_link_or_copy)
    subprocess.run(
        [str(clone / ".venv/bin/python"), "-m", "pip", "install", "--quiet", "--no-deps", "-e", "."],
        cwd=clone, check=True, capture_output=True,
    )  # fmt: skip
    for package in (REPO / "model_artifacts").iterdir():
        if package.is_dir() and (package / "model_card.json").is_file():
            shutil.copytree(
                package, clone / "model_artifacts" / package.name, dirs_exist_ok=True, copy_function=_link_or_copy
            )
    now = time.time() + 5
    for path in [clone / ".venv/.installed", *(clone / "model_artifacts").rglob("*")]:
        if path.is_file():
            os.utime(path, (now, now))
    return clone


def test_the_readme_lists_exactly_the_aws_commands_it_skips() -> None:
    skipped = [command for command, _ in readme_commands() if command.startswith(tuple(NEEDS_AWS))]
    assert sorted({prefix for prefix in NEEDS_AWS for command in skipped if command.startswith(prefix)}) == sorted(
        NEEDS_AWS
    )


@pytest.mark.slow
def test_every_readme_command_that_needs_no_aws_works_in_order_on_a_fresh_clone(clone: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PORT": str(port)}
    env.pop("MODEL_DIR", None)
    server = None
    ran = []
    try:
        for command, documented in readme_commands():
            if command.startswith(tuple(NEEDS_AWS)) or command == THIS_SUITE:
                continue
            command = command.replace("localhost:3000", f"localhost:{port}")
            if command == SERVE:
                server = subprocess.Popen(
                    ["make", "serve"], cwd=clone, env=env, start_new_session=True,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )  # fmt: skip
                _wait_until_serving(server, port)
                ran.append(command)
                continue
            result = subprocess.run(
                ["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=600
            )
            ran.append(command)
            if documented is not None and not documented.startswith("{"):
                # A documented refusal: that line, first on stderr, and a failing exit status.
                assert result.returncode != 0, command
                assert result.stderr.splitlines()[0] == documented, command
                continue
            assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            if documented is not None:
                answer = json.loads(result.stdout)
                assert set(answer) == set(json.loads(documented)), command
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    assert SERVE in ran and any(command.startswith("make package") for command in ran)
    assert any("-c models=" in command for command in ran)


def _wait_until_serving(server: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 600  # the first `make serve` installs node_modules
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"make serve stopped: {server.stdout.read() if server.stdout else ''}")
        try:  # the server binds its port before it loads the packages: a read may wait for them
            requests.get(f"http://127.0.0.1:{port}/models", timeout=10)
            return
        except requests.RequestException:
            time.sleep(1)
    raise AssertionError("make serve did not answer in 10 minutes")
