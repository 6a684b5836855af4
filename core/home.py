"""The home folder's layout: where each piece of Tunedesk's state lives, one property per path.

Every module that reads or writes state in the home gets its path from here (builders pass it down as a
plain `Path`), so a name is spelled once. This module creates nothing and knows nothing about what the
files hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HomeLayout:
    root: Path

    @property
    def index(self) -> Path:
        """The knowledge base: registry, vector index files, manifest."""
        return self.root / "index"

    @property
    def models(self) -> Path:
        """Converted base models, cached so they load in a second the next time."""
        return self.root / "models"

    @property
    def adapters(self) -> Path:
        """Published adapters (and full fine-tunes), one folder each."""
        return self.root / "adapters"

    @property
    def runs(self) -> Path:
        """The trainer's checkpoints while a training recipe runs, one folder per adapter name."""
        return self.root / "runs"

    @property
    def fewshot(self) -> Path:
        """The fewshot modes' example exchanges from the transcripts (`tunedesk fewshot-index`)."""
        return self.root / "fewshot"

    @property
    def eval_questions(self) -> Path:
        """Question files uploaded on the Evaluation page."""
        return self.root / "eval_questions"

    @property
    def training(self) -> Path:
        """Training runs started from the app: request, progress and log, one folder per adapter name."""
        return self.root / "training"

    @property
    def eval(self) -> Path:
        """Evaluation reports, one timestamped folder per run."""
        return self.root / "eval"

    @property
    def uploads(self) -> Path:
        """Uploaded documents; the knowledge base indexes them where they lie."""
        return self.root / "uploads"

    @property
    def transcripts(self) -> Path:
        """Transcripts uploaded on the app's Training page."""
        return self.root / "transcripts"

    @property
    def chat_database(self) -> Path:
        """Conversations, feedback and votes (SQLite), unless `assistant.database` names another file."""
        return self.root / "chat.sqlite3"

    @property
    def active_adapter_file(self) -> Path:
        """The adapter chosen on the app's Training page."""
        return self.root / "active_adapter.json"

    @property
    def calibration_file(self) -> Path:
        """The abstention threshold `tunedesk calibrate` chose."""
        return self.root / "abstention.json"

    @property
    def api_keys_file(self) -> Path:
        """The API's keys (hashed)."""
        return self.root / "api_keys.json"
