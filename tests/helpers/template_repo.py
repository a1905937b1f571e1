"""Template versions built on the fly, as copier's own tests do: write files, release them as
a tag of a git bundle (``scaffold.release.release``), render, update, assert."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from scaffold import release as releasing

TOY_COPIER_YML = """\
_answers_file: .copier-answers.yml
_templates_suffix: .jinja
_exclude: ["copier.yml", "VERSION", ".git", "__pycache__"]
module_name:
  type: str
model_name:
  type: str
  default: Item
"""

ANSWERS_JINJA = (
    "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n{{ _copier_answers|to_nice_yaml -}}\n"
)


class TemplateRepo:
    """``<dir>/module/`` (the template folder), ``<dir>/module.bundle`` (its releases) and a CHANGELOG."""

    def __init__(self, root: Path, name: str = "module") -> None:
        self.root = root
        self.name = name
        self.folder = root / name
        self.changelog = root / "CHANGELOG.md"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.changelog.write_text("# Changelog\n", encoding="utf-8")

    @classmethod
    def toy(cls, root: Path) -> TemplateRepo:
        repo = cls(root)
        repo.write(
            {
                "copier.yml": TOY_COPIER_YML,
                "{{_copier_conf.answers_file}}.jinja": ANSWERS_JINJA,
                "{{module_name}}/__init__.py": "",
                "{{module_name}}/views.py.jinja": textwrap.dedent(
                    '''\
                    """Views of {{ module_name }}."""

                    HEADER = "header"


                    def list_{{ model_name | lower }}s():
                        return []


                    FOOTER = "v1"
                    '''
                ),
                "{{module_name}}/models.py.jinja": "class {{ model_name }}:\n    pass\n",
            }
        )
        return repo

    @classmethod
    def copy_of(cls, source: Path, root: Path, name: str = "module") -> TemplateRepo:
        """A copy of a real template folder (e.g. the repo's templates/module)."""
        repo = cls(root, name)
        shutil.rmtree(repo.folder)
        shutil.copytree(source, repo.folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return repo

    def write(self, files: dict[str, str | None]) -> None:
        for rel, text in files.items():
            path = self.folder / rel
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.folder / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def release(self, version: str, notes: str = "- changes") -> str:
        (self.folder / "VERSION").write_text(version + "\n", encoding="utf-8")
        with self.changelog.open("a", encoding="utf-8") as fh:
            fh.write(f"\n## {version}\n\n{notes}\n")
        return releasing.release(self.name, self.root, self.changelog)

    @property
    def bundle(self) -> Path:
        return self.root / f"{self.name}.bundle"
