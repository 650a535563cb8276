"""Test seams: fault injectors and handler wrappers that exist only for tests and drills.

Product code carries no test hooks. A fault a test needs is injected here, on the caller's
side, or by the embedded AWS's fault layer (``shardline.local.fault_layer``) on the
service's side:

* ``tests.support.faults``: PutRecords partial failures and throttling on one boto3 client
  the caller owns (the producer's).
"""
