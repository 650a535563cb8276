"""The local API Gateway's pure parts: payload 2.0 responses mapped to HTTP, request
bodies and cookies in the event, SigV4 dates and scopes, the stage's token bucket."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from shardline.local.api_events import ApiRequest, EventContext, http_event, lambda_response
from shardline.local.api_routes import TokenBucket
from shardline.local.api_sigv4 import verify

T0 = 1_767_225_600.0  # 2026-01-01T00:00Z


def test_a_base64_body_is_decoded_and_a_string_result_is_a_json_body() -> None:
    # GIVEN a binary response and a function returning a plain string
    binary = json.dumps({"statusCode": 200, "isBase64Encoded": True,
                         "headers": {"Content-Type": "image/png"},
                         "body": base64.b64encode(b"\x89PNG").decode()}).encode()
    # WHEN each is mapped
    image, text = lambda_response(binary), lambda_response(json.dumps("hello").encode())
    # THEN the bytes are the decoded body; the string is a 200 JSON body, quoted
    assert image.status == 200 and image.body == b"\x89PNG"
    assert ("content-type", "image/png") in image.headers
    assert text.status == 200 and text.body == b'"hello"'


def test_a_result_that_is_not_json_or_has_a_bad_status_is_a_500() -> None:
    # GIVEN results API Gateway cannot map WHEN they are mapped THEN each is its 500
    for payload in (b"not json", json.dumps({"statusCode": "abc"}).encode()):
        response = lambda_response(payload)
        assert response.status == 500
        assert json.loads(response.body) == {"message": "Internal Server Error"}


def test_cookies_and_a_binary_body_in_the_event() -> None:
    # GIVEN a POST with cookies and a binary body
    request = ApiRequest("POST", "/upload", "", (("Cookie", "a=1; b=2"),
                                                 ("Content-Type", "application/octet-stream")),
                         b"\x00\x01")
    # WHEN its event is built
    event = http_event(request, EventContext("api", "123456789012", "POST /upload", "id", T0))
    # THEN cookies are their own field, not a header, and the body is base64
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01"
    # AND without a query string there are no queryStringParameters
    assert "queryStringParameters" not in event and event["rawQueryString"] == ""


def _signed(region: str = "us-east-1") -> tuple[ApiRequest, float]:
    """A request signed now by botocore (parameters out of order), and when."""
    request = AWSRequest(method="GET", url="http://127.0.0.1:4567/query?b=2&a=1")
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "execute-api", region).add_auth(request)
    stamp = request.headers["X-Amz-Date"]
    signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    headers = (("Host", "127.0.0.1:4567"), *request.headers.items())  # as sent over HTTP
    return ApiRequest("GET", "/query", "b=2&a=1", headers), signed_at


def secrets(key: str) -> tuple[str, None] | None:
    return ("secret", None) if key == "AKIDEXAMPLE" else None


def test_a_signature_is_valid_for_five_minutes_either_way() -> None:
    # GIVEN a request signed at some instant
    request, at = _signed()
    # WHEN it arrives within 5 minutes, and later or earlier than that
    in_time = verify(request, secrets, region="us-east-1", now_s=at + 299)
    late = verify(request, secrets, region="us-east-1", now_s=at + 301)
    early = verify(request, secrets, region="us-east-1", now_s=at - 301)
    # THEN only the first is accepted; the others have expired
    assert in_time.access_key == "AKIDEXAMPLE" and in_time.refusal is None
    assert late.access_key is None and late.refusal.startswith("Signature expired")
    assert early.access_key is None and early.refusal.startswith("Signature expired")


def test_a_tampered_query_or_another_region_is_refused() -> None:
    # GIVEN a signed request
    request, at = _signed()
    tampered = ApiRequest("GET", "/query", "b=2&a=9", request.headers)
    # WHEN its query is changed, or it is checked for another region
    changed = verify(tampered, secrets, region="us-east-1", now_s=at)
    elsewhere = verify(request, secrets, region="eu-west-1", now_s=at)
    # THEN both are refused
    assert changed.access_key is None and "does not match" in changed.refusal
    assert elsewhere.access_key is None and "scoped" in elsewhere.refusal


def test_the_token_bucket_admits_the_burst_then_the_rate() -> None:
    # GIVEN a burst of 2 refilled at 1 per second, on a clock the test moves
    now = [0.0]
    bucket = TokenBucket(2, 1.0, clock=lambda: now[0])
    # WHEN three requests come at once THEN the third is throttled
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    # AND after one second one more is admitted, after ten the burst again (no more)
    now[0] = 1.0
    assert [bucket.take() for _ in range(2)] == [True, False]
    now[0] = 11.0
    assert [bucket.take() for _ in range(3)] == [True, True, False]
