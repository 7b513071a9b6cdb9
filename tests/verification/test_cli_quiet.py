"""`jingpin verify` is quiet and honest as a real process: for every file of the hostile corpus
stderr carries no Python traceback, the exit code is one of ../shared/design.md's, and only the
files allowed to pass exit 0. `--verbose` is where library diagnostics go."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlmodel import Session

from tests.verification import corpus
from tests.verification.conftest import revisions, signed_agreement

ROOT = Path(__file__).resolve().parents[2]


def run_verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`jingpin verify` in a fresh interpreter with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "verify", str(path), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


@pytest.fixture
def hostile_files(session: Session, tmp_path: Path) -> list[tuple[str, Path, bool]]:
    revs = revisions(session, signed_agreement(session))
    files = []
    for name, data, may_pass in corpus.build(revs[-1], revs):
        path = tmp_path / name
        path.write_bytes(data)
        files.append((name, path, may_pass))
    return files


def test_cli_has_no_traceback_and_a_contract_exit_code_for_every_hostile_file(
    hostile_files: list[tuple[str, Path, bool]],
) -> None:
    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(lambda f: (f, run_verify(f[1])), hostile_files))
    problems = []
    for (name, _, may_pass), done in results:
        if "Traceback" in done.stderr or "Traceback" in done.stdout:
            problems.append(f"{name}: traceback\n{done.stderr[-800:]}")
        if done.returncode not in (0, 1, 2, 3):
            problems.append(f"{name}: exit {done.returncode}")
        if done.returncode == 0 and not may_pass:
            problems.append(f"{name}: passed")
        if not done.stdout.strip():
            problems.append(f"{name}: no verdict printed")
    assert not problems, "\n".join(problems)
    codes = {name: done.returncode for (name, _, _), done in results}
    assert codes["empty.pdf"] == 3 and codes["png-named.pdf"] == 3
    assert codes["encrypted.pdf"] == 3
    assert codes["genuine-revision-3.pdf"] == 0
    assert codes["contents-not-cms.pdf"] == 1 and codes["junk-appended.pdf"] == 1
    assert codes["foreign-self-signed.pdf"] == 2
    assert codes["content-replaced-after-signing.pdf"] == 1
    assert codes["annotation-added-after-signing.pdf"] == 1


def test_verbose_shows_the_library_tracebacks_that_the_default_keeps_off_stderr(
    env: dict[str, object], tmp_path: Path
) -> None:
    # pyHanko logs a traceback for a self-signed signer (an ordinary foreign PDF).
    path = tmp_path / "foreign.pdf"
    path.write_bytes(corpus._self_signed_foreign())
    quiet, verbose = run_verify(path), run_verify(path, "--verbose")
    assert quiet.returncode == verbose.returncode == 2
    assert quiet.stderr.strip() == ""
    assert "Traceback" in verbose.stderr and "self-signed" in verbose.stderr
    assert quiet.stdout == verbose.stdout
