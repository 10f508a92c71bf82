"""The 2048 words generated passphrases are drawn from.

Built from the English Wikipedia frequency list that zxcvbn already ships
(no second copy of a word list in the page): the most frequent plain
lower-case ASCII words of 4 to 7 letters, minus words about religion,
ethnicity, violence and politics that make poor random passphrases. 2048
keeps the words familiar; seven of them give 77 bits. The list depends only
on the pinned zxcvbn version; a change would alter which passphrases get
suggested, never a derived key.
"""

from __future__ import annotations

import functools

WORD_COUNT = 2048
MIN_LETTERS = 4
MAX_LETTERS = 7

_EXCLUDED_TEXT = """
    abuse abuses arab arabian arabic arabs assault bible bomb bombing bombings bombs
    christ church churches death deaths died disease diseases executed genocide guns
    hamas hindu hindus hinduism injured injuries injury islam islamic jewish jews
    killed killing killings massacre mosque mosques murder muslim muslims nazi nazis
    negro obama priests prison prisons qaeda rabbi racism rape sexes sexual sikh
    slave slaves slavery taliban terror victims warfare wars wartime weapons whites
    wounded http https isbn
"""
_EXCLUDED = frozenset(_EXCLUDED_TEXT.split())


@functools.cache
def words() -> tuple[str, ...]:
    """The word list, most frequent first; computed once per process."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    chosen: list[str] = []
    for word in FREQUENCY_LISTS["english_wikipedia"]:
        if (
            MIN_LETTERS <= len(word) <= MAX_LETTERS
            and word.isascii()
            and word.isalpha()
            and word.islower()
            and word not in _EXCLUDED
        ):
            chosen.append(word)
            if len(chosen) == WORD_COUNT:
                return tuple(chosen)
    raise RuntimeError(
        f"zxcvbn's English list yields {len(chosen)} usable words, expected {WORD_COUNT}"
    )
