"""shardline: IoT telemetry streaming on AWS, with a faithful offline runtime."""

__version__ = "0.1.0"
