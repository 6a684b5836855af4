"""Checks on the shipped sample data: the knowledge base in data/docs and the held-out questions.

Document text comes from the project's own loaders, so a keyword counts only if ingestion can see it
(navigation chrome stripped from HTML, text extracted from PDF and DOCX).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import docx
import pytest

from ingest.document import ParsedDocument
from ingest.loaders import find_files, iter_parsed

DATA = Path(__file__).resolve().parents[2] / "data"
DOCS = DATA / "docs"
QUESTIONS = DATA / "eval" / "questions.jsonl"
TRANSCRIPTS = DATA / "transcripts"
MAX_BYTES = 20_000_000
PARSE_TIMEOUT_S = 60.0
KINDS = {"doc", "procedure", "both", "unanswerable"}
REQUIRED_SUFFIXES = {".md", ".html", ".pdf", ".docx", ".txt"}
FAQ_SUFFIXES = {".csv", ".json", ".jsonl"}

# Facts that changed over time: (older document, old value, newer document, current value).
SUPERSEDED = [
    ("help-centre/halo-quick-start-2025.pdf", "192.168.50.1", "help-centre/admin-page.html", "10.50.0.1"),
    ("help-centre/halo-quick-start-2025.pdf", "15 seconds", "help-centre/factory-reset.md", "10 seconds"),
    (
        "release-notes/firmware-3.8.txt",
        "limited to 8 devices",
        "release-notes/firmware-4.0.txt",
        "16 devices",
    ),
    ("release-notes/firmware-4.0.txt", "16 devices", "release-notes/firmware-4.2.txt", "32 devices"),
    ("help-centre/halo-quick-start-2025.pdf", "64 devices", "release-notes/firmware-4.1.txt", "128"),
    ("plans/price-list-2025.pdf", "$39", "plans/price-list-2026-04.pdf", "$49"),
]


def normalise(text: str) -> str:
    """Lower-case with runs of whitespace collapsed, so PDF line breaks don't hide a phrase."""
    return re.sub(r"\s+", " ", text).strip().lower()


def procedures_text(domain_sheet: str) -> str:
    """The fact sheet's support-procedures part: what procedure keywords are checked against."""
    match = re.search(r"^## Support procedures.*?(?=^## )", domain_sheet, flags=re.MULTILINE | re.DOTALL)
    if match is None:
        raise ValueError("DOMAIN.md: no '## Support procedures' section followed by another section")
    return normalise(match.group(0))


def question_problems(line_no: int, record: dict, texts: dict[str, str], procedures: str) -> list[str]:
    """Everything wrong with one questions.jsonl record, as one-line messages naming line and field.

    `texts` maps a document path relative to data/docs to its normalised extracted text.
    """
    where = f"questions.jsonl line {line_no}"
    fields = {"question": str, "answer": str, "sources": list, "keywords": list, "kind": str}
    problems = [
        f"{where}: field '{name}' missing or not a {kind.__name__}"
        for name, kind in fields.items()
        if not isinstance(record.get(name), kind)
    ]
    if problems:
        return problems
    kind, sources, keywords = record["kind"], record["sources"], record["keywords"]
    if kind not in KINDS:
        return [f"{where}: field 'kind' is '{kind}'; use one of {sorted(KINDS)}"]
    if not record["question"].strip() or not record["answer"].strip():
        problems.append(f"{where}: 'question' and 'answer' must not be empty")
    missing = [source for source in sources if source not in texts]
    problems += [f"{where}: source '{source}' is not a document under data/docs" for source in missing]
    if kind in {"doc", "both"} and not sources:
        problems.append(f"{where}: a '{kind}' question needs at least one entry in 'sources'")
    if kind in {"procedure", "unanswerable"} and sources:
        problems.append(f"{where}: a '{kind}' question must have empty 'sources'")
    if kind == "unanswerable":
        if keywords:
            problems.append(f"{where}: an 'unanswerable' question must have empty 'keywords'")
        return problems
    if not 1 <= len(keywords) <= 4:
        problems.append(f"{where}: 'keywords' needs 1 to 4 entries, has {len(keywords)}")
    cited = [texts[source] for source in sources if source in texts]
    in_docs = {keyword: any(normalise(keyword) in text for text in cited) for keyword in keywords}
    for keyword in keywords:
        found = {
            "doc": in_docs[keyword],
            "procedure": normalise(keyword) in procedures,
            "both": in_docs[keyword] or normalise(keyword) in procedures,
        }[kind]
        if not found:
            where_to_look = (
                "the cited sources" if kind == "doc" else "the cited sources or DOMAIN.md procedures"
            )
            if kind == "procedure":
                where_to_look = "the support procedures of DOMAIN.md"
            problems.append(f"{where}: keyword '{keyword}' does not appear in {where_to_look}")
    if kind == "both" and keywords and not any(in_docs.values()):
        problems.append(f"{where}: a 'both' question needs at least one keyword found in its cited sources")
    return problems


