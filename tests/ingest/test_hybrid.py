"""Hybrid search on a real FAISS index and SQLite FTS5 table: channel agreement, migration, fusion,
near-duplicates, context inside the token limit, and calibration that sees only its own split."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from assistant.evaluation.questions import EvalQuestion
from assistant.evaluation.retrieval_calibration import calibrate_search, split_questions
from ingest.chunk_context import context_budget, embedding_text
from ingest.document import Chunk, ParsedDocument, Section
from ingest.embeddings import HashingEmbedder, load_packaged_tokenizer
from ingest.hybrid import FusionWeights, fuse, load_weights, save_weights
from ingest.keyword_index import (
    SCHEMA,
    TermCoverage,
    insert_rows,
    inverse_document_frequency,
    match_expression,
    query_terms,
    weighted_share,
)
from ingest.knowledge_base import KnowledgeBase, StagedDocument
from ingest.manifest import MANIFEST_NAME
from ingest.registry import Registry
from ingest.search_calibration import Judged, choose_weights, hits_at

DOCS = {
    "returns.md": "# Returns\n\nOpened routers can be sent back within 30 days with the receipt.\n",
    "warranty.md": "# Warranty\n\nHardware faults are repaired for two years from delivery.\n",
    "shipping.md": "# Shipping\n\nStandard delivery takes three working days; express arrives overnight.\n",
    "parental.md": "# Parental controls\n\nPause the internet for a child's devices at bedtime.\n",
}


@pytest.fixture(scope="module")
def embedder() -> HashingEmbedder:
    return HashingEmbedder(load_packaged_tokenizer(), dimension=256)


def _kb(directory: Path, embedder: HashingEmbedder, **options: object) -> KnowledgeBase:
    return KnowledgeBase(directory, embedder, chunk_tokens=60, overlap_tokens=8, parse_workers=1, **options)


def _corpus(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_fuse_adds_weighted_reciprocal_ranks_and_keeps_each_channels_rank():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    keyword = [(3, 12.0), (4, 9.0)]
    ranked = fuse(dense, keyword, FusionWeights(dense=1.0, keyword=2.0, rrf_k=10.0))
    assert [c.chunk_id for c in ranked] == [3, 4, 1, 2]  # 0.259, 0.167, 0.091, 0.083
    first = ranked[0]
    assert first.fused == pytest.approx(1 / 13 + 2 / 11)
    assert (first.dense_rank, first.dense_score, first.keyword_rank, first.keyword_score) == (3, 0.7, 1, 12.0)
    assert ranked[1].dense_rank is None and ranked[1].fused == pytest.approx(2 / 12)
    # Dense weight 0: only the keyword channel orders; chunks it missed sink to the end.
    only_keyword = fuse(dense, keyword, FusionWeights(dense=0.0, keyword=1.0))
    assert [c.chunk_id for c in only_keyword][:2] == [3, 4]


def test_query_terms_quote_words_drop_stop_words_and_chat_fillers_and_join_split_words(tmp_path):
    connection = sqlite3.connect(tmp_path / "fts.sqlite3")
    connection.execute(SCHEMA)
    insert_rows(
        connection, [(1, "Guest network", [], "Up to 16 devices join the guest Wi-Fi on the 6 GHz band.")]
    )
    assert match_expression(query_terms(connection, 'How do I return "my" router AND NEAR(x)?')) == (
        '"return" OR "router" OR "near" OR "x"'
    )
    assert match_expression(query_terms(connection, "what is it? ok pls thanks")) is None
    # Written as one word, found as the document writes it; a word no split finds stays as it is.
    assert query_terms(connection, "guest wifi 6ghz zigbee") == ['"guest"', '"wi fi"', '"6 ghz"', '"zigbee"']
    assert query_terms(connection, "ago") == []  # a filler, never "a go"


def test_keyword_rows_follow_the_chunks_through_ingest_reingest_remove_and_a_failed_commit(
    tmp_path, embedder
):
    docs = _corpus(tmp_path / "docs", DOCS)
    with _kb(tmp_path / "index", embedder) as kb:
        kb.ingest([docs])
        registry = Registry(tmp_path / "index" / "registry.sqlite3")
        assert sorted(registry.keyword_ids()) == sorted(registry.chunk_ids())
        assert len(registry.chunk_ids()) == 4
        (docs / "returns.md").write_text("# Returns\n\nRefunds arrive in five to seven business days.\n")
        kb.ingest([docs])
        assert sorted(registry.keyword_ids()) == sorted(registry.chunk_ids())
        assert registry.keyword_search("refunds business days", 5)[0][0] in registry.chunk_ids()
        assert registry.keyword_search("receipt", 5) == []  # the old version's words are gone
        kb.remove(str(docs / "warranty.md"))
        assert registry.keyword_search("hardware faults", 5) == []
        before = sorted(registry.keyword_ids())

        # The second document cannot be stored (its heading is no JSON): the first one's rows, written
        # earlier in the same transaction, must go too.
        def staged(name: str, headings: tuple) -> StagedDocument:
            text = f"A page about {name} updates."
            chunk = Chunk(text, name, headings, None, 0, len(text))
            return StagedDocument(f"/x/{name}.md", name, "h", 1, [chunk], embedder.encode([text]))

        with pytest.raises(TypeError):
            kb.commit([staged("firmware", ()), staged("broken", (object(),))])
        assert sorted(registry.keyword_ids()) == before == sorted(registry.chunk_ids())
        assert registry.keyword_search("firmware", 5) == []
        registry.close()


def test_a_version_1_folder_gets_its_keyword_table_and_manifest_upgraded_on_open(tmp_path, embedder):
    docs = _corpus(tmp_path / "docs", DOCS)
    with _kb(tmp_path / "index", embedder) as kb:
        kb.ingest([docs])
    connection = sqlite3.connect(tmp_path / "index" / "registry.sqlite3")
    connection.execute("DROP TABLE chunks_fts")
    connection.commit()
    connection.close()
    manifest_path = tmp_path / "index" / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "schema_version": 1}))

    with _kb(tmp_path / "index", embedder) as kb:
        hits = kb.search("express overnight delivery", 1)
    assert Path(hits[0].source).name == "shipping.md" and hits[0].keyword_rank == 1
    assert json.loads(manifest_path.read_text())["schema_version"] == 2


def test_hybrid_hits_carry_the_ranks_each_channel_gives_alone(tmp_path, embedder):
    docs = _corpus(tmp_path / "docs", DOCS)
    query = "child bedtime pause internet"
    with _kb(tmp_path / "index", embedder) as kb:
        kb.ingest([docs])
        hybrid = kb.search(query, 4)
    with _kb(tmp_path / "index", embedder, retrieval="dense") as kb:
        dense = kb.search(query, 4)
    with _kb(tmp_path / "index", embedder, retrieval="keyword") as kb:
        keyword = kb.search(query, 4)
    assert Path(hybrid[0].source).name == "parental.md"
    dense_rank = {hit.chunk_id: rank for rank, hit in enumerate(dense, 1)}
    keyword_rank = {hit.chunk_id: rank for rank, hit in enumerate(keyword, 1)}
    for hit in hybrid:
        assert hit.dense_rank == dense_rank[hit.chunk_id]
        assert hit.keyword_rank == keyword_rank.get(hit.chunk_id)
    assert [h.fused for h in hybrid] == sorted((h.fused for h in hybrid), reverse=True)
    # The score is the cosine similarity in every mode, so a relevance threshold keeps its meaning.
    assert {h.chunk_id: round(h.score, 5) for h in hybrid} == {
        h.chunk_id: round(h.score, 5) for h in dense if h.chunk_id in {x.chunk_id for x in hybrid}
    }


def test_weighted_share_weighs_rare_words_more_and_names_unknown_ones():
    total = 100
    rare, common = inverse_document_frequency(1, total), inverse_document_frequency(60, total)
    assert rare > common > 0
    # "zigbee" is in no chunk: it counts as missing with the highest weight and is named.
    share = weighted_share([("router", 60, True), ("zigbee", 0, False)], total)
    assert share.unknown == ("zigbee",)
    assert share.share == pytest.approx(common / (common + inverse_document_frequency(0, total)))
    assert weighted_share([("router", 60, True), ("bedtime", 1, True)], total) == TermCoverage(1.0)
    assert weighted_share([], total) == TermCoverage(1.0)  # no content word: nothing to miss


def test_coverage_reads_the_hits_words_as_the_keyword_channel_does(tmp_path, embedder):
    docs = _corpus(tmp_path / "docs", DOCS)
    with _kb(tmp_path / "index", embedder) as kb:
        kb.ingest([docs])
        hits = kb.search("Can I send back an opened router?", 1)
        assert Path(hits[0].source).name == "returns.md"
        # Stemmed like the FTS index: "returning" is held by a chunk that says "Returns".
        assert kb.coverage("returning opened routers", hits) == TermCoverage(1.0)
        off_topic = kb.coverage("opened routers with zigbee", hits)
        assert off_topic.unknown == ("zigbee",) and 0 < off_topic.share < 1
        # A word another document holds is not unknown, but these hits still do not cover it.
        elsewhere = kb.coverage("opened routers bedtime", hits)
        assert elsewhere.unknown == () and 0 < elsewhere.share < 1
        assert kb.coverage("is it?", hits) == TermCoverage(1.0)
        assert kb.coverage("opened router", []).share == 0.0
        # A number no document states is the customer's own (an order number): it neither counts nor is named;
        # one a document states counts like a word.
        assert kb.coverage("opened routers order 48213", hits) == kb.coverage("opened routers order", hits)
        assert kb.coverage("opened routers 30", hits) == TermCoverage(1.0)
        assert kb.coverage("opened routers two", hits).share < 1


def test_near_identical_chunks_are_returned_once(tmp_path, embedder):
    copy = {**DOCS, "returns-copy.md": DOCS["returns.md"]}
    docs = _corpus(tmp_path / "docs", copy)
    with _kb(tmp_path / "index", embedder) as kb:
        kb.ingest([docs])
        names = [Path(hit.source).name for hit in kb.search("return opened routers receipt", 3)]
    assert len([n for n in names if n.startswith("returns")]) == 1 and len(names) == 3
    with _kb(tmp_path / "index", embedder, duplicate_similarity=1.5) as kb:  # above any cosine: keep all
        names = [Path(hit.source).name for hit in kb.search("return opened routers receipt", 3)]
    assert sorted(names[:2]) == ["returns-copy.md", "returns.md"]


def test_context_line_fits_inside_the_models_window():
    tokenizer = load_packaged_tokenizer()
    headings = tuple(f"Heading number {n} about routers" for n in range(40))  # ~240 tokens of headings
    section = Section("word " * 400, headings)
    document = ParsedDocument("A title", [section])
    budget = context_budget(document, tokenizer, 128)
    assert budget == 128 // 4
    chunk = Chunk("word " * 90, "A title", headings, None, 0, 450)
    text = embedding_text(chunk, tokenizer, budget)
    assert text.startswith("a title > heading number 0")
    assert len(tokenizer.tokenize(text)) <= 90 + budget
    short = Chunk("Plug it in.", "Guide", ("Setup",), None, 0, 11)
    assert embedding_text(short, tokenizer, 10) == "Guide > Setup\nPlug it in."


def test_calibration_chooses_from_its_split_and_weights_file_round_trips(tmp_path):
    # Equal weights put chunk 2 first here (1/62 + 1/61 beats 1/61 + 1/63): only more dense weight finds 1.
    dense_wins = Judged([(1, 0.9), (2, 0.8), (3, 0.7)], {1.0: [(2, 5.0), (3, 4.0), (1, 3.0)]}, frozenset({1}))
    keyword_wins = Judged([(1, 0.9), (2, 0.8)], {1.0: [(2, 5.0), (1, 4.0)]}, frozenset({2}))
    chosen = choose_weights([dense_wins] * 3, calibrated_on="test")
    assert chosen.dense > chosen.keyword
    assert hits_at([dense_wins], chosen, (1,))["hit@1"] == 1.0
    assert choose_weights([keyword_wins] * 3, calibrated_on="test").keyword > 0.5
    # With a heading weight on offer under which the keyword channel ranks chunk 1 first, it is taken.
    by_heading = Judged(
        [(2, 0.9), (1, 0.8)], {1.0: [(2, 5.0), (1, 4.0)], 3.0: [(1, 9.0), (2, 5.0)]}, frozenset({1})
    )
    assert choose_weights([by_heading], calibrated_on="test").heading_weight == 3.0
    save_weights(tmp_path, chosen)
    assert load_weights(tmp_path) == chosen
    (tmp_path / "fusion.json").write_text('{"dense": -1, "keyword": 0, "rrf_k": 1}')
    with pytest.raises(Exception, match="fusion.json: weights must be"):
        load_weights(tmp_path)


def _question(n: int, text: str, source: str) -> EvalQuestion:
    return EvalQuestion(f"q:{n}", text, "ref", (source,), ("kw",), "doc")


def test_calibrate_search_ignores_the_report_split(tmp_path, embedder):
    docs = _corpus(tmp_path / "docs", DOCS)
    questions = [
        _question(n, f"{topic} question {n}", f"{name}")
        for n, (topic, name) in enumerate(
            [("express delivery overnight", "shipping.md"), ("hardware faults repaired", "warranty.md")] * 6
        )
    ]
    calibration, report = split_questions(questions, 0.5, seed=1)
    assert calibration and report and not {q.id for q in calibration} & {q.id for q in report}
    assert split_questions(questions, 0.5, seed=1) == (calibration, report)

    def write(items: list[EvalQuestion]) -> Path:
        path = tmp_path / f"questions-{len(items)}-{id(items)}.jsonl"
        path.write_text(
            "".join(
                json.dumps(
                    {
                        "question": q.question,
                        "answer": "ref",
                        "sources": list(q.sources),
                        "keywords": ["kw"],
                        "kind": "doc",
                    }
                )
                + "\n"
                for q in items
            )
        )
        return path

    # The report split's expected sources are scrambled: the chosen weights must not change.
    scrambled = [q if q in calibration else _question(99, q.question, "parental.md") for q in questions]
    with _kb(tmp_path / "index", embedder) as kb:
        kb.ingest([docs])
        first = calibrate_search(kb, write(questions), fraction=0.5, seed=1, candidates=10)
        second = calibrate_search(kb, write(scrambled), fraction=0.5, seed=1, candidates=10)
    assert (first.weights.dense, first.weights.keyword, first.weights.rrf_k) == (
        second.weights.dense,
        second.weights.keyword,
        second.weights.rrf_k,
    )
    assert first.report["calibrated"]["hit@1"] == 1.0
    assert second.report["calibrated"]["hit@1"] == 0.0


def test_heading_weight_lifts_a_chunk_whose_heading_holds_the_query_words(tmp_path, embedder):
    docs = _corpus(
        tmp_path / "docs",
        {
            "a.md": "# Mesh points\n\nPlace each one halfway between the router and the dead zone.\n",
            "b.md": "# Placement\n\nMesh points, mesh points, mesh points: the app shows where they work best.\n",
        },
    )
    with _kb(tmp_path / "index", embedder) as kb:
        kb.ingest([docs])
    registry = Registry(tmp_path / "index" / "registry.sqlite3")
    try:
        names = {cid: Path(s.source).name for cid, s in registry.chunks(registry.chunk_ids()).items()}
        plain = [names[cid] for cid, _ in registry.keyword_search("mesh points", 2)]
        boosted = [names[cid] for cid, _ in registry.keyword_search("mesh points", 2, context_weight=5.0)]
    finally:
        registry.close()
    assert plain[0] == "b.md" and boosted[0] == "a.md"
