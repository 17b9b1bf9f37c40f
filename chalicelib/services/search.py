"""Words for the catalog search: the same normalization when indexing and when querying.

Text is NFKC-normalized and case-folded, then split into words (letters and
digits of any script, so Korean and English both work). Title words are
indexed with their prefixes, so "파이썬" finds "파이썬으로" (Korean attaches
particles to words) and "pyth" finds "Python"; so are the first
MAX_DESCRIPTION_WORDS distinct words of the description.
"""

import re
import unicodedata

MIN_TERM = 2
MAX_TERM = 15
MAX_DESCRIPTION_WORDS = 100
MAX_QUERY_WORDS = 5
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    normalized = unicodedata.normalize("NFKC", text or "").casefold()
    return [w[:MAX_TERM] for w in _WORD.findall(normalized) if len(w) >= MIN_TERM]


def index_terms(title: str, description: str) -> set[str]:
    description_words = list(dict.fromkeys(words(description)))[:MAX_DESCRIPTION_WORDS]
    return {word[:end] for word in words(title) + description_words for end in range(MIN_TERM, len(word) + 1)}


def query_terms(q: str) -> list[str]:
    """The words of a query, longest (most selective) first."""
    return sorted(dict.fromkeys(words(q)), key=len, reverse=True)[:MAX_QUERY_WORDS]