@pytest.fixture(scope="module")
def parsed() -> dict[str, ParsedDocument]:
    found = find_files([DOCS])
    files, errors = found.files, found.errors
    assert not errors, [str(error) for error in errors]
    documents: dict[str, ParsedDocument] = {}
    failures = []
    for path, outcome in iter_parsed(files, max_bytes=MAX_BYTES, parse_timeout_s=PARSE_TIMEOUT_S, workers=2):
        if isinstance(outcome, ParsedDocument):
            documents[path.relative_to(DOCS).as_posix()] = outcome
        else:
            failures.append(str(outcome))
    assert not failures, failures
    return documents


@pytest.fixture(scope="module")
def texts(parsed: dict[str, ParsedDocument]) -> dict[str, str]:
    return {
        name: normalise("\n".join(section.text for section in doc.sections)) for name, doc in parsed.items()
    }


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def procedures() -> str:
    return procedures_text((DATA / "DOMAIN.md").read_text(encoding="utf-8"))


def test_knowledge_base_has_enough_documents_in_every_format(parsed: dict[str, ParsedDocument]) -> None:
    suffixes = Counter(Path(name).suffix for name in parsed)
    assert len(parsed) >= 25
    assert set(suffixes) >= REQUIRED_SUFFIXES, suffixes
    assert (
        suffixes[".md"] >= 3 and suffixes[".html"] >= 3 and suffixes[".pdf"] >= 3 and suffixes[".docx"] >= 2
    )
    assert FAQ_SUFFIXES & set(suffixes), "no FAQ file (.csv, .json or .jsonl)"
    assert len({Path(name).parent for name in parsed}) >= 4, "documents should be organised in sub-folders"


def test_knowledge_base_has_enough_words(texts: dict[str, str]) -> None:
    words = sum(len(text.split()) for text in texts.values())
    assert words >= 20_000, words


def test_faq_has_about_thirty_pairs(parsed: dict[str, ParsedDocument]) -> None:
    [faq] = [doc for name, doc in parsed.items() if Path(name).suffix in FAQ_SUFFIXES]
    assert len(faq.sections) >= 30
    assert all(section.whole for section in faq.sections)


def test_html_pages_carry_chrome_that_ingestion_strips(texts: dict[str, str]) -> None:
    pages = sorted(DOCS.rglob("*.html"))
    for page in pages:
        raw = page.read_text(encoding="utf-8")
        for tag in ("<nav", "<script", "<style", "<footer", 'class="breadcrumbs"', 'class="sidebar"'):
            assert tag in raw, f"{page.name} lacks {tag}"
        extracted = texts[page.relative_to(DOCS).as_posix()]
        assert "we use cookies" not in extracted and "all rights reserved" not in extracted, page.name


def test_pdfs_include_a_multi_page_document_with_a_table(parsed: dict[str, ParsedDocument]) -> None:
    spec = parsed["products/halo-spec-sheet-2026.pdf"]
    assert max(section.page or 0 for section in spec.sections) >= 2
    assert "bw-p7m" in normalise(" ".join(section.text for section in spec.sections))


def test_docx_documents_use_heading_styles_and_tables() -> None:
    for path in sorted(DOCS.rglob("*.docx")):
        document = docx.Document(str(path))
        styles = {paragraph.style.name for paragraph in document.paragraphs}
        assert {"Heading 1", "Heading 2"} <= styles, path.name
        assert document.tables, f"{path.name} has no table"


@pytest.mark.parametrize(("old_doc", "old_value", "new_doc", "new_value"), SUPERSEDED)
def test_superseded_facts_keep_old_and_new_values(
    texts: dict[str, str], old_doc: str, old_value: str, new_doc: str, new_value: str
) -> None:
    assert normalise(old_value) in texts[old_doc]
    assert normalise(new_value) in texts[new_doc]


def test_eval_questions_have_the_required_mix(questions: list[dict]) -> None:
    kinds = Counter(record.get("kind") for record in questions)
    assert len(questions) >= 80
    assert (
        kinds["unanswerable"] >= 10
        and kinds["doc"] >= 40
        and kinds["procedure"] >= 10
        and kinds["both"] >= 10
    )
    assert len({normalise(record["question"]) for record in questions}) == len(questions), (
        "duplicate questions"
    )


def test_every_eval_question_is_valid_and_its_keywords_are_in_its_sources(
    questions: list[dict], texts: dict[str, str], procedures: str
) -> None:
    problems = [
        problem
        for line_no, record in enumerate(questions, start=1)
        for problem in question_problems(line_no, record, texts, procedures)
    ]
    assert not problems, "\n".join(problems)


