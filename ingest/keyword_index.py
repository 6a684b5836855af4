"""The keyword channel: an SQLite FTS5 table of the chunks (title and headings; text), ranked by BM25.

The table lives in the registry's database and its rows are written and deleted inside the
registry's own transactions, with the chunk's id as the FTS rowid, so the keyword channel and the
chunk store can never disagree about what exists. A database made before this table existed gets
it filled from the stored chunks the first time it is opened. Knows nothing about FAISS or embeddings.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Porter stemming so "returning" finds "returns"; unicode61 folds case and accents.
# Two columns so a match in the title or headings can weigh more than one in the text (`context_weight`).
SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(context, body, tokenize='porter unicode61')"
)

# English function words: they carry no topic, and in an OR query they match nearly every chunk.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me
    more most my myself no nor not now of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves im ive id dont doesnt didnt cant isnt
    wont get got whats thats theres heres hows wheres whos youre youve theyre""".split()  # noqa: SIM905
) | frozenset(
    # Chat fillers: customers write them, documents rarely do, so they would weigh as rare topic words
    # no document mentions and push a plain question under the coverage threshold.
    """ok okay pls plz please thanks thank thx hi hello hey ill till guys ago yet really super stuff
    bit like also still lol btw u ur anyway actually""".split()  # noqa: SIM905
)
_WORD = re.compile(r"\w+")


def keyword_text(title: str, headings: Sequence[str], text: str) -> str:
    """A chunk's words as one text: where it sits, then what it says."""
    context = context_of(title, headings)
    return f"{context}\n{text}" if context else text


def context_of(title: str, headings: Sequence[str]) -> str:
    return " > ".join(part for part in (title, *headings) if part)


def content_words(query: str) -> list[str]:
    """The query's words that are not function words, lower case, each once, in order."""
    words = [word for word in _WORD.findall(query.lower()) if word not in STOP_WORDS and word.strip("_")]
    return list(dict.fromkeys(words))


def match_expression(terms: Sequence[str]) -> str | None:
    """An FTS5 query matching any of these terms (from `query_terms`); None when there is none."""
    return " OR ".join(terms) if terms else None


def query_terms(connection: sqlite3.Connection, query: str) -> list[str]:
    """The query's content words as FTS5 terms, each quoted so no word is read as FTS syntax (AND,
    NEAR, a column name). A word no chunk holds that two indexed words make when written together
    becomes that phrase: "wifi" finds "Wi-Fi", "6ghz" finds "6 GHz", "email" finds "e-mail"."""
    return [_as_indexed(connection, word) for word in content_words(query)]


def _quoted(*words: str) -> str:
    """An FTS5 string: the words as one term or phrase, never read as FTS syntax. Words come from `_WORD`,
    so none holds a double quote."""
    return '"' + " ".join(words) + '"'


def _as_indexed(connection: sqlite3.Connection, word: str) -> str:
    term = _quoted(word)
    if _chunks_matching(connection, term):
        return term
    return _joined(connection, word) or term


def _joined(connection: sqlite3.Connection, word: str) -> str | None:
    """The phrase of two indexed words that `word` (which no chunk holds) writes together, the one most
    chunks hold; None when there is none or the word is too short to be two."""
    if len(word) < 3:
        return None
    best, most = None, 0
    for cut in range(1, len(word)):
        left, right = word[:cut], word[cut:]
        if left in STOP_WORDS or right in STOP_WORDS:
            continue  # "ago" is not "a go"
        phrase = _quoted(left, right)
        found = _chunks_matching(connection, phrase)
        if found > most:
            best, most = phrase, found
    return best


def _chunks_matching(connection: sqlite3.Connection, term: str) -> int:
    return int(
        connection.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (term,)).fetchone()[0]
    )


@dataclass(frozen=True)
class TermCoverage:
    """How much of a query the given chunks speak about.

    `share`: the query's content words found in the chunks, each weighted by its inverse document
    frequency in the whole knowledge base (a rare word says more about the topic than a common one);
    1.0 when the query has no content word. `unknown`: content words no chunk of the knowledge base holds.
    A question about something the documents never mention ("zigbee", "salary") scores low however close
    its embedding lands to some chunk; that is what the abstention rule reads it for.
    """

    share: float
    unknown: tuple[str, ...] = ()


def inverse_document_frequency(documents: int, total: int) -> float:
    """BM25's smoothed idf, kept positive: a word in every chunk still weighs a little."""
    return math.log(1.0 + (total - documents + 0.5) / (documents + 0.5))


