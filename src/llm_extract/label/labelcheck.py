"""Is a label about its own item? Pure checks, no I/O.

A small model asked to name eight numbers at once can let its names slide onto a neighbour: the
value and quote are right, the name belongs to another metric, and nothing downstream can tell.
So every name is checked against the words of its own item: most of its characters must occur
there, and no other item of the same batch may explain it better. A name that fails is re-asked
once with the reason, then replaced by the code name and counted (see `labellers`).
"""

from __future__ import annotations

import unicodedata

from llm_extract.propose.ground import fold

# Characters that turn a noun into "the count of it" (人数, 金额, 覆盖率, 总量) add no evidence of
# which item a name belongs to, so they neither help nor hurt its support.
COUNT_NOUN_CHARS = frozenset("数量额率总")
# A name must share at least this share of its characters with its own item.
MIN_SUPPORT = 0.5


def _evidence(name: str) -> list[str]:
    return [ch for ch in fold(name)
            if ch not in COUNT_NOUN_CHARS and not unicodedata.category(ch).startswith(("P", "S", "N"))]


def support(name: str, context: str) -> float:
    """Share of the name's meaningful characters that occur in context (1.0 for an empty name)."""
    chars = _evidence(name)
    if not chars:
        return 1.0
    present = set(fold(context))
    return sum(ch in present for ch in chars) / len(chars)


def misaligned(names: list[str], contexts: list[str], min_support: float = MIN_SUPPORT) -> list[int]:
    """Indices of names that are not about their own item.

    A name is misaligned when less than `min_support` of it occurs in its own context, or when
    another item's context explains it strictly better than its own does.
    """
    bad = []
    for i, name in enumerate(names):
        own = support(name, contexts[i])
        others = [support(name, c) for j, c in enumerate(contexts) if j != i]
        if own < min_support or (others and max(others) > own):
            bad.append(i)
    return bad
