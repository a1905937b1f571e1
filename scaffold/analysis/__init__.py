"""The one view analysis: is this DRF view scoped to the requesting tenant?

Per view, one :class:`ViewAnalysis`: its model (resolved through imports, re-exports,
module-level aliases, imports inside functions, and model bases from other packages), how
every path of ``get_queryset`` is scoped, its effective permissions (``REST_FRAMEWORK``
defaults included) and a :attr:`~ViewAnalysis.verdict`. Audit's TEN001-TEN004 and every
migrate-viewsets / fix plan (:mod:`scaffold.viewsets`) derive from it. The work is split by
concern:

* :mod:`~scaffold.analysis.predicate`: the written scoping rule (which filters scope);
* :mod:`~scaffold.analysis.lookup`: helper lookup (methods along the MRO, functions, models);
* :mod:`~scaffold.analysis.values`: value tracking (where a filter value comes from);
* :mod:`~scaffold.analysis.flow`: flow analysis (the scope on every path);
* :mod:`~scaffold.analysis.view`: the result per view;
* :mod:`~scaffold.analysis.writes`: write paths (where the tenant is stamped, and the
  relations a handler writes from what the client chose).

:func:`fingerprint` hashes this package's source: caches key on it, so changing the rule
invalidates every cached verdict without a hand-bumped version string.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from scaffold.analysis.lookup import Lookup, class_ref, mro, resolve_function
from scaffold.analysis.scope import GOOD, KEPT, LEAKS, SCOPED, ClassRef, Return, Scope
from scaffold.analysis.settings import Settings
from scaffold.analysis.view import (
    Analyzer,
    HandlerQuery,
    Permissions,
    ViewAnalysis,
    analyze_view,
    handler_model,
    handler_queries,
    is_drf_view,
    lets_anyone_in,
    location,
)
from scaffold.analysis.writes import WriteRef, client_writes


@cache
def fingerprint() -> str:
    """A hash of the analysis source (this package and the planner built on it)."""
    here = Path(__file__).parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted([*here.glob("*.py"), here.parent / "viewsets.py"]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


__all__ = [
    "GOOD",
    "KEPT",
    "LEAKS",
    "SCOPED",
    "Analyzer",
    "ClassRef",
    "HandlerQuery",
    "Lookup",
    "Permissions",
    "Return",
    "Scope",
    "Settings",
    "ViewAnalysis",
    "WriteRef",
    "analyze_view",
    "class_ref",
    "client_writes",
    "fingerprint",
    "handler_model",
    "handler_queries",
    "is_drf_view",
    "lets_anyone_in",
    "location",
    "mro",
    "resolve_function",
]