def weighted_share(counts: Sequence[tuple[str, int, bool]], total: int) -> TermCoverage:
    """`counts`: (word, chunks of the knowledge base holding it, whether the given chunks hold it)."""
    if not counts:
        return TermCoverage(1.0)
    weights = [inverse_document_frequency(documents, total) for _, documents, _ in counts]
    found = sum(weight for weight, (_, _, present) in zip(weights, counts, strict=True) if present)
    unknown = tuple(word for word, documents, _ in counts if documents == 0)
    return TermCoverage(found / sum(weights), unknown)


def coverage(connection: sqlite3.Connection, query: str, chunk_ids: Sequence[int]) -> TermCoverage:
    """The `TermCoverage` of `query` by these chunks; words are matched as the keyword channel matches
    them (same tokenizer and stemming), so "returning" is covered by a chunk about returns."""
    total = connection.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
    among = ",".join(str(int(chunk_id)) for chunk_id in chunk_ids)
    counts = []

    def held(term: str) -> tuple[int, float]:
        # One pass over the term's rows: how many chunks hold it, and how many of those are these chunks.
        return connection.execute(
            f"SELECT count(*), total(rowid IN ({among})) FROM chunks_fts WHERE chunks_fts MATCH ?", (term,)
        ).fetchone()

    for word in content_words(query):
        documents, present = held(_quoted(word))
        if not documents and (joined := _joined(connection, word)) is not None:
            documents, present = held(joined)
        if word.isdigit() and not documents:
            continue  # a number no document states is the customer's own (an order or card number), not a topic
        counts.append((word, int(documents), present > 0))
    return weighted_share(counts, int(total))


def ensure_table(connection: sqlite3.Connection) -> None:
    """Create the table; fill it from the stored chunks when it is new or does not match them."""
    columns = [row[1] for row in connection.execute("PRAGMA table_info(chunks_fts)").fetchall()]
    connection.execute(SCHEMA)
    chunks = connection.execute("SELECT count(*) FROM chunks").fetchone()[0]
    indexed = connection.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
    if chunks == indexed and columns in ([], ["context", "body"]):
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        if columns not in ([], ["context", "body"]):  # an earlier layout of this table: make it anew
            connection.execute("DROP TABLE chunks_fts")
            connection.execute(SCHEMA)
        connection.execute("DELETE FROM chunks_fts")
        rows = connection.execute("SELECT chunk_id, title, headings, text FROM chunks").fetchall()
        insert_rows(connection, ((cid, title, json.loads(heads), text) for cid, title, heads, text in rows))
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def insert_rows(connection: sqlite3.Connection, rows: Iterable[tuple[int, str, Sequence[str], str]]) -> None:
    """Index (chunk id, title, headings, text) rows; call inside the transaction that stores the chunks."""
    connection.executemany(
        "INSERT INTO chunks_fts(rowid, context, body) VALUES (?, ?, ?)",
        [(cid, context_of(title, headings), text) for cid, title, headings, text in rows],
    )


def delete_document(connection: sqlite3.Connection, doc_id: str) -> None:
    """Drop a document's rows; call before its chunks are deleted, in the same transaction."""
    connection.execute(
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT chunk_id FROM chunks WHERE doc_id = ?)", (doc_id,)
    )


def delete_chunks(connection: sqlite3.Connection, chunk_ids: Sequence[int]) -> None:
    """Remove these chunks' rows (inside the caller's transaction)."""
    connection.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(int(i),) for i in chunk_ids])


def search(
    connection: sqlite3.Connection, query: str, k: int, context_weight: float = 1.0
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score) of the `k` best-matching chunks, best first; higher scores are better.
    A query word found in the title or headings counts `context_weight` times one found in the text."""
    expression = match_expression(query_terms(connection, query)) if k > 0 else None
    if expression is None:
        return []
    # FTS5's bm25() is negated so that ascending order is best first; flip it back.
    rows = connection.execute(
        "SELECT rowid, -bm25(chunks_fts, ?, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? "
        "ORDER BY bm25(chunks_fts, ?, 1.0) LIMIT ?",
        (context_weight, expression, context_weight, k),
    ).fetchall()
    return [(int(cid), float(score)) for cid, score in rows]


def indexed_ids(connection: sqlite3.Connection) -> list[int]:
    return [row[0] for row in connection.execute("SELECT rowid FROM chunks_fts").fetchall()]
