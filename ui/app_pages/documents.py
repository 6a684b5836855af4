"""Documents: upload files into the knowledge base, see per-file results, list, delete, re-index, search."""

from pathlib import Path

import streamlit as st

from core.settings import Settings
from ingest.knowledge_base import KnowledgeBase, KnowledgeBaseError
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.uploads import FileResult, Upload, ingest_uploads, reindex, remove_document
from ui import resources
from ui.auth import admin_gate
from ui.render import snippet, source_label
from ui.state import SessionState, session

SEARCH_K = 5


def upload_form(knowledge_base: KnowledgeBase, state: SessionState, folder: Path, max_mb: float) -> None:
    with st.form("upload", clear_on_submit=True):
        # No `type=` filter: Streamlit would reject a whole batch for one wrong file; our own check
        # refuses just that file, with a reason, and stores the rest.
        files = st.file_uploader(
            f"Add documents: {' '.join(sorted(SUPPORTED_SUFFIXES))}, up to {max_mb:g} MiB each",
            accept_multiple_files=True,
        )
        submitted = st.form_submit_button("Add to knowledge base")
    if not (submitted and files):
        return
    bar = st.progress(0.0, text="Ingesting…")

    def advance(index: int, name: str) -> None:
        bar.progress(index / len(files), text=f"Ingesting {name} ({index + 1} of {len(files)})")

    uploads = [Upload(file.name, file.getvalue()) for file in files]
    results = ingest_uploads(knowledge_base, uploads, folder, max_bytes=int(max_mb * 2**20), on_file=advance)
    bar.progress(1.0, text="Done")
    state.ingest_report = [(result.name, result.status, result.detail) for result in results]


def show_results(results: list[tuple[str, str, str]]) -> None:
    if not results:
        return
    failed = [FileResult(*row) for row in results if row[1] == "failed"]
    ok = len(results) - len(failed)
    if ok:
        st.success(f"{ok} of {len(results)} file(s) stored.")
    for result in failed:
        st.error(f"{result.name}: {result.detail}")
    st.dataframe([{"file": n, "result": s, "detail": d} for n, s, d in results], hide_index=True)


def document_list(knowledge_base: KnowledgeBase, state: SessionState, folder: Path) -> None:
    documents = knowledge_base.documents()
    st.subheader(f"In the knowledge base ({len(documents)})")
    if not documents:
        st.info("No documents yet: upload some above, or run `tunedesk ingest FOLDER`.")
        return
    rows = [
        {
            "title": record.title,
            "file": Path(record.source).name,
            "chunks": record.chunk_count,
            "added": record.added_at,
            "updated": record.updated_at,
        }
        for record in documents
    ]
    st.dataframe(rows, hide_index=True, use_container_width=True)
    by_label = {f"{record.title} ({Path(record.source).name})": record.doc_id for record in documents}
    left, right = st.columns([3, 1])
    doomed = left.selectbox("Document", list(by_label), label_visibility="collapsed")
    if right.button("Delete", icon=":material/delete:", use_container_width=True):
        title = remove_document(knowledge_base, by_label[doomed], folder)
        st.toast(f"Deleted {title}")
        st.rerun()
    if st.button("Re-index changed files", icon=":material/refresh:"):
        with st.spinner("Re-indexing…"):
            results = reindex(knowledge_base)
        state.ingest_report = [(result.name, result.status, result.detail) for result in results]
        st.rerun()


def ranking_notice(current: Settings) -> bool:
    """Which index orders answers, when a ranking index is configured (README: the tuned embedding model).
    Returns whether the ranking index orders them now."""
    try:
        in_use = resources.ranking_index_in_use(current)
    except KnowledgeBaseError as error:
        st.error(str(error))
        return False
    folder = current.retrieval.ranking_index
    if in_use:
        st.caption(
            f"Answers are ranked by the ranking index in `{folder}` (an embedding model tuned on your data); "
            "this knowledge base decides whether anything is relevant."
        )
    elif in_use is False:
        st.warning(
            f"The ranking index in `{folder}` holds other documents than this knowledge base, so this knowledge "
            "base ranks answers until both hold the same: ingest these documents into the ranking index's home "
            "too, with its embedding model."
        )
    return bool(in_use)


def search_box(knowledge_base: KnowledgeBase) -> None:
    """Searches `knowledge_base`: the index that orders answers, so the box shows what an answer would."""
    st.subheader("What does the index return?")
    query = st.text_input("Search query", placeholder="e.g. return an opened router")
    if not query.strip():
        return
    try:
        hits = knowledge_base.search(query, k=SEARCH_K)
    except KnowledgeBaseError as error:
        st.error(str(error))
        return
    if not hits:
        st.caption("No results: the index is empty.")
    for number, hit in enumerate(hits, start=1):
        source = {
            "number": number,
            "title": hit.title,
            "source": hit.source,
            "page": hit.page,
            "score": hit.score,
        }
        st.markdown(f"**{source_label(source)}**")
        st.caption(snippet(hit.text))


settings = resources.settings()
state = session()
st.title("Documents")
if admin_gate(settings.ui.admin_password):
    knowledge_base = resources.knowledge_base(settings)
    folder = settings.layout.uploads
    upload_form(knowledge_base, state, folder, settings.ingest.max_file_mb)
    show_results(state.ingest_report)
    document_list(knowledge_base, state, folder)
    ranked = ranking_notice(settings)
    search_box(resources.ranking_index(settings) if ranked else knowledge_base)
