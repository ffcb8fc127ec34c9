"""Checks a SigV4 signature the way AWS does: recompute it from the request as received."""

from __future__ import annotations

import hmac
import re

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<access_key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, SignedHeaders=(?P<signed_headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def signature_is_valid(
    credentials: Credentials, region: str, method: str, url: str, headers: dict[str, str], body: bytes
) -> bool:
    """True when `headers` (lower-case names) carry a valid execute-api signature of this request."""
    authorization = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
    if authorization is None or authorization["access_key"] != credentials.access_key:
        return False
    signed = authorization["signed_headers"].split(";")
    if not {"host", "x-amz-date"} <= set(signed) or any(name not in headers for name in signed):
        return False
    request = AWSRequest(method=method, url=url, data=body, headers={name: headers[name] for name in signed})
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(credentials, "execute-api", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return hmac.compare_digest(expected, authorization["signature"])
