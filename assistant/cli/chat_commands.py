"""CLI commands: `ask` (one question, streamed), `compare` (every mode side by side), `chat` (interactive).

Output contract: `--json` prints one JSON document on stdout (`ask`: the answer's `to_dict()`;
`compare`: one object keyed by mode); errors are one line on stderr with exit code 1.
An `--adapter` that does not exist is an error in every command and mode; `ask --mode base|rag` with
`--adapter` is one too, since those modes would silently answer without it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer

from assistant.answer import MODES, Answer, Mode, uses_adapter, uses_retrieval
from assistant.builders import build_assistant, open_storage, unavailable_reason
from assistant.cli.context import fail, settings_of
from assistant.engine import Assistant, AssistantError
from assistant.generation import GenerationError
from assistant.prompts import PromptTooLongError
from core.settings import Settings
from ingest.knowledge_base import KnowledgeBaseError

ModeOption = Annotated[
    str, typer.Option("--mode", "-m", help="base, rag, tuned, tuned+rag, fewshot or fewshot+rag.")
]
AdapterOption = Annotated[
    str | None,
    typer.Option(
        "--adapter", "-a", help="Adapter for tuned modes (default: the app's choice, else the newest)."
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
# What can go wrong answering one question; each becomes a one-line error.
ANSWER_ERRORS = (AssistantError, GenerationError, PromptTooLongError)


def register(app: typer.Typer) -> None:
    """Add these commands to the root app."""
    app.command("ask")(ask)
    app.command("compare")(compare)
    app.command("chat")(chat)


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    mode: ModeOption = "rag",
    adapter: AdapterOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer QUESTION in one mode; the answer streams to the terminal, followed by its sources.

    --adapter goes with the tuned modes only: base and rag use no adapter, so naming one there is an error.
    """
    settings = settings_of(ctx, **{"assistant.adapter": adapter})
    chosen = _mode(mode)
    _check_adapter(settings, adapter)
    if adapter is not None and not uses_adapter(chosen):
        fail(
            f"--adapter {adapter!r}: mode {chosen} uses no adapter; "
            "use --mode tuned or tuned+rag, or leave out --adapter"
        )
    problem = unavailable_reason(settings, chosen)
    if problem:
        fail(problem)
    assistant = _build(settings, retrieval=uses_retrieval(chosen))
    try:
        if as_json:
            typer.echo(json.dumps(assistant.answer(question, mode=chosen).to_dict(), indent=2))
            return
        stream = assistant.stream(question, mode=chosen)
        for piece in stream:
            typer.echo(piece, nl=False)
        typer.echo()
    except ANSWER_ERRORS as error:
        fail(str(error))
    assert stream.answer is not None  # the stream ran to its end
    typer.echo(_footer(stream.answer))


