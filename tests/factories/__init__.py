"""Test factories shared by unit, integration and conformance tests.

* ``tests.factories.telemetry``: valid telemetry records, fleets, ground-truth stats, and a
  catalogue of invalid user records.
* ``tests.factories.kinesis``: Kinesis event records (plain and KPL-aggregated), tumbling
  window events, a Lambda context stand-in, and ``run_window`` to drive a handler through
  a window.
* ``tests.factories.dynamodb``: the aggregates table as Terraform creates it, and scans.
* ``tests.factories.aggregates``: statistics of literal values, and minute totals
  (one site, or a device that moved between sites within the minute).
"""
