"""The goals of `make bench`: ratios against the naive baseline of the same task in the same run
(the load from other work changes during a run), and the image's payload."""

from __future__ import annotations

from benchmarks.measure import VARIANTS

GOALS = {
    "cold_start": 0.5,  # handler / naive (import transformers, from_pretrained, first answer), at most
    "warm_p50": 1.0,  # handler p50 (whole handler) / naive forward p50 (dynamic padding, same threads), at most
    "payload_gb": 1.2,  # what an image adds to the Lambda base image, at most
}


def goals(tasks: dict, size: dict) -> list[dict]:
    """One row per task and goal, with the handler's three subjects (fp32, int8, onnx) as values;
    met when every subject meets it (each is a shipping configuration)."""
    rows = []
    for task, measured in tasks.items():
        cold, warm = measured["cold"], measured["warm"]
        rows.append(
            (
                task,
                "cold start / naive",
                {v: cold[f"handler {v}"]["total"] / cold["naive"]["total"] for v in VARIANTS},
                "≤",
                GOALS["cold_start"],
            )
        )
        for threads in (1, 2):
            baseline = warm[f"naive {threads}t"]["forward_p50_ms"]
            ratios = {v: warm[f"handler {v} {threads}t"]["p50_ms"] / baseline for v in VARIANTS}
            rows.append(
                (
                    task,
                    f"warm p50 / naive forward, {threads} thread{'s' if threads > 1 else ''}",
                    ratios,
                    "≤",
                    GOALS["warm_p50"],
                )
            )
        images = size["tasks"][task]
        rows.append(
            (task, "image payload (GB)", {v: images[v]["total_gb"] for v in VARIANTS}, "≤", GOALS["payload_gb"])
        )
    cuda = {v: float(len(size["cuda_files"]["onnx" if v == "onnx" else "torch"])) for v in VARIANTS}
    rows.append(("all", "CUDA files in the image", cuda, "=", 0))
    return [
        {
            "task": task,
            "goal": name,
            "measured": values,
            "target": f"{sign} {target}",
            "met": all(value <= target if sign == "≤" else value == target for value in values.values()),
        }
        for task, name, values, sign, target in rows
    ]
