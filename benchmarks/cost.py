"""The cost model: what a million predictions and the scheduled warm-up cost on Lambda behind API
Gateway, from the one-thread durations measured here. Modelled, not measured on Lambda."""

from __future__ import annotations

import math

from benchmarks.measure import VARIANTS
from inference.settings import LAMBDA_MB_PER_VCPU
from tools.prices import LAMBDA_GB_SECOND, LAMBDA_REQUEST

# Prices: AWS list prices, us-east-1, on demand, no free tier, as of 2025 (the Lambda ones are
# tools/prices.py's).
API_GATEWAY_REST_REQUEST = 3.50 / 1e6
PRICE_NOTE = (
    "list prices, us-east-1, as of 2025: Lambda x86_64 $0.0000166667 and arm64 $0.0000133334 per GB-s, "
    "$0.20 per 1M requests; API Gateway REST API $3.50 per 1M requests (first 333M/month); no free tier"
)
MEMORY_SIZES_MB = (1024, 2048, 3008)
# The scheduled warm-up: one ping every 5 minutes over a 30-day month.
WARMUP_PINGS_PER_MONTH = 30 * 24 * 60 // 5


def lambda_duration_ms(one_core_ms: float, memory_mb: int) -> float:
    """The model of Lambda's CPU: a function gets memory/1769 MB of a vCPU's time. Below one vCPU a
    single thread runs proportionally slower; above it, one thread (what the handler uses below
    3,538 MB) cannot go faster than on one full core."""
    return one_core_ms * max(1.0, LAMBDA_MB_PER_VCPU / memory_mb)


def usd_per_million(duration_ms: float, memory_mb: int, architecture: str, texts_per_request: int) -> float:
    billed_ms = math.ceil(duration_ms)
    per_request = (
        billed_ms / 1000 * memory_mb / 1024 * LAMBDA_GB_SECOND[architecture] + LAMBDA_REQUEST + API_GATEWAY_REST_REQUEST
    )
    return per_request / texts_per_request * 1e6


def cost_table(tasks: dict) -> list[dict]:
    """$ per 1M predictions from the one-thread warm durations (single requests, and fp32 64-text
    requests), per task."""
    rows = []
    for task, measured in tasks.items():
        warm = measured["warm"]
        for architecture in ("x86_64", "arm64"):
            for memory_mb in MEMORY_SIZES_MB:
                row = {"task": task, "architecture": architecture, "memory_mb": memory_mb}
                for key in ("naive", *VARIANTS):
                    subject = "naive 1t" if key == "naive" else f"handler {key} 1t"
                    single_ms = lambda_duration_ms(warm[subject]["p50_ms"], memory_mb)
                    row[f"{key}_single_ms"] = single_ms
                    row[f"{key}_single_usd"] = usd_per_million(single_ms, memory_mb, architecture, 1)
                batch_ms = lambda_duration_ms(warm["handler fp32 1t"]["batch_p50_ms"]["64"], memory_mb)
                row["fp32_batch64_usd"] = usd_per_million(batch_ms, memory_mb, architecture, 64)
                rows.append(row)
    return rows


def warmup_cost(warm: dict) -> list[dict]:
    billed_ms = max(1, math.ceil(warm["handler fp32 1t"]["warmup_ms"]))
    return [
        {
            "architecture": architecture,
            "memory_mb": memory_mb,
            "usd_per_month": WARMUP_PINGS_PER_MONTH
            * (billed_ms / 1000 * memory_mb / 1024 * LAMBDA_GB_SECOND[architecture] + LAMBDA_REQUEST),
        }
        for architecture in ("x86_64", "arm64")
        for memory_mb in MEMORY_SIZES_MB
    ]
