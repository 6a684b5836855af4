"""Streamlit building blocks shared by the pages: an answer with its sources, an error line.

Model output and document text always go through ui.render first: Markdown only, never HTML,
and images neutralised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from ui.render import answer_markdown, snippet, source_label, sources_heading, timing_caption


def show_sources(
    sources: Sequence[Mapping[str, Any]], *, abstained: bool = False, expanded: bool = False
) -> None:
    """The sources of an answer in an expander: label (title, file, page, score, cited) and a snippet each;
    under an abstaining answer they are the nearest documents."""
    if not sources:
        return
    with st.expander(sources_heading(sources, abstained=abstained), expanded=expanded):
        for source in sources:
            st.markdown(f"**{source_label(source)}**")
            st.caption(snippet(str(source.get("text", ""))))


def show_answer(answer: Mapping[str, Any]) -> None:
    """An `Answer.to_dict()`: text, timings line, sources."""
    st.markdown(answer_markdown(answer))
    st.caption(timing_caption(answer))
    show_sources(answer.get("sources", []), abstained=bool(answer.get("abstained")))
