"""`jingpin audit verify-export FILE`: check a signed audit-trail export offline."""

from __future__ import annotations

from pathlib import Path


def verify_export_file(path: Path) -> tuple[int, str]:
    """(exit code, Chinese message): 0 valid, 1 tampered or not signed by us, 3 unreadable."""
    from backend.auditing.export import verify_export
    from backend.pki.service import get_ca

    try:
        data = path.read_bytes()
    except OSError as exc:
        return 3, f"无法读取文件：{exc.strerror}"
    ca = get_ca()
    revoked = {c.serial for c in ca.list() if c.revoked}
    check = verify_export(
        data, root=ca.root_certificate, issuing=ca.issuing_certificate, revoked_serials=revoked
    )
    if check.ok:
        return 0, check.message
    return 1, f"核验失败：{check.message}"
