"""CLI commands: `ingest`, `docs list|remove`, `search`, `doctor`, `calibrate-search`.

Output contract (scripts rely on it): `--json` prints one JSON document on stdout; errors are one
line each on stderr; exit 0 = everything went in or was unchanged, 1 = some input failed (the rest
was still stored), 2 = usage or configuration error.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.builders import open_knowledge_base, open_ranking_index
from assistant.cli.context import EXIT_INPUT_FAILED, EXIT_OK, EXIT_USAGE, fail, settings_of, warn_skipped
from assistant.ranked_retrieval import same_documents
from ingest.document import printable, section_path
from ingest.knowledge_base import KnowledgeBase, KnowledgeBaseError, SearchHit, UnknownDocumentError
from ingest.manifest import IncompatibleIndexError

if TYPE_CHECKING:
    from assistant.evaluation.retrieval_calibration import SearchCalibration

docs_app = typer.Typer(help="List or remove the documents in the knowledge base.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def register(app: typer.Typer) -> None:
    """Add these commands to the root app."""
    app.command("ingest")(ingest)
    app.command("search")(search)
    app.command("doctor")(doctor)
    app.command("calibrate-search")(calibrate_search)
    app.add_typer(docs_app, name="docs")


def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders to add; folders are read recursively.")
    ],
    as_json: JsonFlag = False,
    follow_symlinks: Annotated[
        bool,
        typer.Option(
            "--follow-symlinks", help="Also ingest files that links point to outside the folders given."
        ),
    ] = False,
) -> None:
    """Add documents to the knowledge base; unchanged files are skipped, changed ones replaced."""
    with _open(ctx) as knowledge_base:
        try:
            report = knowledge_base.ingest(paths, progress=True, follow_symlinks=follow_symlinks)
        except KnowledgeBaseError as error:
            fail(str(error))
    for error in report.failed:
        typer.echo(f"error: {error}", err=True)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(
            f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
            f"failed {len(report.failed)}; {report.chunks_written} chunks written, "
            f"{report.chunks_removed} removed, in {report.seconds:.1f} s"
            + (f"; skipped {report.hidden} hidden files or folders" if report.hidden else "")
            + _unsupported_note(report.unsupported)
        )
    raise typer.Exit(EXIT_INPUT_FAILED if report.failed else EXIT_OK)


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="How many chunks to return.")] = 5,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show each channel's rank and score behind every result.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show the chunks that best match QUERY (meaning and keywords fused), best first."""
    if not query.strip():
        fail(
            'the search query is empty; give some words to look for, e.g. `tunedesk search "return policy"`',
            EXIT_USAGE,
        )
    with _open(ctx, read_only=True) as knowledge_base:
        if not knowledge_base.documents():
            fail(
                f"the knowledge base in {knowledge_base.directory} is empty; add documents with `tunedesk ingest PATH`"
            )
        try:
            searcher = _ranking(ctx, knowledge_base) or knowledge_base
            hits = searcher.search(query, k)
            coverage = searcher.coverage(query, hits) if explain and not as_json else None
        except KnowledgeBaseError as error:
            fail(str(error))
    if as_json:
        fields = ("doc_id", "source", "title", "page", "score", "text")
        if explain:
            fields += ("fused", "dense_rank", "keyword_rank", "keyword_score", "document_rank")
        typer.echo(json.dumps([{name: getattr(hit, name) for name in fields} for hit in hits], indent=2))
        return
    for rank, hit in enumerate(hits, 1):
        page = f", page {hit.page}" if hit.page is not None else ""
        where = section_path(hit.title, hit.headings)
        why = f"\n   {explanation(hit)}" if explain else ""
        typer.echo(
            f"{rank}. [{hit.score:.3f}] {printable(hit.source)}{page}\n   {printable(where)}{why}\n   {_excerpt(hit.text)}\n"
        )
    if coverage is not None:
        unknown = f"; in no document: {', '.join(coverage.unknown)}" if coverage.unknown else ""
        typer.echo(
            f"coverage {coverage.share:.2f} of the query's words, weighted by rarity{printable(unknown)}"
        )
        # Both indexes hold the same documents and may give the same cosines: say which one ordered these.
        ranked_by = "the ranking index" if searcher is not knowledge_base else "the knowledge base"
        typer.echo(f"ranked by {ranked_by} in {printable(str(searcher.directory))}")


def explanation(hit: SearchHit) -> str:
    """One line: each channel's rank and score for a hit, and the fused score that ordered it."""
    dense = f"dense #{hit.dense_rank} cosine {hit.score:.3f}" if hit.dense_rank else "dense -"
    keyword = f"keyword #{hit.keyword_rank} bm25 {hit.keyword_score:.2f}" if hit.keyword_rank else "keyword -"
    document = f"document #{hit.document_rank}" if hit.document_rank else "document -"
    return f"{dense} | {keyword} | {document} | fused {hit.fused:.4f}"


def _unsupported_note(suffixes: tuple[str, ...]) -> str:
    """`; skipped 2 files of a type not read (.rtf, .xlsx)`, or nothing."""
    if not suffixes:
        return ""
    kinds = ", ".join(sorted({suffix or "no suffix" for suffix in suffixes}))
    return f"; skipped {len(suffixes)} file(s) of a type not read ({kinds})"


