"""How fast is ``scaffold migrate-viewsets --check`` on a big, messy codebase?

Generates a synthetic Django/DRF project (default 150 apps: >= 3,000 files, >= 500k lines:
models, views, serializers, urls, admin, services, filters, tasks, tests, migrations, about
2% files that do not parse, a ``.venv`` folder full of library code and a backup folder,
both to be excluded), then, in the same run and on the same file list:

* **baseline**: what a naive codemod does, ``libcst.parse_module`` on every file, on all
  cores (a process pool of ``os.cpu_count()`` workers);
* **migrate-viewsets --check** (cold: no cache), through the library API, same cores;
* the same from the command line, cold and **warm** (content-hash cache populated).

It prints medians and the ratio scaffold / baseline (target <= 0.10, goal <= 0.05) and the
warm re-run time (target <= 0.3 s).

Usage::

    .venv/bin/python benchmarks/codemod_speed.py [--apps 150] [--repeat 3] [--keep DIR]

Other tools plug in with :func:`add_tool` (``scaffold audit`` does, see the bottom), timed
against the same baseline in the same run.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# -- the corpus ----------------------------------------------------------------------------

FIELDS = [
    ("name", "models.CharField(max_length=200)"),
    ("code", "models.CharField(max_length=40, db_index=True)"),
    ("notes", "models.TextField(blank=True)"),
    ("amount", "models.DecimalField(max_digits=12, decimal_places=2, default=0)"),
    ("quantity", "models.PositiveIntegerField(default=0)"),
    ("active", "models.BooleanField(default=True)"),
    ("created_at", "models.DateTimeField(auto_now_add=True)"),
    ("updated_at", "models.DateTimeField(auto_now=True)"),
    ("email", "models.EmailField(blank=True)"),
]


def _camel(word: str) -> str:
    return "".join(p.capitalize() for p in word.split("_"))


def models_py(rng: random.Random, app: str, entities: list[str]) -> str:
    out = ["import uuid\n", "\nfrom django.db import models\n"]
    for i, ent in enumerate(entities):
        cls = _camel(ent)
        tenant = i != len(entities) - 1  # the last one is a lookup table without tenant
        out.append(f"\n\nclass {cls}(models.Model):\n")
        out.append(f'    """A {ent.replace("_", " ")} of the {app} module."""\n\n')
        out.append("    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)\n")
        if tenant:
            out.append("    tenant_id = models.UUIDField(db_index=True)\n")
        for name, field in rng.sample(FIELDS, rng.randint(4, len(FIELDS))):
            out.append(f"    {name} = {field}\n")
        out.append("\n    class Meta:\n        ordering = ['-created_at']\n")
        out.append(f'\n    def __str__(self):\n        return f"{cls} {{self.pk}}"\n')
    return "".join(out)


def views_py(rng: random.Random, app: str, entities: list[str], leaky: bool) -> str:
    names = ", ".join(_camel(e) for e in entities)
    sers = ", ".join(_camel(e) + "Serializer" for e in entities)
    out = [
        "from rest_framework import status, viewsets\n",
        "from rest_framework.decorators import action\n",
        "from rest_framework.exceptions import PermissionDenied\n",
        "from rest_framework.permissions import IsAuthenticated\n",
        "from rest_framework.response import Response\n\n",
        f"from {app}.models import {names}\n",
        f"from {app}.serializers import {sers}\n",
    ]
    for i, ent in enumerate(entities):
        cls = _camel(ent)
        out.append(f"\n\nclass {cls}ViewSet(viewsets.ModelViewSet):\n")
        out.append(f'    """CRUD for {ent.replace("_", " ")}s."""\n\n')
        out.append(f"    serializer_class = {cls}Serializer\n")
        if leaky and i == 0:
            out.append(
                f"\n    def get_queryset(self):\n        return {cls}.objects.all()  # trusts the manager\n"
            )
        else:
            out.append("    permission_classes = [IsAuthenticated]\n")
            out.append(
                "\n    def get_queryset(self):\n"
                '        tenant_id = getattr(self.request.user, "tenant_id", None)\n'
                "        if not tenant_id:\n"
                '            raise PermissionDenied("User is not associated with a tenant.")\n'
                f"        return {cls}.objects.filter(tenant_id=tenant_id)\n"
                "\n    def perform_create(self, serializer):\n"
                '        tenant_id = getattr(self.request.user, "tenant_id", None)\n'
                "        if not tenant_id:\n"
                '            raise PermissionDenied("User is not associated with a tenant.")\n'
                "        serializer.save(tenant_id=tenant_id)\n"
            )
        for j in range(rng.randint(1, 3)):
            out.append(
                f"\n    @action(detail=True, methods=['post'])\n"
                f"    def action_{j}(self, request, pk=None):\n"
                f"        obj = self.get_object()\n"
                f"        if not obj.active:\n"
                f"            return Response({{'detail': 'inactive'}}, status=status.HTTP_400_BAD_REQUEST)\n"
                f"        obj.save(update_fields=['updated_at'])\n"
                f"        return Response(self.get_serializer(obj).data)\n"
            )
    return "".join(out)


def serializers_py(app: str, entities: list[str]) -> str:
    out = [
        "from rest_framework import serializers\n\n",
        f"from {app}.models import {', '.join(_camel(e) for e in entities)}\n",
    ]
    for ent in entities:
        cls = _camel(ent)
        out.append(
            f"\n\nclass {cls}Serializer(serializers.ModelSerializer):\n"
            f"    class Meta:\n        model = {cls}\n        fields = '__all__'\n"
            f"        read_only_fields = ['id', 'tenant_id', 'created_at']\n"
            f"\n    def validate_name(self, value):\n        if not value.strip():\n"
            f"            raise serializers.ValidationError('required')\n        return value.strip()\n"
        )
    return "".join(out)


def urls_py(app: str, entities: list[str]) -> str:
    regs = "".join(f'router.register("{e}s", views.{_camel(e)}ViewSet, basename="{e}")\n' for e in entities)
    return (
        "from rest_framework.routers import DefaultRouter\n\n"
        f"from {app} import views\n\nrouter = DefaultRouter()\n{regs}\nurlpatterns = router.urls\n"
    )


def services_py(rng: random.Random, app: str, entities: list[str], n_funcs: int) -> str:
    out = ["import logging\nfrom decimal import Decimal\n\n", "from django.db import transaction\n\n"]
    out.append(
        f"from {app}.models import {', '.join(_camel(e) for e in entities)}\n\nlogger = logging.getLogger(__name__)\n"
    )
    for i in range(n_funcs):
        ent = rng.choice(entities)
        cls = _camel(ent)
        out.append(
            f"\n\ndef compute_{ent}_{i}(tenant_id, items, *, rate=Decimal('0.2')):\n"
            f'    """Compute totals for {ent} batch {i}."""\n'
            f"    total = Decimal(0)\n"
            f"    seen = set()\n"
            f"    for item in items:\n"
            f"        if item['code'] in seen:\n"
            f"            logger.warning('duplicate %s', item['code'])\n"
            f"            continue\n"
            f"        seen.add(item['code'])\n"
            f"        amount = Decimal(item.get('amount', 0)) * (1 + rate)\n"
            f"        if amount < 0:\n"
            f"            raise ValueError(f'negative amount for {{item[\"code\"]}}')\n"
            f"        total += amount\n"
            f"    with transaction.atomic():\n"
            f"        {cls}.objects.filter(tenant_id=tenant_id, code__in=seen).update(active=True)\n"
            f"    return {{'total': total, 'count': len(seen), 'batch': {i}}}\n"
        )
    return "".join(out)


def filters_py(app: str, entities: list[str]) -> str:
    out = [
        "import django_filters\n\n",
        f"from {app}.models import {', '.join(_camel(e) for e in entities)}\n",
    ]
    for ent in entities:
        cls = _camel(ent)
        out.append(
            f"\n\nclass {cls}Filter(django_filters.FilterSet):\n"
            f"    name = django_filters.CharFilter(lookup_expr='icontains')\n\n"
            f"    class Meta:\n        model = {cls}\n        fields = ['name', 'active']\n"
            f"\n    def filter_queryset(self, queryset):\n        return super().filter_queryset(queryset).distinct()\n"
        )
    return "".join(out)


def tests_py(rng: random.Random, app: str, entities: list[str], n: int) -> str:
    out = [
        "import uuid\n\nfrom django.test import TestCase\n\n",
        f"from {app}.models import {_camel(entities[0])}\n",
    ]
    out.append(
        f"\n\nclass {_camel(app)}Tests(TestCase):\n    def setUp(self):\n        self.tenant = uuid.uuid4()\n"
    )
    for i in range(n):
        out.append(
            f"\n    def test_case_{i}(self):\n"
            f"        obj = {_camel(entities[0])}.objects.create(tenant_id=self.tenant, name='n{i}')\n"
            f"        self.assertEqual(str(obj.pk), str(obj.pk))\n"
            f"        self.assertTrue(obj.active)\n"
        )
    return "".join(out)


def migration_py(app: str, i: int, entities: list[str]) -> str:
    ops = "".join(
        f"        migrations.AddField(model_name='{e}', name='extra_{i}', field=models.IntegerField(default=0)),\n"
        for e in entities
    )
    return (
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
        f"    dependencies = [('{app}', '{i - 1:04d}_auto')]\n\n    operations = [\n{ops}    ]\n"
    )


BROKEN = [
    "\ndef broken(:\n    pass\n",
    "\nclass Half(viewsets.ModelViewSet)\n    queryset = None\n",
    "\nif True:\nprint('bad indent')\n",
    "\nx = [1, 2,\n",
]


def generate(root: Path, apps: int, seed: int = 1) -> dict[str, int]:
    """Write the corpus; return counts (files, lines, broken, leaky views, excluded files)."""
    rng = random.Random(seed)
    stats = {"files": 0, "lines": 0, "broken": 0, "leaky_views": 0, "excluded_files": 0}

    def write(rel: str, text: str, excluded: bool = False) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        stats["files"] += 1
        stats["lines"] += text.count("\n")
        stats["excluded_files"] += excluded

    write(
        "manage.py",
        "import os\nimport sys\n\nif __name__ == '__main__':\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')\n",
    )
    write("config/__init__.py", "")
    write("config/settings.py", "INSTALLED_APPS = []\nROOT_URLCONF = 'config.urls'\n")
    for a in range(apps):
        app = f"module_{a:03d}"
        entities = [
            f"{w}_{a}"
            for w in rng.sample(
                ["order", "item", "invoice", "supplier", "contract", "asset", "ticket", "lead"], 4
            )
        ]
        leaky = rng.random() < 0.15
        stats["leaky_views"] += leaky
        files = {
            f"{app}/__init__.py": "",
            f"{app}/apps.py": f"from django.apps import AppConfig\n\n\nclass {_camel(app)}Config(AppConfig):\n    name = '{app}'\n",
            f"{app}/models.py": models_py(rng, app, entities),
            f"{app}/views.py": views_py(rng, app, entities, leaky),
            f"{app}/serializers.py": serializers_py(app, entities),
            f"{app}/urls.py": urls_py(app, entities),
            f"{app}/admin.py": "from django.contrib import admin\n\n"
            + "".join(f"# admin for {e}\n" for e in entities),
            f"{app}/filters.py": filters_py(app, entities),
            f"{app}/services.py": services_py(rng, app, entities, rng.randint(75, 95)),
            f"{app}/selectors.py": services_py(rng, app, entities, rng.randint(45, 60)),
            f"{app}/tasks.py": services_py(rng, app, entities, rng.randint(18, 28)),
            f"{app}/tests/__init__.py": "",
            f"{app}/tests/test_models.py": tests_py(rng, app, entities, rng.randint(45, 70)),
            f"{app}/tests/test_api.py": tests_py(rng, app, entities, rng.randint(45, 70)),
            f"{app}/migrations/__init__.py": "",
        }
        for i in range(1, 6):
            files[f"{app}/migrations/{i:04d}_auto.py"] = migration_py(app, i, entities)
        for rel, text in files.items():
            if text and rng.random() < 0.02:
                text += rng.choice(BROKEN)
                stats["broken"] += 1
            write(rel, text, excluded="/migrations/" in rel)
    # library code in a virtualenv and an old backup copy: both must be excluded
    for i in range(150):
        write(
            f".venv/lib/python3.12/site-packages/lib{i}/core.py",
            services_py(rng, "lib", ["thing"], 10).replace("from lib.models", "from .models"),
            True,
        )
    for i in range(20):
        write(f"backup_2023/views_{i}.py", views_py(rng, "module_000", ["order_0"], True), True)
    return stats


# -- the runs ------------------------------------------------------------------------------


def _libcst_parse(path: str) -> bool:
    import libcst

    try:
        libcst.parse_module(Path(path).read_bytes())
        return True
    except Exception:
        return False


def baseline(root: Path, files: list[str]) -> float:
    """Naive: libcst-parse every file the command would consider, on all cores."""
    start = time.perf_counter()
    with cf.ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        list(pool.map(_libcst_parse, files, chunksize=16))
    return time.perf_counter() - start


def time_migrate(root: Path) -> float:
    from scaffold.migrate import migrate_viewsets

    start = time.perf_counter()
    result = migrate_viewsets(root, check=True, cache=False)
    elapsed = time.perf_counter() - start
    assert result.report.rewritten, "the corpus has leaky views: --check must find them"
    return elapsed


# What a user runs: an installed package has its bytecode (pip compiles it), so the CLI is
# timed with bytecode writing allowed, after one warm-up run has written it.
CLI_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_cli(root: Path, *args: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", *args, "--project", str(root)],
        capture_output=True,
        text=True,
        env=CLI_ENV,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"scaffold {' '.join(args)} failed:\n{proc.stderr}")
    return elapsed


TOOLS: dict[str, Callable[[Path], float]] = {"migrate-viewsets --check": time_migrate}


def add_tool(name: str, fn: Callable[[Path], float]) -> None:
    """Time another engine-based command (e.g. ``audit``) against the same baseline.

    ``fn(root) -> seconds`` runs it once, cold (no cache), on the corpus at ``root``.
    """
    TOOLS[name] = fn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=150, help="apps to generate (20 files each)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--keep", type=Path, default=None, help="generate into DIR and keep it")
    args = parser.parse_args(argv)

    tmp = None
    if args.keep:
        root = args.keep
        if root.exists():
            shutil.rmtree(root)
    else:
        tmp = tempfile.mkdtemp(prefix="scaffold-bench-")
        root = Path(tmp) / "project"
    try:
        stats = generate(root, args.apps)
        from scaffold.config import Config
        from scaffold.project import iter_python_files

        files = [str(s.path) for s in iter_python_files(root, Config(root).exclude_globs)]
        print(
            f"corpus: {stats['files']} files, {stats['lines']} lines, {stats['broken']} unparsable, "
            f"{stats['leaky_views']} leaky views files, {stats['excluded_files']} files in excluded folders "
            f"(.venv, backup_*, migrations); {len(files)} files considered; {os.cpu_count()} cores"
        )
        base = [baseline(root, files) for _ in range(args.repeat)]
        base_med = statistics.median(base)
        print(
            f"baseline (libcst.parse_module on every considered file, {os.cpu_count()} procs): median {base_med:.2f} s"
        )
        for name, fn in TOOLS.items():
            runs = [fn(root) for _ in range(args.repeat)]
            med = statistics.median(runs)
            print(f"{name}: median {med:.3f} s  ratio {med / base_med:.3f}  (target <= 0.10, goal <= 0.05)")
        time_cli(root, "migrate-viewsets", "--check", "--no-cache")  # warm-up: writes the bytecode
        cold_cli = [time_cli(root, "migrate-viewsets", "--check", "--no-cache") for _ in range(args.repeat)]
        print(
            f"CLI migrate-viewsets --check, cold (process start included): median {statistics.median(cold_cli):.3f} s"
        )
        time_cli(root, "migrate-viewsets", "--check")  # populate the cache
        warm = [time_cli(root, "migrate-viewsets", "--check") for _ in range(args.repeat)]
        print(
            f"CLI migrate-viewsets --check, warm cache (process start included): median {statistics.median(warm):.3f} s  (target <= 0.3 s)"
        )
        time_cli(root, "audit")  # populate the audit cache
        warm_audit = [time_cli(root, "audit") for _ in range(args.repeat)]
        print(f"CLI audit, warm cache (process start included): median {statistics.median(warm_audit):.3f} s")
        from scaffold.migrate import migrate_viewsets

        warm_api = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            migrate_viewsets(root, check=True)
            warm_api.append(time.perf_counter() - start)
        print(f"library migrate_viewsets(check=True), warm cache: median {statistics.median(warm_api):.3f} s")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


# -- hooks: other engine-based tools add their timing here -----------------------------------
# e.g. (scaffold audit):
#     def time_audit(root: Path) -> float: ...
#     add_tool("audit", time_audit)


def time_audit(root: Path) -> float:
    """``scaffold audit`` (every static rule), cold: no cache, the same engine and corpus."""
    from scaffold.audit import audit

    start = time.perf_counter()
    report = audit(root, cache=False)
    elapsed = time.perf_counter() - start
    assert any(f.code == "TEN001" for f in report.findings), (
        "the corpus has leaky views: audit must find them"
    )
    return elapsed


add_tool("audit", time_audit)


if __name__ == "__main__":
    raise SystemExit(main())
