"""The ViewSet rules' (TEN001-TEN004) access to the one view analysis (:mod:`scaffold.analysis`).

Nothing is decided here: each function runs the shared analysis on a file's classes and
caches the results on the rule context, so the four rules share one analysis per file.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TypeVar

from scaffold.analysis import (
    Analyzer,
    ClassRef,
    HandlerQuery,
    Permissions,
    ViewAnalysis,
    WriteRef,
    client_writes,
    handler_model,
    lets_anyone_in,
    location,
)
from scaffold.analysis import (
    handler_queries as _handler_queries,
)
from scaffold.rules._context import FileContext
from scaffold.viewsets import ViewPlan, analyze_module

__all__ = ["lets_anyone_in", "location"]

T = TypeVar("T")


def analyzer(ctx: FileContext, node: ast.ClassDef) -> Analyzer:
    cache: dict[int, Analyzer] = ctx.__dict__.setdefault("_analyzers", {})
    if id(node) not in cache:
        cache[id(node)] = Analyzer(ctx.class_ref(node), ctx.index, ctx.settings)
    return cache[id(node)]


def analyze(ctx: FileContext, node: ast.ClassDef) -> ViewAnalysis | None:
    """The analysis of class ``node`` in ``ctx``, or None when it is not a DRF data view."""
    cache: dict[int, ViewAnalysis | None] = ctx.__dict__.setdefault("_view_cache", {})
    if id(node) not in cache:
        cache[id(node)] = analyzer(ctx, node).analyze()
    return cache[id(node)]


def recognised_views(ctx: FileContext) -> list[ViewAnalysis]:
    """Every DRF view of the file that serves model data, whatever its verdict."""
    return [an for node in ctx.classes() if (an := analyze(ctx, node)) is not None]


def view_classes(ctx: FileContext) -> list[ViewAnalysis]:
    """Analyses of every tenant-data DRF view defined in ``ctx`` with only known bases."""
    return [an for an in recognised_views(ctx) if an.tenant_model and not an.unknown_bases]


def _of_each_class(
    ctx: FileContext, key: str, of_class: Callable[[Analyzer, ast.ClassDef], list[T]]
) -> list[T]:
    """``of_class`` over every class of the file, with its one :class:`Analyzer`, computed
    once per file (every rule asks)."""
    cached: list[T] | None = ctx.__dict__.get(key)
    if cached is None:
        cached = ctx.__dict__[key] = [
            x for node in ctx.classes() for x in of_class(analyzer(ctx, node), node)
        ]
    return cached


def handler_queries(ctx: FileContext) -> list[HandlerQuery]:
    """Unscoped manager queries inside the request handlers of the file's DRF views."""
    return _of_each_class(ctx, "_handler_queries", _handler_queries)


def write_refs(ctx: FileContext) -> list[WriteRef]:
    """Relations the file's DRF views write into new rows from what the client chose."""
    return _of_each_class(ctx, "_write_refs", client_writes)


def handler_data_views(ctx: FileContext) -> list[tuple[ClassRef, ClassRef, Permissions | None]]:
    """DRF views (``APIView`` too) whose request handlers query a tenant model's manager
    directly: (view, model, permissions)."""
    out = []
    for node in ctx.classes():
        an = analyzer(ctx, node)
        model = handler_model(an, node)
        if model is not None:
            out.append((an.view, model, an.permissions()))
    return out


def view_plans(ctx: FileContext) -> list[ViewPlan]:
    """migrate-viewsets' plans for the file (cached on the context)."""
    cached: list[ViewPlan] | None = ctx.__dict__.get("_view_plans")
    if cached is not None:
        return cached
    try:
        found = analyze_module(
            ctx.tree,
            ctx.text,
            ctx.module,
            ctx.index.root / ctx.rel,
            ctx.index,
            ctx.settings,
            analyzer=lambda node: analyzer(ctx, node),  # the rules' analysis of each view, shared
            advice=False,  # the rules report handler queries themselves (in_handlers)
        )
    except (RecursionError, ValueError, AttributeError, TypeError):  # never let the audit crash
        found = []
    finally:
        ctx.__dict__.pop("info", None)  # analyze_module re-registered the module
    ctx.__dict__["_view_plans"] = found
    return found


def census(ctx: FileContext) -> list[tuple[int, str, str]]:
    """Every DRF view of the file with the shared analysis' verdict: (line, view, verdict)."""
    from scaffold.analysis import is_drf_view
    from scaffold.engine import NOT_JUDGED

    out = []
    for node in ctx.classes():
        an = analyzer(ctx, node)
        if not is_drf_view(an.mro):
            continue
        result = analyze(ctx, node)
        if result is None:
            model = handler_model(an, node)
            if model is None:
                verdict = "no model data"
            else:
                leaks = _handler_queries(an, node) or client_writes(an, node)
                verdict = "unscoped" if leaks else "scoped"
        elif result.verdict == "unknown":
            verdict = NOT_JUDGED + (result.why_unknown or "its queryset is built dynamically")
        elif result.verdict == "unscoped" and result.unknown_bases:
            verdict = NOT_JUDGED + f"inherits from {result.unknown_bases[0]}, which scaffold cannot read"
        else:
            verdict = result.verdict.replace("-", " ")
            plan = next((p for p in view_plans(ctx) if p.name == node.name), None)
            if result.verdict == "scoped" and plan is not None and plan.manual:
                # its queryset is scoped, but a write path cannot be judged (a create() that
                # never calls serializer.save()): the same manual review migrate-viewsets asks for
                verdict = NOT_JUDGED + plan.manual[0][2]
        out.append((node.lineno, node.name, verdict))
    return out
