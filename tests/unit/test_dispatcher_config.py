"""The dispatcher's routing table and payload packing (pure), and its configuration."""

from __future__ import annotations

import json

import pytest

from lambdas.dispatcher.config import DispatcherConfig
from lambdas.dispatcher.packing import Entry, envelope_bytes, pack
from lambdas.dispatcher.routing import Route, workers_for
from lambdas.shared.settings import ConfigError
from tests.factories.fanout import dispatcher_environ


def test_routes_and_workers_are_read_with_defaults() -> None:
    # GIVEN routes naming known workers, one without patterns
    # WHEN the configuration is read
    config = DispatcherConfig.from_environ(dispatcher_environ())
    # THEN missing pattern lists match everything, and the payload limit is 192 KiB
    assert config.routes[0] == Route("device_state")
    assert config.routes[1].metrics == ("temperature_*",)
    assert config.max_payload_bytes == 192 * 1024


@pytest.mark.parametrize(("environ", "message"), [
    ({"WORKERS": "{}", "ROUTES": "[]"}, "WORKERS must be a non-empty JSON object"),
    ({"WORKERS": '{"a": "fn"}', "ROUTES": "[{"}, "ROUTES is not valid JSON"),
    ({"WORKERS": '{"a": "fn"}', "ROUTES": '[{"worker": "b"}]'}, "ROUTES[0].worker 'b' is not"),
    ({"WORKERS": '{"a": "fn"}', "ROUTES": '[{"worker": "a", "sites": []}]'},
     "ROUTES[0].sites must be a non-empty list"),
    ({"WORKERS": '{"a": "fn"}', "ROUTES": '[{"worker": "a", "site": ["x"]}]'},
     "unknown keys ['site']"),
    ({"WORKERS": '{"a": "not a function"}', "ROUTES": '[{"worker": "a"}]'},
     "is not a function name or ARN"),
    ({"WORKERS": '{"a": "fn"}', "ROUTES": '[{"worker": "a"}]', "MAX_PAYLOAD_BYTES": "300000"},
     "MAX_PAYLOAD_BYTES must be from"),
])
def test_a_bad_setting_is_one_line_naming_it(environ: dict[str, str], message: str) -> None:
    # GIVEN a misconfigured dispatcher WHEN its configuration is read
    with pytest.raises(ConfigError) as raised:
        DispatcherConfig.from_environ(environ)
    # THEN one line says which setting and why
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_record_goes_to_every_matching_worker_once() -> None:
    # GIVEN overlapping routes
    routes = [Route("state"), Route("alerts", metrics=("temperature_*",)),
              Route("alerts", devices=("dev-1*",)), Route("west", sites=("plant-w*",))]
    # WHEN records are routed
    # THEN each goes to the workers whose routes match, each once
    assert workers_for(routes, "dev-10", "plant-a", ["temperature_c"]) == ["state", "alerts"]
    assert workers_for(routes, "dev-20", "plant-a", ["battery_v"]) == ["state"]
    assert workers_for(routes, "dev-20", "plant-west", ["battery_v"]) == ["state", "west"]


def test_packing_keeps_every_entry_in_order_within_the_limit() -> None:
    # GIVEN 500 entries of ~150 bytes and a 4 KiB limit
    entries = [Entry.of(str(1000 + i // 5), i % 5, f"dev-{i}", 1.5, "x" * 100)
               for i in range(500)]
    limit = 4096
    # WHEN they are packed
    payloads = pack("w", entries, shard_id="shardId-1", event_source_arn="arn:s", max_bytes=limit)
    # THEN every payload is valid JSON within the limit, and together they hold every
    # entry once, in order, naming the Kinesis records they carry
    assert len(payloads) > 10
    assert all(len(p.body) <= limit for p in payloads)
    decoded = [json.loads(p.body) for p in payloads]
    keys = [r["partitionKey"] for d in decoded for r in d["records"]]
    assert keys == [f"dev-{i}" for i in range(500)]
    assert {d["shardId"] for d in decoded} == {"shardId-1"}
    for payload, body in zip(payloads, decoded, strict=True):
        assert payload.sequence_numbers == {r["sequenceNumber"] for r in body["records"]}
    assert envelope_bytes("shardId-1", "arn:s") == len(b'{"source":"shardline.dispatcher",'
                                                       b'"shardId":"shardId-1",'
                                                       b'"eventSourceARN":"arn:s","records":[]}')