def compare(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question to answer in every mode.")],
    adapter: AdapterOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer QUESTION in every mode and show the answers side by side (modes that cannot run say why)."""
    settings = settings_of(ctx, **{"assistant.adapter": adapter})
    _check_adapter(settings, adapter)
    problems = {mode: unavailable_reason(settings, mode) for mode in MODES}
    runnable = [mode for mode in MODES if not problems[mode]]
    if not runnable:
        fail("; ".join(problem for problem in problems.values() if problem))
    assistant = _build(settings, retrieval=any(uses_retrieval(mode) for mode in runnable))
    results: dict[str, Answer | str] = {}
    for mode in MODES:
        try:
            results[mode] = problems[mode] or assistant.answer(question, mode=mode)
        except ANSWER_ERRORS as error:
            results[mode] = str(error)
    if as_json:
        payload = {
            mode: result.to_dict() if isinstance(result, Answer) else {"error": result}
            for mode, result in results.items()
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_side_by_side(question, results)


def chat(
    ctx: typer.Context,
    mode: ModeOption = "rag",
    adapter: AdapterOption = None,
) -> None:
    """Talk with the assistant. Commands: /mode NAME, /sources, /quit. The conversation is saved."""
    settings = settings_of(ctx, **{"assistant.adapter": adapter})
    current = _mode(mode)
    _check_adapter(settings, adapter)  # any mode: /mode may switch to a tuned one later
    problem = unavailable_reason(settings, current)
    if problem:
        fail(problem)
    assistant = _build(settings)
    storage = open_storage(settings)
    conversation = storage.new_conversation()
    history: list[dict[str, str]] = []
    last: Answer | None = None
    typer.echo(f"mode {current}; /mode NAME to switch ({', '.join(MODES)}), /sources, /quit")
    while True:
        try:
            line = input(f"[{current}] you> ").strip()
        except EOFError:
            break
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/sources":
            typer.echo(_sources(last) if last and last.sources else "no sources for the last answer")
            continue
        if line.startswith("/mode"):
            wanted = line.removeprefix("/mode").strip()
            problem = unavailable_reason(settings, wanted) if wanted in MODES else f"unknown mode {wanted!r}"
            if problem:
                typer.echo(f"error: {problem}", err=True)
            else:
                current = wanted  # type: ignore[assignment]  # checked against MODES above
                typer.echo(f"mode {current}")
            continue
        try:
            stream = assistant.stream(line, history, mode=current)
            typer.echo("assistant> ", nl=False)
            for piece in stream:
                typer.echo(piece, nl=False)
            typer.echo()
        except ANSWER_ERRORS as error:
            typer.echo(f"error: {error}", err=True)
            continue
        last = stream.answer
        assert last is not None
        storage.add_exchange(conversation, line, last)
        history += [{"role": "user", "content": line}, {"role": "assistant", "content": last.text}]


def _build(settings: Settings, *, retrieval: bool = True) -> Assistant:
    """The assistant, or a one-line error when its knowledge base or ranking index cannot be opened."""
    try:
        return build_assistant(settings, retrieval=retrieval)
    except KnowledgeBaseError as error:
        fail(str(error))


def _check_adapter(settings: Settings, adapter: str | None) -> None:
    """Fail when `--adapter` names an adapter that does not exist (`settings` carry it as assistant.adapter)."""
    if adapter is None:
        return
    problem = unavailable_reason(settings, "tuned")  # the mode that needs nothing but the adapter
    if problem:
        fail(problem)


def _mode(mode: str) -> Mode:
    if mode not in MODES:
        fail(f"--mode {mode!r}: use one of {', '.join(MODES)}")
    return mode  # type: ignore[return-value]  # checked against MODES above


def _footer(answer: Answer) -> str:
    lines = [_sources(answer)] if answer.sources else []
    timings = answer.timings
    lines.append(
        f"({answer.mode}{f', adapter {answer.adapter}' if answer.adapter else ''}; "
        f"{answer.completion_tokens} tokens, first token {timings.first_token_ms:.0f} ms, "
        f"total {timings.total_ms:.0f} ms{', abstained' if answer.abstained else ''})"
    )
    return "\n".join(lines)


def _sources(answer: Answer) -> str:
    lines = []
    for source in answer.sources:
        page = f", page {source.page}" if source.page is not None else ""
        cited = ", cited" if source.cited else ""
        lines.append(
            f"[{source.number}] {source.title} ({source.source}{page}) score {source.score:.2f}{cited}"
        )
    return "\n".join(lines)


def _print_side_by_side(question: str, results: dict[str, Answer | str]) -> None:
    from rich.columns import Columns
    from rich.console import Console
    from rich.markup import escape
    from rich.panel import Panel

    panels: Sequence[Panel] = [
        Panel(
            f"{escape(result.text)}\n\n[dim]{escape(_footer(result))}[/dim]"
            if isinstance(result, Answer)
            else f"[red]{escape(result)}[/red]",
            title=mode,
            expand=True,
        )
        for mode, result in results.items()
    ]
    console = Console()
    console.print(f"[bold]{question}[/bold]")
    console.print(Columns(panels, equal=True, expand=True))
