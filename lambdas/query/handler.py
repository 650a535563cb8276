"""Query Lambda: ``GET /query`` of the HTTP query API (API Gateway HTTP API, payload
format 2.0) → the statistics ``shardline.query`` reads, as JSON or CSV; ``GET /`` → the
query page (``page.py``), which charts ``GET /query``'s answers in a browser.

Handler string: ``lambdas.query.handler.lambda_handler``. The query string mirrors
``shardline query``'s flags (``params.py``). Status codes:

* 200: the rows (``QueryResult.to_json`` or ``.to_csv``); an empty array when the series
  exists but the range holds none of it;
* 400 ``{"message": ...}``: a malformed request (selection, metric name, time, range,
  resolution, format, unknown parameter);
* 404 ``{"message": ...}``: an unknown device, site or metric (the table holds no data of
  it at all).

``GET /`` holds no data and its route needs no authorization (a browser's navigation
cannot sign); the page signs its own ``GET /query`` requests. Authorization (IAM, SigV4),
throttling and CORS are API Gateway's (terraform/modules/query_api); the function only
reads, with a role allowed ``dynamodb:Query`` on the aggregates table.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.query import page
from lambdas.query.config import get_config
from lambdas.query.params import parse_request
from shardline.query import (
    AggregateReader,
    QueryError,
    UnknownDeviceError,
    UnknownMetricError,
    UnknownSiteError,
)

logger = Logger()
metrics = Metrics()
tracer = Tracer()
app = APIGatewayHttpResolver()

NOT_FOUND = (UnknownDeviceError, UnknownSiteError, UnknownMetricError)


@functools.cache
def _reader() -> AggregateReader:
    return AggregateReader(get_config().aggregates_table, boto3.client("dynamodb"))


@app.get("/query")
@tracer.capture_method
def get_query() -> Response:
    request = parse_request(app.current_event.query_string_parameters)
    result = request.spec.run(_reader())
    metrics.add_metric(name="QueryRows", unit=MetricUnit.Count, value=len(result))
    logger.info("query answered", extra={
        "scope": request.spec.scope, "selected": request.spec.name,
        "metrics": list(request.spec.metrics), "resolution": request.spec.resolution,
        "rows": len(result), "format": request.format})
    body = result.to_csv() if request.format == "csv" else result.to_json()
    return Response(status_code=200, content_type=request.content_type, body=body)


@app.get("/")
def get_page() -> Response:
    served = page.render(get_config().region)
    metrics.add_metric(name="PageServed", unit=MetricUnit.Count, value=1)
    return Response(status_code=200, content_type="text/html; charset=utf-8",
                    body=served.html, headers=served.headers)


@app.exception_handler(QueryError)
def query_error(error: QueryError) -> Response:
    status = 404 if isinstance(error, NOT_FOUND) else 400
    metrics.add_metric(name="QueryRejected", unit=MetricUnit.Count, value=1)
    logger.info("query rejected", extra={"status": status, "reason": str(error)})
    return Response(status_code=status, content_type="application/json",
                    body=json.dumps({"message": str(error)}))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP,
                              clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    get_config()  # fail fast, with a clear message, on a misconfigured function
    return app.resolve(event, context)
