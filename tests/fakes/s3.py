"""A real S3 endpoint for the tests: moto's server mode, on a free port of this machine.

Speaks the S3 REST protocol over HTTP (the one MinIO and AWS speak), so the lake goes through the
same s3fs/botocore code as in production. `env` holds the standard AWS variables pointing at it,
for this process (monkeypatch) and for the Airflow processes a test starts.
"""
from __future__ import annotations

import contextlib
import logging


@contextlib.contextmanager
def s3_server(bucket: str):
    """Yields (f"s3://{bucket}", env) while the server runs; the bucket exists and is empty."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {"AWS_ACCESS_KEY_ID": "vigie", "AWS_SECRET_ACCESS_KEY": "vigie-secret",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
        import boto3

        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                     region_name=env["AWS_DEFAULT_REGION"]).create_bucket(Bucket=bucket)
        yield f"s3://{bucket}", env
    finally:
        server.stop()
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()  # none outlives its endpoint


def use(env: dict, monkeypatch) -> None:
    """Point this process's S3 clients at the server (s3fs caches file systems per endpoint-less key)."""
    import s3fs

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s3fs.S3FileSystem.clear_instance_cache()
