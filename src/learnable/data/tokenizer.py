"""Text to token ids and back, by character (language models) or by word (text classification).

A :class:`Tokenizer` is learned from training texts only and saved as plain JSON (its settings and
its vocabulary), so a saved model's text handling is rebuilt without pickle. Id 0 is padding and
id 1 stands for any token the training texts never had.

Example:
    >>> tokenizer = Tokenizer.learn(["to be or not to be"], level="char")
    >>> tokenizer.decode(tokenizer.encode("be not"))
    'be not'
    >>> Tokenizer.learn(["A cat.", "a dog"], level="word").encode("a cat bird")
    [2, 4, 1]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from learnable.utils.validation import brief

PAD, UNKNOWN = "<pad>", "<unk>"
LEVELS = ("char", "word")
WORD = re.compile(r"\w+|[^\w\s]")  # words and single punctuation marks; spaces separate


@dataclass
class Tokenizer:
    """A vocabulary (``tokens[i]`` is the token with id ``i``) and how text is cut into tokens.

    Args:
        level: "char" (every character is a token) or "word" (words and punctuation marks).
        lowercase: fold case before cutting (word level only by default).
        tokens: the vocabulary, ``[PAD, UNKNOWN, ...]``; set by :meth:`learn`.
    """

    level: str = "char"
    lowercase: bool = False
    tokens: list[str] = field(default_factory=lambda: [PAD, UNKNOWN])

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"tokenizer level={brief(self.level, 40)} is not known; choose one of {list(LEVELS)}.")
        if list(self.tokens[:2]) != [PAD, UNKNOWN]:
            raise ValueError(f"a tokenizer's vocabulary must start with {PAD!r}, {UNKNOWN!r}; got "
                             f"{brief(list(self.tokens[:2]), 80)}.")
        self.ids = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def learn(cls, texts: Iterable[str], *, level: str = "char", lowercase: bool | None = None,
              max_tokens: int | None = None, min_count: int = 1) -> Tokenizer:
        """Learn the vocabulary of ``texts``: the ``max_tokens`` most frequent tokens seen at least
        ``min_count`` times (ties broken alphabetically, so the result does not depend on order)."""
        tokenizer = cls(level=level, lowercase=level == "word" if lowercase is None else lowercase)
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(tokenizer.split(text))
        ranked = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
        if max_tokens is not None:
            ranked = ranked[: max(max_tokens - 2, 0)]
        if not ranked:
            raise ValueError("the texts hold no tokens to learn a vocabulary from; pass non-empty texts.")
        return cls(level=tokenizer.level, lowercase=tokenizer.lowercase, tokens=[PAD, UNKNOWN, *ranked])

    def __len__(self) -> int:
        return len(self.tokens)

    def split(self, text: str) -> list[str]:
        """Cut ``text`` into tokens (characters, or words and punctuation marks)."""
        if not isinstance(text, str):
            raise TypeError(f"a tokenizer takes text (str), got {type(text).__name__}: {text!r:.60}.")
        if self.lowercase:
            text = text.lower()
        return list(text) if self.level == "char" else WORD.findall(text)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; tokens outside the vocabulary become 1 (unknown)."""
        return [self.ids.get(token, 1) for token in self.split(text)]

    def encode_batch(self, texts: Sequence[str], length: int) -> np.ndarray:
        """Ids of many texts as one int64 array (N, length): cut after ``length`` tokens, padded with 0."""
        out = np.zeros((len(texts), length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = self.encode(text)[:length]
            out[row, : len(ids)] = ids
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Text from token ids (padding dropped; words joined by spaces)."""
        tokens = [self.tokens[int(i)] for i in ids if int(i) != 0]
        return "".join(tokens) if self.level == "char" else " ".join(tokens)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "lowercase": self.lowercase, "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tokenizer:
        """Rebuild from :meth:`to_dict` (as saved in model.json); a damaged entry raises a short ValueError.

        Example:
            >>> tokenizer = Tokenizer.from_dict({"level": "char", "lowercase": False, "tokens": [PAD, UNKNOWN, "a"]})
            >>> tokenizer.encode("ab")
            [2, 1]
        """
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if (not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens)
                or len(set(tokens)) != len(tokens)):
            raise ValueError("damaged tokenizer settings in model.json: 'tokens' must be a list of distinct strings "
                             f"(the vocabulary), got {brief(tokens)}.")
        level, lowercase = data.get("level"), data.get("lowercase")
        if level not in LEVELS or not isinstance(lowercase, bool):
            raise ValueError(f"damaged tokenizer settings in model.json: level={brief(level)} and lowercase="
                             f"{brief(lowercase)}; expected one of {list(LEVELS)} and true or false.")
        return cls(level=level, lowercase=lowercase, tokens=tokens)
