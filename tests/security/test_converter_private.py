"""LibreOffice instances are private to the app user: no TCP port is open in any instance's
process tree, the XML-RPC socket sits in a 0700 folder, the UNO pipe is not writable by others,
and another local user (nobody) can connect to neither — while conversions still work."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from backend.documents.converter import ConverterPool, _pipe_socket
from tests.documents.test_converter import TEXT, chinese_docx, pdf_text

pytestmark = pytest.mark.libreoffice


def _listening_tcp_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


def _socket_inodes_of_group(pgid: int) -> set[str]:
    inodes = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != pgid:
                continue
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    return inodes


def test_no_instance_listens_on_tcp(converter_pool: ConverterPool) -> None:
    converter_pool.ensure_started()
    pids = [p for p in converter_pool.stats().pids if p]
    assert pids
    listening = _listening_tcp_inodes()
    for pid in pids:
        owned = _socket_inodes_of_group(pid)  # unoserver, its soffice.bin: one process group
        assert owned, pid
        assert not owned & listening, f"instance {pid} listens on TCP"


def test_the_sockets_are_private_and_refuse_another_local_user(
    converter_pool: ConverterPool,
) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to act as another local user")
    converter_pool.ensure_started()
    for inst in converter_pool._instances:
        assert inst.socket_dir is not None
        assert inst.socket_dir.stat().st_mode & 0o777 == 0o700
        pipe = _pipe_socket(inst.pipe)
        assert pipe.exists() and pipe.stat().st_mode & 0o022 == 0, oct(pipe.stat().st_mode)
        for path in (inst.socket_path, pipe):
            probe = (
                "import socket,sys\n"
                "s = socket.socket(socket.AF_UNIX)\n"
                "try:\n"
                f"    s.connect({str(path)!r})\n"
                "except PermissionError:\n"
                "    sys.exit(13)\n"
                "sys.exit(0)\n"
            )
            other = subprocess.run(["/usr/bin/python3", "-c", probe], user="nobody", check=False)
            assert other.returncode == 13, f"nobody could connect to {path}"


def test_conversions_still_work_over_the_private_sockets(converter_pool: ConverterPool) -> None:
    converter_pool.ensure_started()
    before = converter_pool.stats().fallback_conversions
    pdf = converter_pool.convert(chinese_docx())
    assert TEXT in pdf_text(pdf).replace("\n", "")
    assert converter_pool.stats().fallback_conversions == before  # the pool did it
