"""Device-fleet producer: simulate devices, put their telemetry into Kinesis, keep a manifest.

* ``fleet``     — deterministic simulated devices (``FleetConfig``, ``generate``)
* ``publisher`` — PutRecords with partial-failure retry (``KinesisPublisher``)
* ``put_entries`` — what one PutRecords entry is and the limits it must meet (``PutEntry``)
* ``put_scheduler`` — which records go into each call, so retries keep each key's order
* ``publish_report`` — what publishing did, counted (``PublishReport``)
* ``aggregation`` — KPL-style aggregation per shard on top of it (``AggregatingPublisher``)
* ``manifest``  — exact ground truth of what Kinesis accepted (``Manifest``)
* ``simulate``  — paced or unpaced runs tying the three together (``run_simulation``)
* ``readback``  — read a stream back to verify what was written (``read_stream``)
"""

from producers.aggregation import AggregatingPublisher, ShardMap
from producers.fleet import FleetConfig, generate
from producers.manifest import Manifest, ManifestError
from producers.publisher import KinesisPublisher, PublishError, PublishReport
from producers.put_entries import InvalidEntryError, PutEntry
from producers.simulate import SimulationError, SimulationResult, run_simulation

__all__ = [
    "AggregatingPublisher",
    "FleetConfig",
    "InvalidEntryError",
    "KinesisPublisher",
    "Manifest",
    "ManifestError",
    "PublishError",
    "PublishReport",
    "PutEntry",
    "ShardMap",
    "SimulationError",
    "SimulationResult",
    "generate",
    "run_simulation",
]
