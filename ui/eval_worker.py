"""The background evaluation process the app starts: `python -m ui.eval_worker RUN_FOLDER`.

Reads `request.json` from the run folder, runs `assistant.evaluation.pipeline.evaluate` with the report
written into that same folder, and keeps `progress.json` current (status, answers done per mode) so
the app can show live progress.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from ui.background import REQUEST, request_settings, write_progress


class ProgressWriter:
    """Writes answers done per mode to the run's progress file after every answer."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._modes: dict[str, tuple[int, int]] = {}

    def __call__(self, mode: str, done: int, total: int) -> None:
        self._modes[mode] = (done, total)
        finished = all(answered == questions for answered, questions in self._modes.values())
        # After the last answer come the perplexity figures and the report's charts.
        write_progress(
            self._folder, {"status": "finishing" if finished else "evaluating", "modes": self._modes}
        )


def main(folder: Path) -> int:
    from assistant.evaluation.pipeline import evaluate

    request = json.loads((folder / REQUEST).read_text(encoding="utf-8"))
    settings = request_settings(request)
    write_progress(folder, {"status": "preparing"})
    try:
        result = evaluate(
            settings,
            Path(request["questions"]),
            request["modes"],
            out=folder,
            limit=request["limit"],
            progress=False,
            on_answer=ProgressWriter(folder),
        )
    except Exception as error:
        traceback.print_exc()
        write_progress(folder, {"status": "failed", "error": str(error)})
        return 1
    for problem in result.results["problems"]:
        print(f"warning: skipped {problem}")
    write_progress(folder, {"status": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