def test_question_check_names_the_line_and_field_of_bad_records() -> None:
    texts = {"policies/returns.md": normalise("Return within 30 days for a full refund.")}
    procedures = normalise("Escalate to Tier 2 with a BWC- case number.")
    bad = [
        {"question": "q", "answer": "a", "sources": [], "kind": "doc"},
        {
            "question": "q",
            "answer": "a",
            "sources": ["policies/missing.md"],
            "keywords": ["x"],
            "kind": "doc",
        },
        {
            "question": "q",
            "answer": "a",
            "sources": ["policies/returns.md"],
            "keywords": ["60 days"],
            "kind": "doc",
        },
        {"question": "q", "answer": "a", "sources": [], "keywords": ["Tier 3"], "kind": "procedure"},
        {"question": "q", "answer": "a", "sources": [], "keywords": ["30 days"], "kind": "unanswerable"},
        {"question": "q", "answer": "a", "sources": [], "keywords": ["x"], "kind": "guess"},
    ]
    messages = [
        question_problems(line_no, record, texts, procedures) for line_no, record in enumerate(bad, 1)
    ]
    assert messages[0] == ["questions.jsonl line 1: field 'keywords' missing or not a list"]
    assert (
        "questions.jsonl line 2: source 'policies/missing.md' is not a document under data/docs"
        in messages[1]
    )
    assert messages[2] == ["questions.jsonl line 3: keyword '60 days' does not appear in the cited sources"]
    assert messages[3] == [
        "questions.jsonl line 4: keyword 'Tier 3' does not appear in the support procedures of DOMAIN.md"
    ]
    assert messages[4] == ["questions.jsonl line 5: an 'unanswerable' question must have empty 'keywords'"]
    assert messages[5][0].startswith("questions.jsonl line 6: field 'kind' is 'guess'")
    good = {
        "question": "q",
        "answer": "a",
        "sources": ["policies/returns.md"],
        "keywords": ["30 DAYS"],
        "kind": "doc",
    }
    assert question_problems(7, good, texts, procedures) == []


def test_procedures_section_missing_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Support procedures"):
        procedures_text("# Sheet\n\n## Company\n- facts\n")


def test_no_eval_question_appears_verbatim_in_the_transcripts(questions: list[dict]) -> None:
    files = [path for path in TRANSCRIPTS.rglob("*") if path.is_file()] if TRANSCRIPTS.is_dir() else []
    if not files:
        pytest.skip("data/transcripts is empty")
    corpus = "\n".join(normalise(path.read_text(encoding="utf-8", errors="replace")) for path in files)
    leaked = [record["question"] for record in questions if normalise(record["question"]) in corpus]
    assert not leaked, leaked


@functools.cache
def load_generator() -> ModuleType:
    """Import data/make_binary_docs.py, which is a script and not part of a package."""
    spec = importlib.util.spec_from_file_location("make_binary_docs", DATA / "make_binary_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_every_binary_source_has_its_generated_document(parsed: dict[str, ParsedDocument]) -> None:
    generator = load_generator()
    sources = {path.relative_to(DATA / "sources").as_posix() for path in (DATA / "sources").rglob("*.md")}
    assert sources == set(generator.OUTPUTS), "each file in data/sources needs an entry in OUTPUTS"
    for relative, kind in generator.OUTPUTS.items():
        output = Path(relative).with_suffix(f".{kind}").as_posix()
        blocks = generator.parse_markdown((DATA / "sources" / relative).read_text(encoding="utf-8"))
        assert parsed[output].title == blocks[0].text, output


def test_generator_writes_pdf_and_docx_that_the_loaders_read(tmp_path: Path) -> None:
    generator = load_generator()
    blocks = generator.parse_markdown(
        "# Price list\n\nValid from **2026-04-01**.\n\n| Plan | Annual |\n| --- | --- |\n| Halo Shield | $49 |\n\n"
        "## Notes\n\n- Cancel anytime – in the app.\n1. First step\n"
    )
    assert [block.kind for block in blocks] == [
        "heading",
        "paragraph",
        "table",
        "heading",
        "bullet",
        "number",
    ]
    assert blocks[2].rows == (("Plan", "Annual"), ("Halo Shield", "$49"))
    generator.write_pdf(blocks, "Price list", tmp_path / "list.pdf")
    generator.write_docx(blocks, "Price list", tmp_path / "list.docx")
    files = [tmp_path / "list.pdf", tmp_path / "list.docx"]
    for path, outcome in iter_parsed(files, max_bytes=MAX_BYTES, parse_timeout_s=PARSE_TIMEOUT_S, workers=1):
        assert isinstance(outcome, ParsedDocument), outcome
        text = normalise(" ".join(section.text for section in outcome.sections))
        assert "valid from 2026-04-01" in text and "$49" in text and "cancel anytime" in text, path.name
