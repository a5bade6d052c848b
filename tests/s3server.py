"""A real S3 API server for tests: moto's ``ThreadedMotoServer`` on 127.0.0.1, never a mocked client."""

from __future__ import annotations

import contextlib
import os
import threading


@contextlib.contextmanager
def serve(bucket: str):
    """Start the server, create ``bucket``, point the ``AWS_*`` environment at it; undo on exit."""
    import boto3
    from moto.s3.responses import S3Response
    from moto.server import ThreadedMotoServer

    # Real S3 decides a conditional put atomically; moto checks and then stores, so two requests
    # at once could both pass the check. Serialising moto's object puts gives the test server
    # S3's semantics (the writers under test know nothing of this lock).
    original = S3Response.put_object
    lock = threading.Lock()

    def put_object(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    S3Response.put_object = put_object
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        yield {"endpoint": endpoint, "env": env}
    finally:
        server.stop()
        S3Response.put_object = original
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
