"""The bench's sections beside the task table: each measures one more thing in the same run and
renders its own part of results/latest.md.

A section is a module of benchmarks/ with three names:

- `NAME`: its key in results/latest.json and its value for `python -m benchmarks.run --only NAME`;
- `measure(bench: benchmarks.measure.Bench) -> dict`: what goes under that key (JSON-serializable);
  it starts its processes with `bench.probe(...)` over `bench.layouts`, `bench.runs` rounds;
- `markdown(measured: dict) -> list[str]`: its lines of the report, from what `measure` returned.

To add one (generation, streaming, ...): write the module and append it to SECTIONS. The report
renders the sections in this order, after the tasks' tables, each only if latest.json holds it.
"""

from __future__ import annotations

from types import ModuleType

from benchmarks import custom

SECTIONS: tuple[ModuleType, ...] = (custom,)


def by_name() -> dict[str, ModuleType]:
    return {section.NAME: section for section in SECTIONS}
