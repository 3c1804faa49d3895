from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radassure.errors import ConfigurationError
from radassure.ingest import Pseudonymiser, new_secret

SECRET = "ab" * 32


def test_matches_an_independent_hmac_sha256() -> None:
    secret = bytes.fromhex(SECRET)
    study_key = hmac.new(secret, b"radassure:study", hashlib.sha256).digest()
    expected = hmac.new(study_key, b"ACC1", hashlib.sha256).hexdigest()
    assert Pseudonymiser(SECRET).study("ACC1") == expected


def test_domains_and_secrets_separate_keys() -> None:
    p = Pseudonymiser(SECRET)
    assert p.study("X") != p.patient("X")
    assert Pseudonymiser(new_secret()).study("X") != p.study("X")


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_stable_and_whitespace_insensitive(identifier: str) -> None:
    p = Pseudonymiser(SECRET)
    assert p.patient(identifier) == p.patient(f"  {identifier} ")
    assert len(p.patient(identifier)) == 64


@pytest.mark.parametrize("bad", ["zz", "00" * 8])
def test_bad_secret_is_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        Pseudonymiser(bad)


def test_repr_hides_the_secret() -> None:
    assert SECRET not in repr(Pseudonymiser(SECRET))
