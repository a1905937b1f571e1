"""TEN090 unanalyzed-source-file: a source file that could hold a finding was not analyzed.

## What it does
Reports every Python file in the audited paths that could hold a finding but that scaffold
could not analyze: it cannot be read (permissions), it is over the 1 MB limit, it is not
valid UTF-8 or its PEP 263 encoding (or does not round-trip through it), it is binary
(NUL bytes), or it does not parse. A file "could hold a finding" when it contains a word
one of the selected rules looks for (an unreadable file always could). `audit`, `fix`
and `migrate-viewsets --check` exit 1 while such a file is left.

The finding is on by default whatever `--select` says; silence it per file with
`per_file_ignores = {"vendor/huge_views.py" = ["TEN090"]}`, drop the file from the run with
`exclude`, or turn the rule off with `--ignore TEN090`.

## Why is this bad?
A check that skips what it cannot read and then reports "No findings" passes CI without
having looked. A views file that fails to decode, a generated 2 MB module or a file left
`chmod 000` can hold exactly the unscoped queryset audit exists to catch.

## Example
```python
# -*- coding: latin-1 -*-   (saved as UTF-8: the bytes do not decode as declared)
class InvoiceViewSet(viewsets.ModelViewSet):
    queryset = Invoice.objects.all()
```

## Use instead
```python
# saved in the declared encoding (or as UTF-8 without a coding line)
class InvoiceViewSet(viewsets.ModelViewSet):
    queryset = Invoice.objects.all()  # now analyzed: TEN001 reports it
```
Or, for a file that is deliberately not application code, exclude it:
```toml
[tool.scaffold]
exclude = ["vendor/*"]
```

## Fix safety
No automatic fix: scaffold cannot rewrite what it cannot read.

## References
- [PEP 263: Defining Python Source Code Encodings](https://peps.python.org/pep-0263/)
- [ruff: syntax errors are reported, never skipped silently](https://docs.astral.sh/ruff/linter/#error-suppression)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from scaffold.rules import Finding, Rule, register

if TYPE_CHECKING:
    from scaffold.engine import FileResult

CODE = "TEN090"


def check(result: FileResult) -> Iterator[Finding]:
    """One finding for a file the engine reported ``unparsable`` or ``skipped``."""
    if result.status not in ("unparsable", "skipped"):
        return
    if not result.messages:
        yield Finding(result.rel, 1, 1, CODE, f"not analyzed ({result.status}); fix the file, or exclude it")
        return
    msg = result.messages[0]
    why = msg.message.removeprefix("skipped: ")
    yield Finding(
        result.rel,
        max(msg.line, 1),
        msg.col + 1,
        CODE,
        f"not analyzed: {why}; fix the file, or exclude it (exclude / per_file_ignores)",
    )


rule = register(
    Rule(
        code=CODE,
        name="unanalyzed-source-file",
        summary="A source file that could hold a finding was not analyzed (unreadable, over 1 MB, not decodable, binary, or not parsable)",
        check=check,
        doc=__doc__ or "",
        scope="engine",
    )
)
