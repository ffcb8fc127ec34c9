"""`python -m tools.smoke --stack NAME`: real requests to the deployed API, as a pass/fail table.

The URL is the stack's `ApiUrl` output (or --url). When the API wants credentials the requests
carry them: the value of the API key named by the stack's `ApiKeyId` output (or --api-key /
--api-key-id), and a SigV4 signature for execute-api when the stack's `AuthMode` output is
AWS_IAM (or --iam).

Exit code 0: every check passed; 1: a check failed; 2: the checks could not start (no
credentials, no such stack, no ApiUrl output, ...), said in one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import NoCredentialsError, NoRegionError

from tools.aws import aws_errors_as, aws_session, stack_outputs

# Three merchants of different kinds, so a batch that comes back out of order shows.
TEXTS = ("STARBUCKS STORE 10432 SEATTLE WA", "RYANAIR DUBLIN FR8J2K", "CVS/PHARMACY #04512")
# API Gateway gives up on the function after 29 s, so even a cold start answers within this.
TIMEOUT_SECONDS = 35
# The method authorization type the stack reports in its AuthMode output when IAM auth is on.
IAM_AUTH_MODE = "AWS_IAM"
EXECUTE_API_REGION = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")
MODEL_CARD = Path(__file__).resolve().parents[1] / "model_artifacts" / "model_card.json"
# The API rounds scores to 4 decimals; the same text must score the same wherever it sits.
SCORE_TOLERANCE = 1e-3


class SetupError(Exception):
    """The checks cannot start; the message is the one line the operator sees."""


class CheckFailed(Exception):
    """A response that came back but is not what the contract promises."""


@dataclass(frozen=True)
class Target:
    url: str
    api_key: str | None = None
    signer: SigV4Auth | None = None

    @property
    def needs_credentials(self) -> bool:
        return bool(self.api_key or self.signer)

    @property
    def auth(self) -> str:
        modes = [mode for mode, on in (("IAM (SigV4)", self.signer), ("API key", self.api_key)) if on]
        return " + ".join(modes) or "none"


@dataclass(frozen=True)
class ModelCard:
    """The local model card: the labels the model of that name and version can answer."""

    name: str
    version: str
    labels: frozenset[str]

    @classmethod
    def read(cls, path: Path) -> ModelCard | None:
        if not path.exists():
            return None
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
            return cls(str(card["name"]), str(card["version"]), frozenset(card["labels"]))
        except (ValueError, KeyError, TypeError) as error:
            raise SetupError(f"cannot read the model card {path}: {error!r}") from None

    def labels_of(self, model: dict) -> frozenset[str] | None:
        """The label set, when the API serves this very model (else it may have other labels)."""
        return self.labels if (model["name"], model["version"]) == (self.name, self.version) else None


@dataclass(frozen=True)
class Reply:
    status: int | None
    body: object
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class Result:
    check: str
    passed: bool
    reply: Reply
    detail: str


class ApiClient:
    """Sends JSON to the API's URL, with the API key and SigV4 signature when the target has them."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.http = requests.Session()

    def send(self, method: str, payload: object = None, *, authenticated: bool = True) -> Reply:
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        headers = {} if payload is None else {"Content-Type": "application/json"}
        if authenticated:
            headers = self._with_credentials(method, body, headers)
        started = time.perf_counter()
        try:
            response = self.http.request(method, self.target.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as error:
            failure = _abridged(f"no answer: {type(error).__name__}: {error}")
            return Reply(None, None, time.perf_counter() - started, error=failure)
        seconds = time.perf_counter() - started
        try:
            parsed = response.json()
        except ValueError:
            parsed = response.text
        return Reply(response.status_code, parsed, seconds)

    def _with_credentials(self, method: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        if self.target.api_key:
            headers = {**headers, "x-api-key": self.target.api_key}
        if self.target.signer:
            request = AWSRequest(method=method, url=self.target.url, data=body, headers=headers)
            self.target.signer.add_auth(request)
            headers = dict(request.headers.items())
        return headers


def run_checks(client: ApiClient, card: ModelCard | None) -> list[Result]:
    single = judge("single text", client.send("POST", {"text": TEXTS[0]}), 200, lambda body: _single(body, card))
    batch = judge("batch of 3", client.send("POST", {"texts": list(TEXTS)}), 200, lambda body: _batch(body, card))
    reversed_batch = client.send("POST", {"texts": list(reversed(TEXTS))})
    results = [
        single,
        batch,
        judge("batch reversed", reversed_batch, 200, lambda body: _reversed(body, batch)),
        judge("bad request", client.send("POST", {"txt": TEXTS[0]}), 400, _error),
        judge("GET /predict", client.send("GET"), 405, _error),
    ]
    if client.target.needs_credentials:
        unauthenticated = client.send("POST", {"text": TEXTS[0]}, authenticated=False)
        results.append(judge("no credentials", unauthenticated, 403, _error))
    return results


def judge(check: str, reply: Reply, expected_status: int, describe: Callable[[object], str]) -> Result:
    """Pass when the status is the expected one and `describe` finds the body as the contract says."""
    if reply.error:
        return Result(check, False, reply, reply.error)
    if reply.status != expected_status:
        return Result(check, False, reply, f"expected HTTP {expected_status}; body {_abridged(reply.body)}")
    try:
        return Result(check, True, reply, describe(reply.body))
    except CheckFailed as failure:
        return Result(check, False, reply, str(failure))
    except (KeyError, IndexError, TypeError, AttributeError):
        return Result(check, False, reply, f"unexpected body {_abridged(reply.body)}")


def _json_object(body: object) -> dict[str, Any]:
    """The body as a JSON object; any other body is unexpected (a TypeError, as indexing it by a
    name would raise, which judge reports)."""
    if not isinstance(body, dict):
        raise TypeError(f"not a JSON object: {type(body).__name__}")
    return body


def _single(body: object, card: ModelCard | None) -> str:
    body = _json_object(body)
    model = body["model"]
    labels = card.labels_of(model) if card else None
    return f"{_prediction(body, labels)}; model {model['name']} {model['version']}"


def _batch(body: object, card: ModelCard | None) -> str:
    body = _json_object(body)
    predictions = body["predictions"]
    if len(predictions) != len(TEXTS):
        raise CheckFailed(f"{len(predictions)} predictions for {len(TEXTS)} texts")
    labels = card.labels_of(body["model"]) if card else None
    return ", ".join(_prediction(prediction, labels) for prediction in predictions)


def _reversed(body: object, batch: Result) -> str:
    """The same texts in reverse order must get the same predictions in reverse order."""
    if not batch.passed:
        raise CheckFailed("needs the batch of 3 to pass first")
    forward, backward = _json_object(batch.reply.body)["predictions"], _json_object(body)["predictions"][::-1]
    same = len(forward) == len(backward) and all(
        a["label"] == b["label"] and abs(a["score"] - b["score"]) <= SCORE_TOLERANCE
        for a, b in zip(forward, backward, strict=True)
    )
    if not same:
        raise CheckFailed("the predictions do not follow the order of the texts")
    return "same predictions in reverse order"


def _prediction(prediction: dict, labels: frozenset[str] | None) -> str:
    """A label, or null (a deployment with a default_min_score answers null under it), and its score."""
    label, score, top_k = prediction["label"], prediction["score"], prediction["top_k"]
    if not (label is None or isinstance(label, str)) or not 0 <= score <= 1:
        raise CheckFailed(f"not a label and a score: {_abridged(prediction)}")
    top = top_k[0]["label"]
    if top_k[0]["score"] != score or label not in (top, None):
        raise CheckFailed(f"top_k does not start with the label: {_abridged(prediction)}")
    if labels is not None and top not in labels:
        raise CheckFailed(f"{top!r} is not one of the model's labels {sorted(labels)}")
    return f"{label} {score:.2f}" if label is not None else f"null (under min_score; top {top} {score:.2f})"


def _error(body: object) -> str:
    body = _json_object(body)
    code, message = body["error"]["code"], body["error"]["message"]
    if not (isinstance(code, str) and isinstance(message, str)):
        raise CheckFailed(f"not an error code and message: {_abridged(body)}")
    return f"{code}: {message}"


def _abridged(body: object, limit: int = 160) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def report(target: Target, results: list[Result]) -> str:
    """A plain-text table, one row per check, and a closing verdict."""
    rows = [("CHECK", "RESULT", "HTTP", "LATENCY", "DETAIL")] + [
        (
            result.check,
            "pass" if result.passed else "FAIL",
            str(result.reply.status or "-"),
            f"{result.reply.seconds * 1000:.0f} ms",
            result.detail,
        )
        for result in results
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    lines = [f"Smoke test of {target.url} (auth: {target.auth})", ""]
    lines += [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)), row[-1]]) for row in rows
    ]
    failed = sum(not result.passed for result in results)
    lines += ["", f"{len(results) - failed}/{len(results)} checks passed" + (f", {failed} FAILED" if failed else "")]
    return "\n".join(lines)


