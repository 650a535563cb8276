"""The query page's route as Terraform deploys it on the embedded stack: ``GET /`` answers
the page to a browser's unsigned navigation, while ``GET /query`` still needs SigV4 (the
page's own requests are tested in headless Chromium: tests/conformance/test_query_page.py).
"""

from __future__ import annotations

import json

from botocore.credentials import Credentials

from shardline.local.embedded import LOCAL_REGION
from shardline.local.stack import LocalStack
from tests.support.http_api import send


def test_the_page_needs_no_signature_and_its_data_route_does(stack: LocalStack) -> None:
    # GIVEN the stack applied from envs/local.tfvars, IAM enforced
    assert stack.api_url is not None and stack.iam
    # WHEN a browser navigates to the API's root, and asks for data without signing
    page = send(stack.api_url, "/")
    data = send(stack.api_url, "/query?site=plant-a&metric=temperature_c&resolution=5m")
    # THEN the page comes back, configured for the stack's region, under its policy
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    config = page.body.decode().split('<script type="application/json" id="config">')[1]
    assert json.loads(config.split("</script>")[0]) == {"region": LOCAL_REGION}
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # AND the data is refused until the request is signed by someone allowed to invoke it
    assert data.status == 403 and data.json() == {"message": "Forbidden"}
    # AND the Terraform outputs name the page's address and the API's base (no trailing
    # slash, so "<url>/query" is the data route's address)
    api_url = str(stack.outputs["query_api_url"])
    assert not api_url.endswith("/") and stack.outputs["query_page_url"] == api_url + "/"


def test_a_flood_of_the_open_page_is_throttled_on_its_own(stack: LocalStack) -> None:
    # GIVEN the page route's own limits (a burst of 10, 2 a second, by default)
    assert stack.api_url is not None
    # WHEN anyone asks for the page 20 times at once
    statuses = [send(stack.api_url, "/").status for _ in range(20)]
    # THEN those over its limit are refused with 429, and never invoke the function
    assert statuses.count(429) >= 5 and set(statuses) == {200, 429}
    # AND a signed data request right after still reaches the function (its route has its
    # own throttle): the fleet's roll-ups, or 404 if none was written yet
    data = send(stack.api_url, "/query?fleet=true&metric=temperature_c&resolution=1h",
                signer=Credentials("test", "test"))
    assert data.status in (200, 404), data.body
