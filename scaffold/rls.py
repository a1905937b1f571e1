"""The PostgreSQL RLS policy SQL, rendered from the module template's ``_macros/rls.jinja``.

The copier template's RLS migration imports the same macros, so generated migrations,
tests and benchmarks all use one policy. Identifiers and the setting name are validated
here (allowlists), because they are written into SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from scaffold.config import TENANT_SETTING
from scaffold.errors import UsageError
from scaffold.templates import macros

# A PostgreSQL identifier scaffold will quote: lower-case, no quotes, at most 63 bytes.
SQL_IDENT = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")
# The connected role and whether row-level security binds it (audit's live rules, the probe).
ROLE_SQL = "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"


def policy_name_for(table: str) -> str:
    """The default policy name of ``table`` (kept within PostgreSQL's 63-byte limit)."""
    return f"{table[:46]}_tenant_isolation"


def _check(table: str, tenant_field: str, setting: str, policy_name: str) -> None:
    for what, value in (("table", table), ("tenant field", tenant_field), ("policy name", policy_name)):
        if not SQL_IDENT.match(value):
            raise UsageError(f"{what} {value!r} is not a plain lower-case SQL identifier; rename it")
    if not TENANT_SETTING.match(setting):
        raise UsageError(
            f"tenant setting {setting!r} is not allowed: expected a lower-case custom setting "
            "like 'app.current_tenant_id'; fix tenant_setting in [tool.scaffold]"
        )


def enable_rls_sql(
    table: str,
    tenant_field: str = "tenant_id",
    setting: str = "app.current_tenant_id",
    policy_name: str | None = None,
) -> str:
    """ENABLE + FORCE row-level security on ``table`` and create its tenant policy."""
    policy_name = policy_name or policy_name_for(table)
    _check(table, tenant_field, setting, policy_name)
    return str(macros("rls").enable_rls(table, tenant_field, setting, policy_name)) + "\n"


def disable_rls_sql(
    table: str,
    tenant_field: str = "tenant_id",
    setting: str = "app.current_tenant_id",
    policy_name: str | None = None,
) -> str:
    """The reverse of :func:`enable_rls_sql`."""
    policy_name = policy_name or policy_name_for(table)
    _check(table, tenant_field, setting, policy_name)
    return str(macros("rls").disable_rls(table, tenant_field, setting, policy_name)) + "\n"


# -- judging a table's policy set as PostgreSQL applies it ----------------------------------
#
# For one command, PostgreSQL shows (or accepts) a row when any applicable PERMISSIVE
# policy's expression is true AND every applicable RESTRICTIVE policy's expression is true;
# with no applicable permissive policy, nothing. A policy applies when its command is the
# command or ALL and the role is PUBLIC or one the current role has the privileges of.
# WITH CHECK defaults to USING. So the set isolates tenants for the runtime role exactly
# when, for every command and side, some applicable restrictive policy is the tenant
# predicate, or every applicable permissive one is.

COMMANDS: dict[str, str] = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
# The sides of each command: USING filters the rows a command sees, WITH CHECK the rows it writes.
SIDES: dict[str, tuple[str, ...]] = {
    "SELECT": ("using",),
    "INSERT": ("check",),
    "UPDATE": ("using", "check"),
    "DELETE": ("using",),
}


@dataclass(frozen=True)
class Policy:
    """One row of ``pg_policy`` as the audit reads it (expressions from ``pg_get_expr``)."""

    name: str
    permissive: bool
    command: str  # SELECT / INSERT / UPDATE / DELETE / ALL
    roles: tuple[str, ...]  # role names, "public" for PUBLIC
    applies: bool  # to the runtime role (PUBLIC, or a role it has the privileges of)
    using: str | None
    check: str | None

    def expression(self, side: str) -> str | None:
        """The expression PostgreSQL applies on ``side`` (WITH CHECK defaults to USING)."""
        if side == "using":
            return self.using
        return self.check if self.check is not None else self.using

    @property
    def kind(self) -> str:
        return "permissive" if self.permissive else "restrictive"

    @property
    def to(self) -> str:
        return ", ".join(self.roles) or "public"


@dataclass(frozen=True)
class Verdict:
    """Whether an expression is provably the tenant predicate; ``reason`` says why not."""

    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class PolicyProblem:
    """One way the policy set fails to isolate tenants for the runtime role."""

    policy: str  # the policy at fault ("" when the set as a whole is)
    message: str


def _scan(text: str) -> Iterator[tuple[int, str, int]]:
    """``(index, char, depth)`` for each character outside string literals and quoted
    identifiers; depth counts parentheses and CASE ... END."""
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            end = i + 1
            while end < n:
                if text[end] == ch:
                    if end + 1 < n and text[end + 1] == ch:  # '' or "" escape
                        end += 2
                        continue
                    break
                end += 1
            i = end + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch.isalpha() and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_$.")):
            word = re.match(r"[A-Za-z_][A-Za-z0-9_$]*", text[i:])
            assert word is not None
            upper = word.group(0).upper()
            if upper == "CASE":
                depth += 1
            elif upper == "END":
                depth -= 1
            yield i, ch, depth
            i += len(word.group(0))
            continue
        yield i, ch, depth
        i += 1


def _split(text: str, keyword: str) -> list[str]:
    """``text`` split at the top-level ``keyword`` (AND, OR) or ``=`` outside literals."""
    parts: list[str] = []
    start = 0
    size = len(keyword)
    for i, _, depth in _scan(text):
        if depth != 0 or text[i : i + size].upper() != keyword:
            continue
        if keyword.isalpha():
            before = text[i - 1] if i else " "
            after = text[i + size] if i + size < len(text) else " "
            if not (before.isspace() or before == ")") or not (after.isspace() or after == "("):
                continue
        elif text[i - 1 : i] in "<>!=" or text[i + 1 : i + 2] in "=>":
            continue  # <=, >=, !=, <>, => are not equality
        parts.append(text[start:i])
        start = i + size
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _strip_parens(text: str) -> str:
    text = " ".join(text.split())
    while text.startswith("(") and text.endswith(")"):
        depth_zero_inside = any(d == 0 for i, _, d in _scan(text) if 0 < i < len(text) - 1)
        if depth_zero_inside:
            break
        text = text[1:-1].strip()
    return text


_CAST = re.compile(r'::\s*(?:"[^"]+"|[a-z_][a-z0-9_ ]*)(?:\[\])?$', re.IGNORECASE)


def _bare(text: str) -> str:
    """``text`` without its outer parentheses and trailing casts (``(x)::uuid`` -> ``x``)."""
    while True:
        stripped = _strip_parens(text)
        uncast = _CAST.sub("", stripped).strip()
        if uncast == text:
            return uncast
        text = uncast


_SETTING = re.compile(
    r"^(?:pg_catalog\.)?current_setting\('(?P<name>(?:[^']|'')*)'(?:::text)?(?:,\s*(?:true|false))?\)$",
    re.IGNORECASE,
)
_SUBSELECT = re.compile(
    r"^SELECT\s+(?P<expr>.*?)(?:\s+AS\s+\"?[A-Za-z_][A-Za-z0-9_$]*\"?)?$", re.IGNORECASE | re.S
)
_NULLIF = re.compile(r"^NULLIF\((?P<expr>.*),\s*''(?:::text)?\)$", re.IGNORECASE | re.S)


def _setting_read(text: str) -> str | None:
    """The setting name an operand reads: ``current_setting('x')``, optionally wrapped in
    ``NULLIF(..., '')``, casts and a scalar ``(SELECT ...)``; None for anything else."""
    text = _bare(text)
    for wrapper in (_SUBSELECT, _NULLIF):
        match = wrapper.match(text)
        if match:
            return _setting_read(match["expr"])
    match = _SETTING.match(text)
    return match["name"].replace("''", "'") if match else None


def _is_column(text: str, column: str) -> bool:
    name = r'(?:"?[A-Za-z_][A-Za-z0-9_$]*"?\.)?'
    return re.fullmatch(name + rf'"?{re.escape(column)}"?', _bare(text)) is not None


def tenant_predicate(expr: str, column: str, setting: str) -> Verdict:
    """Whether ``expr`` (as ``pg_get_expr`` prints it) only admits rows whose ``column``
    equals the tenant ``setting``: the tenant predicate itself, a conjunction with it, or
    a disjunction of such. Anything it cannot prove is not ok, with the reason."""
    text = _strip_parens(expr)
    shown = text if len(text) <= 100 else text[:97] + "..."
    disjuncts = _split(text, "OR")
    if len(disjuncts) > 1:
        for part in disjuncts:
            verdict = tenant_predicate(part, column, setting)
            if not verdict.ok:
                return Verdict(
                    False,
                    f"ORs `{_strip_parens(part)}` with it: rows matching that branch are visible to every tenant"
                    f" ({verdict.reason})",
                )
        return Verdict(True)
    conjuncts = _split(text, "AND")
    if len(conjuncts) > 1:
        verdicts = [tenant_predicate(part, column, setting) for part in conjuncts]
        if any(v.ok for v in verdicts):
            return Verdict(True)
        return Verdict(False, f"no AND-ed term is the tenant predicate ({verdicts[0].reason})")
    if text.lower() == "false":
        return Verdict(True)  # admits no row
    if text.lower() == "true":
        return Verdict(False, "is `true`, which admits every row")
    sides = _split(text, "=")
    if len(sides) != 2:
        return Verdict(False, f"cannot verify `{shown}`: not an equality of {column} with the tenant setting")
    left, right = sides
    other = right if _is_column(left, column) else left if _is_column(right, column) else None
    if other is None:
        return Verdict(
            False, f"cannot verify `{shown}`: it does not compare {column} with the tenant setting"
        )
    read = _setting_read(other)
    if read is None:
        return Verdict(
            False,
            f"cannot verify `{shown}`: it compares {column} with something other than current_setting()",
        )
    if read != setting:
        return Verdict(False, f"reads the setting {read}, not the tenant setting {setting}")
    return Verdict(True)


_VERBS = {"SELECT": "read", "UPDATE": "update", "DELETE": "delete", "INSERT": "insert"}


Exprs = list[tuple[Policy, str]]


def _split_kinds(applicable: Sequence[Policy], side: str) -> tuple[Exprs, Exprs]:
    """The (policy, expression) pairs on ``side``: permissive ones, restrictive ones."""
    exprs = [(p, e) for p in applicable if (e := p.expression(side)) is not None]
    return [(p, e) for p, e in exprs if p.permissive], [(p, e) for p, e in exprs if not p.permissive]


def _admits_nothing(applicable: Sequence[Policy], side: str) -> bool:
    """Whether the policies provably admit no row on ``side`` (their combination is false)."""
    permissive, restrictive = _split_kinds(applicable, side)
    return all(_is_false(e) for _, e in permissive) or any(_is_false(e) for _, e in restrictive)


def _is_false(expr: str) -> bool:
    return _strip_parens(expr).lower() == "false"


def _short(expr: str) -> str:
    text = " ".join(expr.split())
    return text if len(text) <= 120 else text[:117] + "..."


def judge_policies(
    policies: Sequence[Policy], table: str, column: str, setting: str, role: str
) -> list[PolicyProblem]:
    """Every way ``policies`` (the whole set of one table with row-level security on) fail
    to restrict runtime role ``role`` to the tenant predicate, as PostgreSQL combines them."""
    if not policies:
        return []
    verdicts: dict[str, Verdict] = {}

    def verdict(expr: str) -> Verdict:
        if expr not in verdicts:
            verdicts[expr] = tenant_predicate(expr, column, setting)
        return verdicts[expr]

    # (policy name, expression, reason) -> side -> commands it opens
    opened: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    denied: list[str] = []
    for command, sides in SIDES.items():
        applicable = [p for p in policies if p.applies and p.command in (command, "ALL")]
        if not _split_kinds(applicable, sides[0])[0]:
            denied.append(command)
            continue
        # an UPDATE needs a row USING admits and a new row WITH CHECK admits: when either
        # side admits nothing, no UPDATE succeeds, and the other side cannot leak
        if len(sides) > 1 and any(_admits_nothing(applicable, side) for side in sides):
            continue
        for side in sides:
            permissive, restrictive = _split_kinds(applicable, side)
            if any(verdict(e).ok for _, e in restrictive):
                continue
            for p, e in permissive:
                v = verdict(e)
                if not v.ok:
                    opened.setdefault((p.name, e, v.reason), {}).setdefault(side, []).append(command)
    by_name = {p.name: p for p in policies}
    problems: list[PolicyProblem] = []
    guards = [
        p
        for p in policies
        if not p.permissive and not p.applies and p.using is not None and verdict(p.using).ok
    ]
    for (name, expr, reason), opens in opened.items():
        p = by_name[name]
        if set(opens) == {"using"}:
            clause = "USING"
        elif set(opens) == {"check"}:
            clause = "WITH CHECK" if p.check is not None else "WITH CHECK (defaulting to USING)"
        else:
            clause = "USING and WITH CHECK" if p.check is not None else "USING (which WITH CHECK defaults to)"
        effects = []
        if "using" in opens:
            effects.append(f"can {'/'.join(_VERBS[c] for c in opens['using'])} rows of every tenant")
        if "check" in opens:
            effects.append(f"can {'/'.join(_VERBS[c] for c in opens['check'])} rows for another tenant")
        effect = " and ".join(effects)
        others = [q.name for q in policies if q.permissive and q.name != name and q.applies]
        ored = f"; permissive policies are ORed, so {', '.join(others)} cannot close it" if others else ""
        unguarded = (
            "; restrictive " + ", ".join(f"{g.name} applies TO {g.to} only, not to {role}" for g in guards)
            if guards
            else ""
        )
        problems.append(
            PolicyProblem(
                name,
                f"policy {name} on {table} ({p.kind}, FOR {p.command}, TO {p.to}) {clause} ({_short(expr)}) "
                f"{reason}: runtime role {role} {effect}{ored}{unguarded}",
            )
        )
    if len(denied) == len(SIDES):
        elsewhere = [p for p in policies if not p.applies]
        why = ": " + ", ".join(f"{p.name} applies TO {p.to} only" for p in elsewhere) if elsewhere else ""
        problems.append(
            PolicyProblem(
                "",
                f"no permissive policy on {table} applies to runtime role {role}{why}; "
                f"every query as {role} returns no rows (add the tenant policy TO PUBLIC or TO {role})",
            )
        )
    return problems
