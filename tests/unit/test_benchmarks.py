"""The arithmetic of `make bench`: the Lambda cost model, the CUDA check and the committed table.
(No timing is asserted anywhere: the benchmarks report, the tests check their logic.)"""

import json

import pytest

from benchmarks.run import RESULTS, cuda_files, lambda_duration_ms, markdown, percentile, usd_per_million


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