def resolve_target(args: argparse.Namespace) -> Target:
    """URL and credentials from the flags, else from the stack's outputs."""
    with aws_errors_as(SetupError):
        session = aws_session(args.region)
        outputs = {} if args.url else stack_outputs(session, args.stack, SetupError)
        url = args.url or outputs.get("ApiUrl")
        if not url:
            raise SetupError(f"stack {args.stack} has no ApiUrl output: is its deployment complete?")
        key_id = args.api_key_id or outputs.get("ApiKeyId")
        api_key = args.api_key or (api_key_value(session, key_id) if key_id else None)
        iam = args.iam or outputs.get("AuthMode") == IAM_AUTH_MODE
        return Target(url, api_key, execute_api_signer(session, url) if iam else None)


def api_key_value(session: boto3.Session, key_id: str) -> str:
    return session.client("apigateway").get_api_key(apiKey=key_id, includeValue=True)["value"]


def execute_api_signer(session: boto3.Session, url: str) -> SigV4Auth:
    credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    region = EXECUTE_API_REGION.search(url)
    region_name = region.group(1) if region else session.region_name
    if not region_name:
        raise NoRegionError()
    return SigV4Auth(credentials, "execute-api", region_name)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.smoke", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="read the URL and auth from this stack's outputs")
    where.add_argument("--url", help="POST /predict URL to test instead of a stack's ApiUrl")
    parser.add_argument("--region", help="the stack's region (default: the AWS profile's)")
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--api-key", help="send this x-api-key")
    key.add_argument("--api-key-id", help="send the value of this API Gateway API key")
    parser.add_argument("--iam", action="store_true", help="sign requests with SigV4 (IAM auth)")
    parser.add_argument("--model-card", type=Path, default=MODEL_CARD, help="labels to expect (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = resolve_target(args)
        card = ModelCard.read(args.model_card)
    except SetupError as error:
        print(f"smoke: {error}", file=sys.stderr)
        return 2
    results = run_checks(ApiClient(target), card)
    print(report(target, results))
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
