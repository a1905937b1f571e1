"""``scaffold update`` and ``scaffold check-update``: bring generated modules forward.

Each generated module has its own answers file, ``.copier-answers.<module>.yml`` at the project
root, recording ``_src_path`` (the per-user template history, see
:mod:`scaffold.template_store`) and ``_commit`` (the template version it was rendered from).
An update is copier's own 3-way update, run per module in a throw-away clone of the project's
last commit, so that:

* modules are updated independently (copier refuses a dirty tree, and the first module's
  changes would dirty it for the second);
* ``--pretend`` and every refusal leave the project untouched; results are written only at the
  end, all together (:class:`scaffold.fsutil.ChangeSet`);
* a stale ``_src_path`` (an old virtualenv, a relative path, the template folder) is replaced
  by the stable one before copier sees it.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from packaging.version import Version

from scaffold.config import Config
from scaffold.errors import OperationFailed, UsageError, first_line
from scaffold.fsutil import ChangeSet
from scaffold.project import find_project
from scaffold.template_store import TemplateSource, TemplateStore, is_release, resolve, tag_version

TEMPLATE = "module"
ANSWERS_GLOB = ".copier-answers.*.yml"
CONFLICT_MARKERS = (b"<<<<<<< before updating", b">>>>>>> after updating")
_SCAFFOLD_SOURCES = re.compile(r"(^|[/\\])(_?templates[/\\]module[/\\]?|module\.bundle)$")

Conflict = Literal["inline", "rej"]


# --------------------------------------------------------------------------- modules


@dataclass
class Module:
    name: str
    answers: Path  # absolute
    data: dict[str, Any]
    local_commit: str | None = None  # `_commit` as this machine's store names it, if different

    @property
    def folder_name(self) -> str:
        return str(self.data.get("module_name") or self.name)

    @property
    def commit(self) -> str | None:
        value = self.data.get("_commit")
        return str(value) if value else None

    @property
    def src_path(self) -> str | None:
        value = self.data.get("_src_path")
        return str(value) if value else None


def _load_answers(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{path.name}: cannot read the answers file ({exc}); fix or restore it") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path.name}: not a copier answers file (expected a YAML mapping)")
    return data


ModuleState = Literal["behind", "current", "ahead", "unknown", "unknown version", "deleted"]


def _releases(store: TemplateStore) -> list[tuple[Version, str]]:
    """The store's released template versions, oldest first, with their tags."""
    found = {v: r.removeprefix("refs/tags/") for r in store.refs() if is_release(r) and (v := tag_version(r))}
    return sorted(found.items())


def is_scaffold_source(src: str | None, data: dict[str, Any] | None = None) -> bool:
    """Whether an answers file's ``_src_path`` is scaffold's module template: the per-user
    store, a copy of its bundle, or a ``templates/module`` folder (older scaffolds). An
    answers file without ``_src_path`` counts when it records a ``module_name``."""
    if not src:
        return bool(data and data.get("module_name"))
    src = src.rstrip("/\\")
    return src == TemplateStore(TEMPLATE).url or bool(_SCAFFOLD_SOURCES.search(src))


def discover_modules(root: Path, *, foreign: dict[str, Module] | None = None) -> dict[str, Module]:
    """Every generated module of the project, by name, from its ``.copier-answers.<name>.yml``.

    Answers files of other copier templates (a CI template's ``.copier-answers.ci.yml``)
    are not modules; they go into ``foreign`` when given."""
    modules: dict[str, Module] = {}
    for path in sorted(root.glob(ANSWERS_GLOB)):
        name = path.name[len(".copier-answers.") : -len(".yml")]
        if not name:
            continue
        module = Module(name, path, _load_answers(path))
        if is_scaffold_source(module.src_path, module.data):
            modules[name] = module
        elif foreign is not None:
            foreign[name] = module
    return modules


def _select(root: Path, names: Sequence[str], all_modules: bool) -> list[Module]:
    foreign: dict[str, Module] = {}
    modules = discover_modules(root, foreign=foreign)
    if all_modules and names:
        raise UsageError("pass module names or --all, not both")
    if all_modules:
        if not modules:
            raise UsageError(f"no generated modules in {root} (no {ANSWERS_GLOB}); nothing to update")
        return list(modules.values())
    if not names:
        raise UsageError("name the modules to update (scaffold update inventory) or pass --all")
    known = ", ".join(modules) or "none"
    selected = []
    for name in dict.fromkeys(names):
        if name in foreign:
            raise UsageError(
                f"{foreign[name].answers.name} was generated from {foreign[name].src_path}, not scaffold's "
                f"module template; update it with `copier update -a {foreign[name].answers.name}`"
            )
        if name not in modules:
            raise UsageError(f"no module {name!r}: no .copier-answers.{name}.yml in {root} (known: {known})")
        selected.append(modules[name])
    return selected


