"""Chunking with the real all-MiniLM-L6-v2 tokenizer: token limits, offsets, headings, pages, FAQ pairs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunking import WINDOW_CHARS, chunk_document, token_counter, token_limit
from ingest.document import Chunk, ParsedDocument
from ingest.loaders import parse_file
from ingest.sections import Piece, assemble, full_text

MAX_BYTES = 10 * 2**20
MODEL_WINDOW = 256  # all-MiniLM-L6-v2's max_seq_length

PARAGRAPH = (
    "The Halo Router (BW-H1) covers up to 2,000 sq ft. Each Halo Mesh Point adds up to 1,500 sq ft, and a "
    "network holds at most six mesh points plus the router. If the status light is solid amber, the router "
    "has no internet: restart the modem first, then the router, and check that the cable is in the WAN port."
)


def numbered(paragraph: str, copies: int) -> list[str]:
    """Copies of a paragraph made distinct, so every chunk has exactly one place in the text."""
    return [paragraph.replace("Halo", f"Halo-{number}") for number in range(copies)]


def long_document() -> ParsedDocument:
    pieces = [
        Piece("\n\n".join(numbered(PARAGRAPH, 12)), headings=("Guide", "Coverage")),
        Piece("\n".join(numbered(PARAGRAPH.replace(". ", ".\n"), 3)), headings=("Guide", "Lights")),
        Piece(" ".join(numbered(PARAGRAPH, 6)), headings=("Guide",)),  # one long paragraph: sentence splits
    ]
    return assemble("Guide", pieces)


def chunk(
    document: ParsedDocument, tokenizer, chunk_tokens: int = 200, overlap_tokens: int = 32
) -> list[Chunk]:
    return chunk_document(
        document, tokenizer, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens, max_tokens=MODEL_WINDOW
    )


def assert_valid(document: ParsedDocument, chunks: list[Chunk], tokenizer, limit: int) -> None:
    text = full_text(document)
    for piece in chunks:
        assert text[piece.start : piece.end] == piece.text
        assert piece.text == piece.text.strip() and piece.text
        assert len(tokenizer.tokenize(piece.text)) <= limit
        # With [CLS] and [SEP] the chunk still fits the model window.
        assert len(tokenizer(piece.text)["input_ids"]) <= MODEL_WINDOW


def test_chunks_of_a_long_document_fit_and_index_the_text(tokenizer):
    document = long_document()
    chunks = chunk(document, tokenizer)
    assert_valid(document, chunks, tokenizer, limit=200)
    assert len(chunks) >= 6
    assert {piece.title for piece in chunks} == {"Guide"}
    assert [piece.headings for piece in chunks][0] == ("Guide", "Coverage")
    assert {piece.headings for piece in chunks} == {("Guide", "Coverage"), ("Guide", "Lights"), ("Guide",)}
    # No chunk crosses a section boundary, and together they cover every word of every section
    # (a passage repeated inside one section could be placed on an earlier copy; these have none).
    for section in document.sections:
        inside = [
            piece for piece in chunks if section.start <= piece.start < section.start + len(section.text)
        ]
        assert all(piece.end <= section.start + len(section.text) for piece in inside)
        covered = set()
        for piece in inside:
            covered.update(range(piece.start, piece.end))
        words = [i for i, char in enumerate(section.text, section.start) if not char.isspace()]
        assert set(words) <= covered


def test_neighbouring_chunks_overlap_only_when_asked(tokenizer):
    document = assemble("Guide", [Piece(" ".join(numbered(PARAGRAPH, 8)))])
    overlapping = chunk(document, tokenizer, chunk_tokens=100, overlap_tokens=45)
    separate = chunk(document, tokenizer, chunk_tokens=100, overlap_tokens=0)
    # LangChain overlaps whole pieces (here sentences of 19-39 tokens) totalling at most `overlap_tokens`.
    assert all(after.start < before.end for before, after in zip(overlapping, overlapping[1:], strict=False))
    assert all(after.start >= before.end for before, after in zip(separate, separate[1:], strict=False))
    assert len(overlapping) > len(separate)


def test_model_window_caps_the_chunk_size(tokenizer):
    document = long_document()
    chunks = chunk_document(document, tokenizer, chunk_tokens=500, overlap_tokens=32, max_tokens=64)
    assert token_limit(tokenizer, chunk_tokens=500, max_tokens=64) == 62
    assert_valid(document, chunks, tokenizer, limit=62)
    assert max(len(tokenizer.tokenize(piece.text)) for piece in chunks) > 40  # the cap is used, not undershot


@pytest.mark.parametrize(
    "text",
    [
        "x" * 5000,  # one "word" with no separator at all
        "https://support.brightwave.example/" + "a1b2c3/" * 600,
        "路由器的覆盖范围为两千平方英尺。" * 150,  # no spaces; every character is a token
        "🙂" * 700 + " done",  # characters the vocabulary lacks
        ("word " * 40 + "\n") * 40,
    ],
)
def test_pathological_text_still_fits(tokenizer, text):
    document = assemble("Odd", [Piece(text)])
    chunks = chunk(document, tokenizer, chunk_tokens=128, overlap_tokens=16)
    assert chunks
    assert_valid(document, chunks, tokenizer, limit=128)


def test_faq_pairs_stay_whole_unless_too_long(tokenizer):
    short = "Q: How long is the warranty?\nA: Two years."
    long_answer = "Q: What does the light mean?\nA: " + " ".join([PARAGRAPH] * 5)
    document = assemble("faq", [Piece(short, whole=True), Piece(long_answer, whole=True)])
    chunks = chunk(document, tokenizer, chunk_tokens=120, overlap_tokens=16)
    assert chunks[0].text == short
    assert len(chunks) > 2
    assert_valid(document, chunks, tokenizer, limit=120)


def test_whole_section_that_fits_exactly_is_one_chunk(tokenizer):
    pair = "Q: Where is the reset button?\nA: On the back.\n\nHold it for 10 seconds."
    exact_fit = len(tokenizer.tokenize(pair))
    chunks = chunk(
        assemble("faq", [Piece(pair, whole=True)]), tokenizer, chunk_tokens=exact_fit, overlap_tokens=0
    )
    assert [piece.text for piece in chunks] == [pair]


def test_pdf_chunks_carry_page_numbers(samples, tokenizer):
    document = parse_file(samples["manual.pdf"], MAX_BYTES)
    chunks = chunk(document, tokenizer)
    assert [(piece.page, piece.title) for piece in chunks] == [
        (1, "Halo manual"),
        (2, "Halo manual"),
        (3, "Halo manual"),
    ]
    assert_valid(document, chunks, tokenizer, limit=200)


@pytest.mark.parametrize("name", ["guide.md", "returns.html", "pro.docx", "faq.jsonl", "latin1.txt"])
def test_sample_files_chunk_with_their_heading_paths(samples, tokenizer, name):
    document = parse_file(samples[name], MAX_BYTES)
    chunks = chunk(document, tokenizer)
    assert_valid(document, chunks, tokenizer, limit=200)
    assert [piece.headings for piece in chunks] == [section.headings for section in document.sections]


def test_heading_path_is_joined_for_display(samples, tokenizer):
    chunks = chunk(parse_file(samples["guide.md"], MAX_BYTES), tokenizer)
    assert chunks[2].heading_path == "Halo Router guide > Setup > Pairing"


def test_chunking_is_deterministic(samples, tokenizer):
    for path in (samples["guide.md"], samples["pro.docx"]):
        document = parse_file(Path(path), MAX_BYTES)
        assert chunk(document, tokenizer) == chunk(document, tokenizer)
    assert chunk(long_document(), tokenizer) == chunk(long_document(), tokenizer)


def test_token_counter_matches_the_tokenizer(tokenizer):
    count = token_counter(tokenizer)
    for text in (PARAGRAPH, "路由器", "🙂 x", "  spaced\n\nout  ", "", "BW-P7M 10.50.0.1"):
        assert count(text) == len(tokenizer.tokenize(text))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.lists(st.sampled_from([*"abc XYZ.,;?!\n\t-é路🙂", "\n\n", "word ", "Halo "]), max_size=400).map(
        "".join
    ),
    chunk_tokens=st.integers(min_value=17, max_value=120),
    overlap_tokens=st.integers(min_value=0, max_value=16),
)
def test_any_text_chunks_within_limits_with_exact_offsets(tokenizer, text, chunk_tokens, overlap_tokens):
    document = assemble("Random", [Piece(text)])
    chunks = chunk(document, tokenizer, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens)
    assert_valid(document, chunks, tokenizer, limit=chunk_tokens)
    assert bool(chunks) == bool(document.sections)


def test_a_section_longer_than_a_window_is_chunked_window_by_window(tokenizer):
    """A 200 KB section: chunks fit, offsets index the text, no chunk spans a window cut, and the chunks of
    each window are exactly those of that window chunked on its own."""
    paragraphs = [f"Paragraph {n} says the router restarts after update {n}. " * 3 for n in range(1500)]
    document = assemble("Log", [Piece("\n\n".join(paragraphs))])
    text = full_text(document)
    assert len(text) > 3 * WINDOW_CHARS

    chunks = chunk_document(document, tokenizer, chunk_tokens=64, overlap_tokens=8, max_tokens=256)

    assert all(text[chunk.start : chunk.end] == chunk.text for chunk in chunks)
    counts = tokenizer(
        [chunk.text for chunk in chunks], add_special_tokens=False, padding=False, truncation=False
    )
    assert max(len(ids) for ids in counts["input_ids"]) <= 64
    # The first window ends at a paragraph break inside the window size; chunk it alone and compare.
    first_cut = text.rfind("\n\n", WINDOW_CHARS // 2, WINDOW_CHARS) + 2
    alone = chunk_document(
        assemble("Log", [Piece(text[:first_cut])]),
        tokenizer,
        chunk_tokens=64,
        overlap_tokens=8,
        max_tokens=256,
    )
    assert [chunk.text for chunk in chunks[: len(alone)]] == [chunk.text for chunk in alone]
    assert chunks[len(alone)].start >= first_cut