def calibrate_search(
    ctx: typer.Context,
    questions_file: Annotated[
        Path, typer.Argument(help="JSONL evaluation questions; those with `sources` are used.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Choose the hybrid-search fusion weights on one split of the questions, report hit@k on the other."""
    from assistant.evaluation.questions import QuestionsError
    from assistant.evaluation.retrieval_calibration import calibrate_search as run_calibration
    from ingest.hybrid import save_weights

    options = settings_of(ctx).retrieval
    with _open(ctx) as knowledge_base:
        if not knowledge_base.documents():
            fail(f"the knowledge base in {knowledge_base.directory} is empty; ingest documents first")
        try:
            result = run_calibration(
                knowledge_base,
                questions_file,
                fraction=options.calibration_fraction,
                seed=options.calibration_seed,
                candidates=options.candidates,
            )
        except (QuestionsError, ValueError, KnowledgeBaseError) as error:
            fail(str(error))
        save_weights(knowledge_base.directory, result.weights)
    warn_skipped(result.skipped)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    else:
        _print_search_calibration(result)
    if result.skipped:
        raise typer.Exit(EXIT_INPUT_FAILED)


def _print_search_calibration(result: SearchCalibration) -> None:
    weights = result.weights
    typer.echo(
        f"chose dense {weights.dense:g}, keyword {weights.keyword:g}, rrf_k {weights.rrf_k:g}, "
        f"heading weight {weights.heading_weight:g}, document {weights.document:g} on "
        f"{result.calibration_questions} questions; saved for search. On the other {result.report_questions}:"
    )
    for name, scores in result.report.items():
        typer.echo(f"  {name:<11}" + "  ".join(f"{metric} {value:.3f}" for metric, value in scores.items()))


@docs_app.command("list")
def list_documents(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the stored documents."""
    with _open(ctx, with_model=False, read_only=True) as knowledge_base:
        records = knowledge_base.documents()
    if as_json:
        typer.echo(json.dumps([asdict(record) for record in records], indent=2))
        return
    if not records:
        typer.echo("no documents yet; add some with `tunedesk ingest PATH`")
    for record in records:
        typer.echo(
            f"{record.doc_id}  {record.chunk_count:5d} chunks  {record.updated_at}  {printable(record.source)}"
        )


@docs_app.command("remove")
def remove_document(
    ctx: typer.Context,
    document: Annotated[
        str, typer.Argument(metavar="DOC_ID_OR_PATH", help="A doc id from `docs list`, or the path.")
    ],
) -> None:
    """Remove one document's chunks from the index and the registry."""
    with _open(ctx, with_model=False) as knowledge_base:
        try:
            record = knowledge_base.remove(document)
        except UnknownDocumentError as error:
            fail(f"{error}; see `tunedesk docs list`")
        except KnowledgeBaseError as error:
            fail(str(error))
    typer.echo(f"removed {record.doc_id} ({record.chunk_count} chunks): {printable(record.source)}")


def doctor(
    ctx: typer.Context,
    repair: Annotated[
        bool, typer.Option("--repair", help="Do the safe repairs (loads the embedding model to re-embed).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check the index against the registry (ids, counts, files, SQLite integrity); say or do the repairs."""
    with _open(ctx, with_model=repair, read_only=not repair) as knowledge_base:
        try:
            found = knowledge_base.verify().findings
            done = knowledge_base.repair() if repair and any(f.repairable for f in found) else []
            remaining = knowledge_base.verify().findings if done or repair else found
        except (KnowledgeBaseError, sqlite3.DatabaseError) as error:
            fail(
                f"{knowledge_base.directory}: cannot check the knowledge base ({error}); ingest your documents again into an empty --home"
            )
    if as_json:
        findings = [asdict(finding) for finding in found]
        typer.echo(
            json.dumps(
                {"findings": findings, "repaired": done, "remaining": [asdict(f) for f in remaining]},
                indent=2,
            )
        )
    else:
        for finding in found:
            typer.echo(
                f"problem: {printable(finding.problem)}\n  {'repair' if finding.repairable else 'by hand'}: {finding.action}"
            )
        for line in done:
            typer.echo(f"repaired: {line}")
        if not found:
            typer.echo(f"no problems found in {printable(str(knowledge_base.directory))}")
        elif not repair and any(f.repairable for f in found):
            typer.echo("run `tunedesk doctor --repair` to do the repairs")
    raise typer.Exit(EXIT_INPUT_FAILED if remaining else EXIT_OK)


def _open(ctx: typer.Context, *, with_model: bool = True, read_only: bool = False) -> KnowledgeBase:
    settings = settings_of(ctx)
    if with_model:
        # Stdout and stderr are for results and errors; the per-tensor loading bar is neither.
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    try:
        return open_knowledge_base(settings, with_model=with_model, read_only=read_only)
    except (IncompatibleIndexError, ValueError) as error:  # configuration, not input
        fail(str(error), EXIT_USAGE)
    except KnowledgeBaseError as error:
        fail(str(error))
    except OSError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        fail(
            f"embedding.model {settings.embedding.model!r} could not be loaded ({reason}); use all-MiniLM-L6-v2 "
            "or a local sentence-transformers folder",
            EXIT_USAGE,
        )


def _ranking(ctx: typer.Context, knowledge_base: KnowledgeBase) -> KnowledgeBase | None:
    """The index `retrieval.ranking_index` names when it holds the knowledge base's documents (answers are
    ranked by it then); None without one, with a note on stderr when it holds others."""
    ranking = open_ranking_index(settings_of(ctx))
    if ranking is None:
        return None
    if not same_documents(knowledge_base.documents(), ranking.documents()):
        typer.echo(
            f"note: the ranking index {printable(str(ranking.directory))} holds other documents; "
            "ranked by the knowledge base instead",
            err=True,
        )
        return None
    return ranking


def _excerpt(text: str, limit: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
