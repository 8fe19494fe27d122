"""Stored secrets: sealed with a key derived from PSASYNC_SECRET_KEY, opened only with that key."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psasync.store import SecretBox, SecretKeyError, derive_key
from psasync.store.secrets import MIN_SECRET_LENGTH

SECRET = "correct horse battery staple"
OTHER_SECRET = "correct horse battery stapler"
PRIVATE_KEY = "Zx9-private-key-of-the-api-member"


def test_a_sealed_secret_opens_to_the_same_text() -> None:
    box = SecretBox(SECRET)
    sealed = box.seal(PRIVATE_KEY)
    assert PRIVATE_KEY not in sealed
    assert box.open(sealed) == PRIVATE_KEY


def test_another_box_with_the_same_secret_key_opens_it() -> None:
    # What a restart does: the box is rebuilt from the environment.
    assert SecretBox(SECRET).open(SecretBox(SECRET).seal(PRIVATE_KEY)) == PRIVATE_KEY


@given(st.text(max_size=200))
def test_any_text_round_trips(plaintext: str) -> None:
    box = SecretBox(SECRET)
    assert box.open(box.seal(plaintext)) == plaintext


def test_sealing_twice_gives_different_text() -> None:
    box = SecretBox(SECRET)
    assert box.seal(PRIVATE_KEY) != box.seal(PRIVATE_KEY)


def test_a_changed_secret_key_is_reported_clearly() -> None:
    sealed = SecretBox(SECRET).seal(PRIVATE_KEY)
    with pytest.raises(SecretKeyError) as refused:
        SecretBox(OTHER_SECRET).open(sealed)
    message = str(refused.value)
    assert "PSASYNC_SECRET_KEY has changed" in message
    assert "enter the ConnectWise keys again" in message


@pytest.mark.parametrize("sealed", ["", "not-a-token", "gAAAAA" + "x" * 80, "schlüssel"])
def test_text_that_was_never_sealed_is_a_secret_key_error(sealed: str) -> None:
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        SecretBox(SECRET).open(sealed)


def test_a_tampered_secret_is_refused() -> None:
    box = SecretBox(SECRET)
    sealed = box.seal(PRIVATE_KEY)
    middle = len(sealed) // 2
    tampered = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]
    with pytest.raises(SecretKeyError):
        box.open(tampered)


def test_the_repr_hides_the_key() -> None:
    box = SecretBox(SECRET)
    for shown in (repr(box), str(box), f"{box!r}"):
        assert SECRET not in shown
        assert "hidden" in shown


@pytest.mark.parametrize("secret", ["", "short", "x" * (MIN_SECRET_LENGTH - 1)])
def test_a_short_secret_key_is_refused(secret: str) -> None:
    with pytest.raises(SecretKeyError, match=f"at least {MIN_SECRET_LENGTH} characters"):
        SecretBox(secret)


def test_a_secret_key_of_the_minimum_length_is_accepted() -> None:
    box = SecretBox("x" * MIN_SECRET_LENGTH)
    assert box.open(box.seal("ok")) == "ok"


def test_derived_keys_are_32_bytes_stable_and_apart_per_purpose() -> None:
    sessions = derive_key(SECRET, purpose="sessions")
    assert len(sessions) == 32
    assert derive_key(SECRET, purpose="sessions") == sessions
    assert derive_key(SECRET, purpose="stored-secrets") != sessions
    assert derive_key(OTHER_SECRET, purpose="sessions") != sessions