# --------------------------------------------------------------------------- git


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise OperationFailed(f"git {args[0]} failed in {cwd}: {detail}")
    return proc


def _git_top(root: Path) -> tuple[Path, str]:
    proc = _git(root, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise UsageError(
            f"{root} is not in a git repository; scaffold update needs one (git init && git add -A && git commit)"
        )
    head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    if head.returncode != 0:
        raise UsageError(f"{root}: the git repository has no commits yet; commit the generated modules first")
    return Path(proc.stdout.strip()).resolve(), head.stdout.strip()


def _status_paths(repo: Path, *pathspecs: str, ignored: bool = False) -> list[str]:
    """Paths (relative to ``repo``) that ``git status`` reports as changed or untracked."""
    args = ["status", "--porcelain=v1", "-z", "--untracked-files=all"]
    if ignored:
        args.append("--ignored=matching")
    out = _git(repo, *args, "--", *pathspecs).stdout
    fields = out.split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":
            i += 1  # the rename source follows
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- reports


@dataclass
class ModuleResult:
    module: str
    answers: str
    from_version: str | None
    to_version: str
    state: Literal["updated", "up to date", "deleted"] = "updated"
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.merged or self.conflicts or self.deleted)

    def to_text(self, pretend: bool) -> str:
        if self.state == "deleted":
            return (
                f"{self.module}: skipped, its folder {self.module}/ was deleted "
                f"(remove {self.answers} to stop tracking it)"
            )
        if self.state == "up to date":
            return f"{self.module}: already at template {self.to_version}"
        verb = "would update" if pretend else "updated"
        counts = ", ".join(
            f"{len(items)} {label}"
            for label, items in (
                ("created", self.created),
                ("updated", self.updated),
                ("merged", self.merged),
                ("in conflict", self.conflicts),
                ("deleted", self.deleted),
            )
        )
        lines = [f"{self.module}: {verb} template {self.from_version} -> {self.to_version}: {counts}"]
        for label, items in (
            ("created", self.created),
            ("updated", self.updated),
            ("merged", self.merged),
            ("CONFLICT", self.conflicts),
            ("deleted", self.deleted),
        ):
            lines.extend(f"  {label:<9} {path}" for path in items)
        return "\n".join(lines)


@dataclass
class UpdateReport:
    root: Path
    pretend: bool
    conflict: Conflict
    modules: list[ModuleResult]
    diff: str = ""

    @property
    def conflicts(self) -> int:
        return sum(len(m.conflicts) for m in self.modules)

    @property
    def exit_code(self) -> int:
        """1 when files are in conflict (or, with --pretend, when anything would change)."""
        if self.conflicts:
            return 1
        return 1 if self.pretend and any(m.changed for m in self.modules) else 0

    def to_text(self) -> str:
        parts = []
        if self.pretend and self.diff:
            parts.append(self.diff.rstrip("\n"))
        parts.extend(m.to_text(self.pretend) for m in self.modules)
        if self.conflicts and not self.pretend:
            how = (
                "edit the `<<<<<<< before updating` blocks"
                if self.conflict == "inline"
                else "apply the hunks in the .rej files by hand and delete them"
            )
            parts.append(f"{self.conflicts} file(s) in conflict: {how}, then commit")
        return "\n".join(parts)


# --------------------------------------------------------------------------- the target


def _target(store: TemplateStore, source: TemplateSource, vcs_ref: str | None) -> tuple[str, str]:
    """``(ref, version)`` to update to: ``--vcs-ref`` or the installed template's version."""
    if source.vcs_ref is None:
        raise UsageError("the module template is not versioned on this machine (git missing?); cannot update")
    if vcs_ref is None:
        return source.vcs_ref, source.version
    for candidate in (vcs_ref, f"v{vcs_ref}"):
        if store.has_ref(candidate):
            version = tag_version(candidate)
            return candidate, str(version) if version else candidate
    known = ", ".join(tag for _, tag in _releases(store))
    raise UsageError(f"--vcs-ref {vcs_ref}: no such template version (released: {known or 'none'})")


