"""The message bus of scale-out mode: collected records on NATS JetStream, between connectors and workers.

``records.py`` says what travels (a record with its raw payload and its natural key) and how it is
encoded; ``nats.py`` is a small synchronous facade over nats-py (a stream, publishing with
de-duplication, a durable pull consumer). Embedded mode has no bus: ``watchfloor run`` stores what it
collects itself (services/collect.py).
"""
