"""Release the module template: append templates/module/ as tag v<VERSION> to templates/module.bundle.

    python -m scaffold.release            # release templates/module/VERSION
    python -m scaffold.release --check    # exit 1 if templates/module differs from its release

A maintainer tool for a scaffold source checkout (the wheel ships released bundles only).
Before running it: bump templates/module/VERSION (PEP 440) and add a `## <version>` section
to CHANGELOG.md. Commit the updated bundle together with the template. See
docs/template-versioning.md.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from scaffold.errors import ScaffoldError, UsageError
from scaffold.template_store import (
    TAG_PREFIX,
    git,
    is_release,
    list_refs,
    newest_release,
    read_bundle_refs,
    tag_version,
    template_files,
    tree_hash,
    write_bundle,
    write_commit,
)

# The source checkout this module lives in: <repo>/scaffold/release.py.
REPO = Path(__file__).resolve().parents[1]


def changelog_section(changelog: Path, version: str) -> str | None:
    """The body of ``## <version>`` (optionally ``## [<version>] - date``) in CHANGELOG.md."""
    if not changelog.is_file():
        return None
    text = changelog.read_text(encoding="utf-8")
    pattern = rf"^## \[?{re.escape(version)}\]?(?:[ \t][^\n]*)?\n(.*?)(?=^## |\Z)"
    match = re.search(pattern, text, flags=re.M | re.S)
    return match[1].strip() if match else None


def release(name: str, templates_dir: Path, changelog: Path) -> str:
    """Append ``templates/<name>/`` as release ``v<VERSION>`` to ``templates/<name>.bundle``.

    Refuses a VERSION that is not PEP 440, not newer than the last release, or without a
    CHANGELOG section. Returns the new tag. Re-running on an already released, unchanged
    template is a no-op.
    """
    folder = templates_dir / name
    bundle = templates_dir / f"{name}.bundle"
    version = (folder / "VERSION").read_text(encoding="utf-8").strip()
    try:
        parsed = Version(version)
    except InvalidVersion as exc:
        raise UsageError(f"{folder}/VERSION: {version!r} is not a PEP 440 version") from exc
    if str(parsed) != version or parsed.is_devrelease or parsed.local:
        raise UsageError(
            f"{folder}/VERSION: release {version!r} must be a normalised, non-dev PEP 440 version"
        )
    tag = f"{TAG_PREFIX}{version}"
    files = template_files(folder)
    tree = tree_hash(files)
    with tempfile.TemporaryDirectory(prefix="scaffold-release.") as tmp:
        git_dir = Path(tmp) / "history.git"
        git("init", "--quiet", "--bare", str(git_dir))
        if bundle.is_file():
            git("fetch", "--quiet", "--no-tags", str(bundle), "refs/tags/*:refs/tags/*", git_dir=git_dir)
        refs = list_refs(git_dir)
        if f"refs/tags/{tag}" in refs:
            if refs[f"refs/tags/{tag}"]["tree"] == tree:
                return tag
            raise UsageError(
                f"{tag} is already released with different content; bump {folder}/VERSION and add a CHANGELOG section"
            )
        newest = newest_release(refs)
        if newest and parsed <= tag_version(newest):  # type: ignore[operator]
            raise UsageError(
                f"VERSION {version} is not newer than the last release {newest.removeprefix('refs/tags/')}"
            )
        notes = changelog_section(changelog, version)
        if not notes:
            raise UsageError(f"{changelog} has no `## {version}` section; describe the release there first")
        # Release date: SOURCE_DATE_EPOCH for reproducible builds, else now; identity is fixed.
        stamp = f"@{os.environ.get('SOURCE_DATE_EPOCH') or int(time.time())} +0000"
        env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        commit, _ = write_commit(
            git_dir,
            files,
            parent=refs[newest]["commit"] if newest else None,
            message=f"{name} template {version}\n\n{notes}\n",
            env=env,
        )
        git("tag", tag, commit, git_dir=git_dir)
        write_bundle(git_dir, bundle)
    return tag


def bundle_tree(bundle: Path, ref: str) -> dict[str, bytes]:
    """``{relpath: content}`` of ``ref`` in ``bundle`` (for tests and the release check)."""
    with tempfile.TemporaryDirectory(prefix="scaffold-bundle.") as tmp:
        git_dir = Path(tmp) / "b.git"
        git("init", "--quiet", "--bare", str(git_dir))
        git("fetch", "--quiet", "--no-tags", str(bundle), "refs/tags/*:refs/tags/*", git_dir=git_dir)
        work = Path(tmp) / "work"
        work.mkdir()
        git("--work-tree", str(work), "checkout", "--quiet", f"{ref}^{{commit}}", "--", ".", git_dir=git_dir)
        return {rel: path.read_bytes() for rel, path in template_files(work)}


@dataclass(frozen=True)
class ReleaseState:
    released: bool  # VERSION is a release and templates/<name>/ is exactly its content
    drifted: bool  # VERSION is released but the folder differs: must bump VERSION
    message: str


def release_state(name: str, templates_dir: Path) -> ReleaseState:
    """How ``templates/<name>/`` relates to the releases in ``templates/<name>.bundle``."""
    folder = templates_dir / name
    bundle = templates_dir / f"{name}.bundle"
    version = (folder / "VERSION").read_text(encoding="utf-8").strip()
    tags = [r.removeprefix("refs/tags/") for r in (read_bundle_refs(bundle) if bundle.is_file() else {})]
    tags = sorted((t for t in tags if is_release(t)), key=lambda t: tag_version(t))  # type: ignore[arg-type,return-value]
    tag = f"{TAG_PREFIX}{version}"
    if tag not in tags:
        newest = tags[-1] if tags else "none"
        return ReleaseState(False, False, f"{tag} is not released yet (newest release: {newest})")
    released = bundle_tree(bundle, tag)
    current = {rel: path.read_bytes() for rel, path in template_files(folder)}
    changed = sorted(
        set(released) ^ set(current) | {k for k in released if current.get(k, b"") != released[k]}
    )
    if changed:
        return ReleaseState(
            False,
            True,
            f"templates/{name} differs from its release {tag} ({', '.join(changed)}): bump "
            f"templates/{name}/VERSION, add a CHANGELOG.md section, run python -m scaffold.release",
        )
    return ReleaseState(True, False, f"templates/{name} is release {tag}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scaffold.release", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--name", default="module", help="template folder under templates/ (default: module)")
    parser.add_argument(
        "--check", action="store_true", help="only report whether VERSION is released unchanged"
    )
    args = parser.parse_args(argv)
    templates = REPO / "templates"
    if not (templates / args.name / "VERSION").is_file():
        print(
            f"error: {templates / args.name / 'VERSION'} not found; run this from a scaffold source checkout",
            file=sys.stderr,
        )
        return 2
    try:
        if args.check:
            state = release_state(args.name, templates)
            print(state.message)
            return 0 if state.released else 1
        tag = release(args.name, templates, REPO / "CHANGELOG.md")
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"released {tag} into templates/{args.name}.bundle; commit it with the template")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
