"""Run inside the image's layout: `python -I -S run_handler.py TASK_ROOT SITE_PACKAGES < request`.

-I -S leave only the standard library on sys.path; this adds the two directories the image's
Python would see (LAMBDA_TASK_ROOT and the installed requirements), invokes the handler with
each event of the request, and reports the answers, any module loaded from elsewhere and
whether torch was imported (the onnx image has none).
"""

import json
import sys
import sysconfig
import types
from pathlib import Path

task_root, site_packages = sys.argv[1], sys.argv[2]
sys.path[:0] = [task_root, site_packages]

from inference.handler import lambda_handler  # noqa: E402  (needs the path above)

request = json.load(sys.stdin)
context = types.SimpleNamespace(**request["context"])
answers = [lambda_handler(event, context) for event in request["events"]]

allowed = [
    Path(p).resolve()
    for p in (task_root, site_packages, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
]
foreign = sorted(
    name
    for name, module in list(sys.modules.items())
    if (file := getattr(module, "__file__", None))
    and Path(file).resolve() != Path(__file__).resolve()
    and not any(Path(file).resolve().is_relative_to(root) for root in allowed)
)
report = {
    "answers": answers,
    "foreign_modules": foreign,
    "sys_path": sys.path,
    "torch_imported": "torch" in sys.modules,
}
print(json.dumps(report))