def _check_module(
    module: Module, root: Path, top: Path, store: TemplateStore, target_ref: str, target_version: str
) -> ModuleResult:
    """Refuse (UsageError), or the module's result: ``updated`` (still to run), ``deleted`` or
    ``up to date``."""
    answers_rel = module.answers.name
    result = ModuleResult(module.name, answers_rel, None, target_version)
    folder = root / module.folder_name
    if not folder.is_dir():
        result.state = "deleted"
        return result
    dirty = _status_paths(top, str(module.answers), str(folder))
    if dirty:
        shown = ", ".join(dirty[:3]) + (f" (+{len(dirty) - 3} more)" if len(dirty) > 3 else "")
        raise UsageError(
            f"module {module.name} has uncommitted changes ({shown}); commit or stash them, then re-run"
        )
    commit = module.commit
    if commit is None:
        raise UsageError(
            f"module {module.name}: {answers_rel} records no `_commit`; set `_commit: v<version>` "
            "there to the template release it was generated from, commit, and re-run"
        )
    result.from_version = str(tag_version(commit) or commit)
    src = module.src_path or ""
    if src != store.url and not _SCAFFOLD_SOURCES.search(src.rstrip("/\\")):
        raise UsageError(
            f"module {module.name} was generated from {src or 'an unknown template'}, not scaffold's; "
            f"update it with `copier update -a {answers_rel}`"
        )
    if not store.has_ref(commit):
        local = store.equivalent(commit)
        if local is None:
            raise UsageError(
                f"module {module.name}: template version {commit} ({answers_rel}) is not in the template "
                "history on this machine (generated from an unreleased template elsewhere?); set "
                "`_commit` to the release it started from and re-run"
            )
        # The same unreleased content, tagged differently on this machine.
        module.local_commit = commit = local
    old, new = tag_version(commit), tag_version(target_ref)
    if commit == target_ref or (old is not None and new is not None and old == new):
        result.state = "up to date"
        return result
    if old is not None and new is not None and old > new:
        raise UsageError(
            f"module {module.name} is at template {old}, newer than {new}: downgrades are not supported "
            "(upgrade scaffold, or pass --vcs-ref with a newer version)"
        )
    return result


# --------------------------------------------------------------------------- update


@dataclass
class _Planned:
    result: ModuleResult
    writes: dict[Path, bytes]
    deletes: list[Path]
    # Conflicted paths (relative to the git top) -> [(mode, stage, content)], as copier
    # records them in the index: 1 = before updating, 2 = yours, 3 = after updating.
    stages: dict[str, list[tuple[str, int, bytes]]] = field(default_factory=dict)


def update_modules(
    project: str | os.PathLike[str] | None,
    names: Sequence[str] = (),
    *,
    all_modules: bool = False,
    pretend: bool = False,
    vcs_ref: str | None = None,
    conflict: Conflict = "inline",
) -> UpdateReport:
    """Update the selected modules to ``vcs_ref`` (default: the installed template version)."""
    if conflict not in ("inline", "rej"):
        raise UsageError(f"--conflict {conflict}: use inline or rej")
    root = find_project(project)
    Config.load(root)  # a broken [tool.scaffold] is an error here too, as in every command
    modules = _select(root, names, all_modules)
    top, head = _git_top(root)
    source = resolve(TEMPLATE)
    store = TemplateStore(TEMPLATE)
    target_ref, target_version = _target(store, source, vcs_ref)

    # Every refusal happens before anything is computed or written.
    results = [_check_module(m, root, top, store, target_ref, target_version) for m in modules]
    pending = [(m, r) for m, r in zip(modules, results, strict=True) if r.state == "updated"]

    plans = [
        _plan(module, result, root, top, head, store, target_ref, conflict) for module, result in pending
    ]

    changes = ChangeSet()
    deletes: list[Path] = []
    for plan in plans:
        for path, data in plan.writes.items():
            changes.add(path, data)
        deletes.extend(plan.deletes)
    # The project may have moved on while copier worked: re-check the paths we will write.
    touched = [str(p) for p in [*(c.path for c in changes), *deletes]]
    if touched:
        dirty = _status_paths(top, *touched)
        if dirty:
            raise UsageError(
                f"uncommitted changes in {', '.join(dirty[:3])}; commit or stash them, then re-run"
            )
    report = UpdateReport(root, pretend, conflict, results)
    if pretend:
        report.diff = changes.diff(root) + "".join(_deletion_diff(p, root) for p in deletes)
        return report
    _apply(changes, deletes, root)
    _record_conflicts(top, {k: v for plan in plans for k, v in plan.stages.items()})
    return report


