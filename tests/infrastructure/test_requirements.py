"""requirements.txt is what the CDK app needs: every distribution synth imports is pinned there
or installed by one that is, at the image's versions where both pin one."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys

from packaging.requirements import Requirement

from tests.infrastructure.synth import REPO_ROOT

OWN = {"app", "deployment", "inference", "infra", "tools", "local"}


def pins(path: str) -> dict[str, str]:
    """name -> version of each `name==version` line (names normalized as pip does)."""
    lines = (REPO_ROOT / path).read_text().splitlines()
    found = (re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", line.strip()) for line in lines)
    return {normalized(match[1]): match[2] for match in found if match}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_with(names: set[str]) -> set[str]:
    """The distributions `pip install` of `names` installs: them and their requirements, transitively."""
    closure, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(normalized(requirement.name))
    return closure


def modules_after(statement: str) -> set[str]:
    """The top-level modules a fresh Python process holds after `statement`."""
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}


def distributions_synth_imports() -> set[str]:
    """The distributions of the modules importing app.py (as `cdk synth` runs it) loads, beyond
    those every process starts with (the venv's .pth hooks: setuptools', the editable install's)."""
    third_party = modules_after("import app") - modules_after("pass") - OWN - set(sys.stdlib_module_names)
    by_module = importlib.metadata.packages_distributions()
    return {normalized(dist) for module in third_party for dist in by_module.get(module, [])}


def test_every_distribution_synth_imports_is_installed_by_requirements_txt() -> None:
    missing = distributions_synth_imports() - installed_with(set(pins("requirements.txt")))
    assert not missing, f"pin them in requirements.txt: {sorted(missing)}"


def test_requirements_txt_pins_what_the_image_also_pins_at_the_images_version() -> None:
    app, image = pins("requirements.txt"), pins("lambda_image/requirements.txt")
    assert {name: app[name] for name in app.keys() & image.keys()} == {
        name: image[name] for name in app.keys() & image.keys()
    }
