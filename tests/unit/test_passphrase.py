"""Passphrase normal form, the zxcvbn rule, and generated passphrases."""

from __future__ import annotations

import pytest

from vouch.core import passphrase, wordlist
from vouch.core.errors import WeakPassphrase


@pytest.mark.parametrize(
    "typed",
    [
        "Crème brûlée",
        "  Crème brûlée \t",
        "Cre\u0300me bru\u0302le\u0301e",  # decomposed accents
        "\u3000Crème brûlée\n",  # ideographic space
    ],
)
def test_equivalent_typings_normalise_alike(typed: str) -> None:
    assert passphrase.passphrase_bytes(typed) == "Crème brûlée".encode()


def test_full_width_forms_fold_and_inner_spaces_stay() -> None:
    assert passphrase.normalize_passphrase("\uff41\uff42 c") == "ab c"
    assert passphrase.normalize_passphrase("a  b") == "a  b"


def test_weak_passphrase_is_refused_with_zxcvbn_feedback() -> None:
    with pytest.raises(WeakPassphrase) as caught:
        passphrase.check_passphrase_strength("password123", account_name="alice")
    error = caught.value
    assert error.score == 0
    assert error.minimum == 3
    assert error.warning == "This is a very common password."
    assert error.suggestions == ("Add another word or two. Uncommon words are better.",)
    assert str(error) == (
        "Passphrase is too weak (strength 0 of 4, need at least 3): This is a very common password."
    )
    assert error.code == "weak_passphrase"


def test_empty_passphrase_is_weak() -> None:
    with pytest.raises(WeakPassphrase, match="The passphrase is empty"):
        passphrase.check_passphrase_strength("  ", account_name="alice")


def test_account_name_counts_as_known() -> None:
    assert passphrase.check_passphrase_strength("quokkazebra1984", account_name="bob") >= 3
    with pytest.raises(WeakPassphrase):
        passphrase.check_passphrase_strength(
            "quokkazebra1984", account_name="quokkazebra1984@example.com"
        )


def test_long_passphrases_are_scored_on_a_prefix() -> None:
    long = "the quick brown fox jumps over the lazy dog " * 3
    assert passphrase.check_passphrase_strength(long, account_name="alice") >= 3


def test_word_list() -> None:
    words = wordlist.words()
    assert len(words) == 2048
    assert len(set(words)) == 2048
    assert all(w.isascii() and w.isalpha() and w.islower() and 4 <= len(w) <= 7 for w in words)
    assert not set(words) & wordlist._EXCLUDED


def test_generated_passphrases_are_strong() -> None:
    pool = set(wordlist.words())
    for _ in range(100):
        generated = passphrase.generate_passphrase(account_name="alice@example.com")
        parts = generated.split("-")
        assert len(parts) == 7
        assert set(parts) <= pool
        assert passphrase.check_passphrase_strength(generated, account_name="alice") >= 3


def test_generated_passphrase_has_at_least_seven_words() -> None:
    with pytest.raises(
        ValueError, match=r"^generated passphrase has 5 words, expected at least 7$"
    ):
        passphrase.generate_passphrase(words=5)
