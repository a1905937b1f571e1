"""The library API behind the CLI. Each function takes plain values and returns a result
object; errors are raised as :class:`scaffold.errors.ScaffoldError` subclasses."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold.config import AUTODETECTED, KEYS, Config
from scaffold.project import find_project


def load_project(project: str | os.PathLike[str] | None) -> Config:
    """Find the project (``--project`` or walking up from cwd) and load its config."""
    return Config.load(find_project(project))


@dataclass
class ConfigReport:
    root: Path
    rows: list[tuple[str, Any, str]]  # key, value, source (pyproject / detected / default / ...)
    warnings: list[str] = field(default_factory=list)  # files detection could not read

    def to_text(self) -> str:
        width = max(len(k) for k, _, _ in self.rows)
        lines = [f"project: {self.root}"]
        for key, value, source in self.rows:
            shown = "-" if value is None else json.dumps(value)
            lines.append(f"  {key:<{width}}  {shown}  ({source})")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "project": str(self.root),
            "config": {k: {"value": v, "source": s} for k, v, s in self.rows},
        }
        if self.warnings:
            data["warnings"] = self.warnings
        return json.dumps(data, indent=2)


def describe_config(project: str | os.PathLike[str] | None) -> ConfigReport:
    """Every key with its value and where it came from; ambiguity is described, not raised."""
    cfg = load_project(project)
    rows: list[tuple[str, Any, str]] = []
    for key in KEYS:
        if key in cfg.explicit:
            rows.append((key, cfg.explicit[key], "pyproject.toml"))
        elif key in AUTODETECTED:
            det = cfg.detect(key)
            if det.value is not None:
                rows.append((key, det.value, "detected"))
            elif det.candidates:
                rows.append((key, None, f"ambiguous: {', '.join(det.candidates)}"))
            else:
                rows.append((key, None, f"not found: {det.reason}"))
        else:
            rows.append((key, cfg.get(key), "default"))
    return ConfigReport(cfg.root, rows, cfg.unreadable_lines())
