"""The hostile corpus (tests/verification/corpus.py) in the gm profile: built from the demo's
SM2-signed agreement and its revisions, each file gets a report or a clear 4xx through the live
app while /healthz keeps answering; nothing hostile passes. The same test functions as the
international profile run here on the gm data dir (SQLite: the corpus is not about the database).
"""

from __future__ import annotations

from tests.agreements.gm_profile import profile_template
from tests.verification.conftest import shared_verification_pool, verification_pool
from tests.verification.test_corpus import (
    hostile,
    test_corpus_has_at_least_100_generated_files,
    test_every_hostile_file_gets_a_report_or_a_clear_4xx_while_healthz_keeps_answering,
)

template = profile_template("gm", backends=("sqlite",))

__all__ = [  # collected here with this module's gm `template`
    "hostile",
    "shared_verification_pool",
    "test_corpus_has_at_least_100_generated_files",
    "test_every_hostile_file_gets_a_report_or_a_clear_4xx_while_healthz_keeps_answering",
    "verification_pool",
]


def test_the_corpus_is_built_from_an_sm2_signed_agreement(hostile: list) -> None:
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    genuine = dict((name, data) for name, data, _ in hostile)["genuine-revision-3.pdf"]
    sigs = PdfFileReader(BytesIO(genuine)).embedded_signatures
    assert [s.signer_info["signature_algorithm"]["algorithm"].dotted for s in sigs] == [
        "1.2.156.10197.1.501"
    ] * 3