def _record_conflicts(top: Path, stages: dict[str, list[tuple[str, int, bytes]]]) -> None:
    """Mark conflicted files unmerged in the project's index, like ``copier update`` does in
    place, so ``git status`` shows them and ``git mergetool`` / ``git checkout --theirs`` work."""
    if not stages:
        return
    lines = []
    for path, entries in sorted(stages.items()):
        lines.append(f"0 {'0' * 40}\t{path}")
        for mode, stage, content in entries:
            sha = (
                subprocess.run(
                    ["git", "hash-object", "-w", "--stdin"],
                    cwd=top,
                    input=content,
                    capture_output=True,
                    check=True,
                )
                .stdout.decode()
                .strip()
            )
            lines.append(f"{mode} {sha} {stage}\t{path}")
    _git_input(top, "\n".join(lines) + "\n", "update-index", "--index-info")


def _git_input(cwd: Path, data: str, *args: str) -> None:
    proc = subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise OperationFailed(f"git {args[0]} failed in {cwd}: {detail}")


def _deletion_diff(path: Path, root: Path) -> str:
    rel = path.relative_to(root).as_posix()
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return f"Binary file {rel} deleted\n"
    body = "".join(f"-{line}" if line.endswith("\n") else f"-{line}\n" for line in lines)
    return f"--- a/{rel}\n+++ /dev/null\n@@ -1,{len(lines)} +0,0 @@\n{body}"


