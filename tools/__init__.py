"""Operator tools: `python -m tools.preflight` (before make deploy/smoke/destroy) and
`python -m tools.smoke` (real requests to a deployed stack)."""
