"""The arithmetic of `make bench`: the Lambda cost model, the CUDA check, the overhead, the sections
and the committed table. (No timing is asserted anywhere: the benchmarks report, the tests check their logic.)"""

import json

import pytest

from benchmarks import custom, sections
from benchmarks.cost import lambda_duration_ms, usd_per_million
from benchmarks.goals import goals
from benchmarks.layouts import cuda_files, served_files
from benchmarks.measure import VARIANTS, overhead_us, percentile
from benchmarks.report import markdown
from benchmarks.run import RESULTS
from benchmarks.sections import SECTIONS


def test_below_one_vcpu_a_thread_runs_proportionally_slower():
    assert lambda_duration_ms(10.0, 1024) == pytest.approx(10.0 * 1769 / 1024)


@pytest.mark.parametrize("memory_mb", [1769, 2048, 3008])
def test_from_one_vcpu_up_one_thread_runs_as_on_a_full_core(memory_mb):
    assert lambda_duration_ms(10.0, memory_mb) == 10.0


def test_a_prediction_costs_its_billed_milliseconds_and_both_request_fees():
    # 1 ms at 1 GB on x86_64 + $0.20 (Lambda) + $3.50 (API Gateway) per million requests
    assert usd_per_million(1.0, 1024, "x86_64", 1) == pytest.approx(0.0166667 + 0.20 + 3.50)


def test_lambda_bills_whole_milliseconds_rounded_up():
    assert usd_per_million(1.2, 1024, "arm64", 1) == usd_per_million(2.0, 1024, "arm64", 1)


def test_a_batch_shares_its_request_among_its_texts():
    assert usd_per_million(64.0, 2048, "x86_64", 64) == pytest.approx(usd_per_million(64.0, 2048, "x86_64", 1) / 64)


def test_percentiles_pick_a_measured_value():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile([3.0], 0.95)) == (50.0, 95.0, 3.0)


def test_cuda_libraries_and_nvidia_packages_are_found(tmp_path):
    (tmp_path / "torch" / "lib").mkdir(parents=True)
    (tmp_path / "torch" / "lib" / "libtorch_cpu.so").touch()
    assert cuda_files(tmp_path) == []
    (tmp_path / "torch" / "lib" / "libcudart.so.12").touch()
    (tmp_path / "nvidia_cublas_cu12-12.4.5.8.dist-info").mkdir()
    assert cuda_files(tmp_path) == ["nvidia_cublas_cu12-12.4.5.8.dist-info", "torch/lib/libcudart.so.12"]


def test_the_committed_table_is_the_rendering_of_the_committed_results():
    results = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))
    assert (RESULTS / "latest.md").read_text(encoding="utf-8") == markdown(results)


def test_an_image_carries_its_own_graph_and_what_the_runtime_reads(tmp_path):
    for name in (
        "config.json",
        "tokenizer.json",
        "model_card.json",
        "model.pt",
        "model.int8.pt",
        "model.onnx",
        "model.safetensors",
        "README.md",
        "evaluation.json",
        "confusion_matrix.png",
        "1_Pooling/config.json",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    common = {"1_Pooling/config.json", "config.json", "model_card.json", "tokenizer.json"}

    def names(graph):
        return {str(p.relative_to(tmp_path)) for p in served_files(tmp_path, graph)}

    assert names("model.pt") == common | {"model.pt"}
    assert names("model.onnx") == common | {"model.onnx"}
    # the naive image reads transformers' weights and no graph
    assert names(None) == common | {"model.safetensors"}


def _measured(naive_cold, handler_cold, naive_forward_ms, handler_p50_ms):
    cold = {"naive": {"total": naive_cold}} | {f"handler {v}": {"total": handler_cold[v]} for v in VARIANTS}
    warm = {}
    for threads in (1, 2):
        warm[f"naive {threads}t"] = {"forward_p50_ms": naive_forward_ms}
        warm |= {f"handler {v} {threads}t": {"p50_ms": handler_p50_ms[v]} for v in VARIANTS}
    return {"cold": cold, "warm": warm}


def test_goals_are_ratios_to_the_same_tasks_baseline_and_every_variant_must_meet_them():
    tasks = {
        "text-classification": _measured(
            4.0, {"fp32": 1.0, "int8": 1.2, "onnx": 0.4}, 10.0, {"fp32": 8.0, "int8": 4.0, "onnx": 5.0}
        ),
        "feature-extraction": _measured(
            2.0, {"fp32": 1.0, "int8": 1.2, "onnx": 0.4}, 4.0, {"fp32": 5.0, "int8": 3.0, "onnx": 3.0}
        ),
    }
    images = {v: {"total_gb": gb} for v, gb in (("fp32", 1.0), ("int8", 0.98), ("onnx", 0.3))}
    size = {"tasks": {task: images for task in tasks}, "cuda_files": {"torch": [], "onnx": ["nvidia_cublas"]}}
    rows = {(g["task"], g["goal"]): g for g in goals(tasks, size)}
    cold = rows["text-classification", "cold start / naive"]
    assert cold["measured"] == pytest.approx({"fp32": 0.25, "int8": 0.3, "onnx": 0.1}) and cold["met"]
    # 1.0 / 2.0 and 1.2 / 2.0: int8 misses 0.5, so the row is not met
    assert not rows["feature-extraction", "cold start / naive"]["met"]
    assert rows["text-classification", "warm p50 / naive forward, 2 threads"]["met"]
    warm = rows["feature-extraction", "warm p50 / naive forward, 1 thread"]
    assert warm["measured"]["fp32"] == pytest.approx(1.25) and not warm["met"]
    assert rows["text-classification", "image payload (GB)"]["met"]
    cuda = rows["all", "CUDA files in the image"]
    assert cuda["measured"] == {"fp32": 0, "int8": 0, "onnx": 1} and not cuda["met"]


def test_overhead_is_the_answer_less_its_forward_in_microseconds():
    assert overhead_us({"p50_ms": 0.75, "forward_p50_ms": 0.08}) == pytest.approx(670.0)


def test_every_section_has_a_name_a_measurement_and_its_report():
    names = [section.NAME for section in SECTIONS]
    assert len(set(names)) == len(names) and set(sections.by_name()) == set(names)
    for section in SECTIONS:
        assert callable(section.measure) and callable(section.markdown)


def test_the_custom_section_reports_its_overhead_once_measured_warm():
    phases = {"interpreter": 0.02, "imports": 1.0, "model_load": 0.1, "first_inference": 0.01, "total": 1.13}
    measured = {
        "package": {"name": "merchant-normalizer", "path": "model_artifacts/merchant-normalizer"},
        "cold": {"naive": phases, "handler fp32": phases},
        "goal": {"goal": "cold start / naive", "measured": 1.0, "target": "≤ 0.5", "met": False},
    }
    assert not any("overhead" in line for line in custom.markdown(measured))
    measured["warm"] = {"handler fp32 1t": {"runs": 3, "p50_ms": 4.5, "p95_ms": 5.0, "forward_p50_ms": 4.0}}
    assert "500 µs of overhead per request" in custom.markdown(measured)[-1]