def _apply(changes: ChangeSet, deletes: list[Path], root: Path) -> None:
    """Write every change and every deletion as one set (the journal makes it all or
    nothing), then drop the folders the deletions emptied."""
    for path in deletes:
        changes.delete(path)
    changes.apply()
    for path in deletes:
        parent = path.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def _plan(
    module: Module,
    result: ModuleResult,
    root: Path,
    top: Path,
    head: str,
    store: TemplateStore,
    target_ref: str,
    conflict: Conflict,
) -> _Planned:
    """Run ``copier update`` for one module in a clone; return the files it changed."""
    import copier

    rel_root = root.relative_to(top)
    answers_rel = module.answers.name
    with tempfile.TemporaryDirectory(prefix="scaffold-update.") as tmp:
        clone = Path(tmp) / "project"
        _git(Path(tmp), "clone", "--quiet", "--shared", "--no-checkout", str(top), str(clone))
        _git(clone, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", head)
        dst = clone / rel_root
        if module.src_path != store.url or module.local_commit:
            _normalise_answers(dst / answers_rel, store.url, module.local_commit)
            _git(
                clone,
                "-c",
                "user.name=scaffold",
                "-c",
                "user.email=scaffold@localhost",
                "commit",
                "--quiet",
                "--no-verify",
                "-m",
                "scaffold: stable template source",
                "--",
                str(dst / answers_rel),
            )
        try:
            copier.run_update(
                dst_path=dst,
                answers_file=answers_rel,
                vcs_ref=target_ref,
                conflict=conflict,
                defaults=True,
                overwrite=True,
                skip_answered=True,
                quiet=True,
            )
        except Exception as exc:  # copier errors, and git errors raised through plumbum
            raise OperationFailed(
                f"module {module.name}: copier update failed ({first_line(exc)}); nothing was written"
            ) from exc
        changed = _status_paths(clone, ignored=True)
        clean = _render_clean(store.url, target_ref, dst / answers_rel, answers_rel, Path(tmp) / "clean")
        writes: dict[Path, bytes] = {}
        deletes: list[Path] = []
        for rel in sorted(set(changed)):
            if rel.endswith("/"):
                continue
            real, new_path = top / rel, clone / rel
            shown = real.relative_to(root).as_posix() if real.is_relative_to(root) else rel
            if new_path.is_file():
                data = new_path.read_bytes()
                writes[real] = data
                if shown == answers_rel:
                    continue
                if shown.endswith(".rej"):
                    result.conflicts.append(shown[: -len(".rej")])
                elif any(line.rstrip() in CONFLICT_MARKERS for line in data.splitlines()):
                    result.conflicts.append(shown)
                elif not real.exists():
                    result.created.append(shown)
                elif clean.get(shown) == data:
                    result.updated.append(shown)
                else:
                    result.merged.append(shown)
            elif real.exists():
                deletes.append(real)
                result.deleted.append(shown)
        result.conflicts = sorted(set(result.conflicts))
        for label in ("created", "updated", "merged"):
            setattr(result, label, [p for p in getattr(result, label) if p not in result.conflicts])
        stages = _conflict_stages(clone) if conflict == "inline" and result.conflicts else {}
        return _Planned(result, writes, deletes, stages)


def _conflict_stages(clone: Path) -> dict[str, list[tuple[str, int, bytes]]]:
    """The unmerged index entries copier left in the clone, with their contents."""
    stages: dict[str, list[tuple[str, int, bytes]]] = {}
    for entry in _git(clone, "ls-files", "--stage", "-z").stdout.split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        mode, sha, stage = meta.split()
        if stage != "0":
            content = subprocess.run(
                ["git", "cat-file", "blob", sha], cwd=clone, capture_output=True, check=True
            ).stdout
            stages.setdefault(path, []).append((mode, int(stage), content))
    return stages


def _normalise_answers(answers: Path, url: str, commit: str | None) -> None:
    """Point ``_src_path`` at the stable store (and ``_commit`` at its local name)."""
    text = answers.read_text(encoding="utf-8")
    if commit:
        text = re.sub(r"(?m)^_commit:.*$", f"_commit: {commit}", text, count=1)
    line = f"_src_path: {url}"
    new, count = re.subn(r"(?m)^_src_path:.*$", line, text)
    if not count:
        new = re.sub(r"(?m)^(_commit:.*)$", rf"\1\n{line}", text, count=1)
    answers.write_text(new, encoding="utf-8")


def _render_clean(url: str, ref: str, answers: Path, answers_rel: str, dest: Path) -> dict[str, bytes]:
    """The target version rendered with the module's answers, untouched: tells updated from merged."""
    import copier

    data = {k: v for k, v in _load_answers(answers).items() if not str(k).startswith("_")}
    copier.run_copy(
        url, dest, data=data, vcs_ref=ref, defaults=True, quiet=True, overwrite=True, answers_file=answers_rel
    )
    return {
        path.relative_to(dest).as_posix(): path.read_bytes() for path in dest.rglob("*") if path.is_file()
    }


# --------------------------------------------------------------------------- check-update


@dataclass
class ModuleStatus:
    module: str
    answers: str
    current: str | None
    state: ModuleState


@dataclass
class CheckReport:
    root: Path
    target: str
    modules: list[ModuleStatus]
    released: str = ""  # the released template versions this scaffold knows, for messages

    @property
    def behind(self) -> list[ModuleStatus]:
        return [m for m in self.modules if m.state in ("behind", "unknown", "unknown version")]

    @property
    def exit_code(self) -> int:
        return 1 if self.behind else 0

    def to_text(self) -> str:
        if not self.modules:
            return f"no generated modules in {self.root} (no {ANSWERS_GLOB})"
        width = max(len(m.module) for m in self.modules)
        lines = []
        for m in self.modules:
            detail = {
                "behind": f"{m.current} -> {self.target}  (scaffold update {m.module})",
                "current": f"{m.current}  up to date",
                "ahead": f"{m.current}  newer than this scaffold's template {self.target}",
                "unknown": f"no usable `_commit` in {m.answers}; set it to the release it was generated from",
                "unknown version": (
                    f"unknown version {m.current}: not in this scaffold's template history (released: "
                    f"{self.released or 'none'}); set `_commit` in {m.answers} to the release it was "
                    "generated from, or upgrade scaffold if a newer one generated it"
                ),
                "deleted": "folder deleted; not tracked",
            }[m.state]
            lines.append(f"{m.module:<{width}}  {detail}")
        behind = self.behind
        if behind:
            lines.append(
                f"{len(behind)} module(s) behind template {self.target} or of unknown version; "
                "run `scaffold update --all` or fix their `_commit`"
            )
        return "\n".join(lines)


def check_updates(project: str | os.PathLike[str] | None) -> CheckReport:
    """Which generated modules are behind the installed template (for CI: exit 1 if any)."""
    root = find_project(project)
    Config.load(root)  # a broken [tool.scaffold] is an error here too, as in every command
    source = resolve(TEMPLATE, allow_unversioned=True)  # reads only: works without git
    store = TemplateStore(TEMPLATE)
    target = tag_version(source.vcs_ref or "") or tag_version(f"v{source.version}")
    statuses: list[ModuleStatus] = []
    for module in discover_modules(root).values():
        current = tag_version(module.commit) if module.commit else None
        known = module.commit is not None and (
            store.has_ref(module.commit) or store.equivalent(module.commit) is not None
        )
        if not (root / module.folder_name).is_dir():
            state: ModuleState = "deleted"
        elif current is None or target is None:
            state = "unknown"
        elif not known and source.vcs_ref is not None:
            state = "unknown version"
        elif current < target:
            state = "behind"
        elif current > target:
            state = "ahead"
        else:
            state = "current"
        statuses.append(
            ModuleStatus(module.name, module.answers.name, str(current) if current else None, state)
        )
    released = ", ".join(str(version) for version, _ in _releases(store))
    return CheckReport(root, str(target) if target else source.version, statuses, released)
