"""Registration into computed settings and urlconfs, and into files in other encodings.

The fix scaffold suggested for these ("add it by hand") used to loop: after the hand edit
the re-run refused again. Now cookiecutter-django's ``DJANGO_APPS + THIRD_PARTY_APPS +
LOCAL_APPS`` and ``[...] + i18n_patterns(...)`` are edited, an entry present anywhere in
the expression counts as registered, and PEP 263 / BOM files are read and written back in
their encoding.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from scaffold.cli import main
from scaffold.errors import SourceError
from scaffold.fsutil import ChangeSet
from scaffold.registration import (
    add_expression_to_sequence,
    add_installed_app,
    add_to_sequence,
    pending_text,
    sequence_values,
)
from tests.test_init import snapshot, write

COOKIECUTTER = """\
DJANGO_APPS = [
    "django.contrib.auth",
]
THIRD_PARTY_APPS = ["rest_framework"]
LOCAL_APPS = [
    "proj.users",  # custom user
    # Your stuff: custom apps go here
]
# https://docs.djangoproject.com/en/dev/ref/settings/#installed-apps
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS
"""


def test_cookiecutter_apps_go_into_local_apps() -> None:
    out = add_to_sequence(COOKIECUTTER, "INSTALLED_APPS", "shop")
    assert out == COOKIECUTTER.replace(
        "    # Your stuff: custom apps go here\n]",
        '    # Your stuff: custom apps go here\n    "shop",\n]',
    )
    assert out.endswith("INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS\n")
    assert add_to_sequence(out, "INSTALLED_APPS", "shop") == out
    assert "shop" in sequence_values(out, "INSTALLED_APPS")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "BASE = ['a']\nINSTALLED_APPS = BASE + ['b']\n",
            "BASE = ['a']\nINSTALLED_APPS = BASE + ['b', 'shop']\n",
        ),
        (
            "A = ['a']\nB = ('b',)\nINSTALLED_APPS = A + B\n",
            "A = ['a']\nB = ('b', 'shop')\nINSTALLED_APPS = A + B\n",
        ),
        ("A = ['a']\nINSTALLED_APPS = A + other()\n", "A = ['a', 'shop']\nINSTALLED_APPS = A + other()\n"),
    ],
    ids=["inline-last", "last-name", "name-before-call"],
)
def test_concatenation_appends_to_the_last_literal(source: str, expected: str) -> None:
    assert add_to_sequence(source, "INSTALLED_APPS", "shop") == expected


@pytest.mark.parametrize(
    "source",
    [
        "INSTALLED_APPS = BASE + apps() + ['shop']\n",
        "INSTALLED_APPS = BASE + (['shop'] if DEBUG else [])\n",
        "INSTALLED_APPS = list(APPS) + extra('shop')\n",
        "INSTALLED_APPS = BASE + apps()\nINSTALLED_APPS += ['shop']\n",
    ],
)
def test_entry_added_by_hand_anywhere_is_done(source: str) -> None:
    assert add_to_sequence(source, "INSTALLED_APPS", "shop") == source


URLS = """\
from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
] + i18n_patterns(
    path("pages/", include("pages.urls")),
)
"""
ENTRY = 'path("api/shop/", include("shop.urls"))'


def _mentions_shop(node: cst.BaseExpression) -> bool:
    return "shop.urls" in cst.Module([]).code_for_node(node)


def test_urlpatterns_plus_i18n_patterns_gets_the_route_in_the_first_list() -> None:
    out = add_expression_to_sequence(URLS, "urlpatterns", ENTRY, present=_mentions_shop)
    assert out == URLS.replace(
        '    path("admin/", admin.site.urls),\n]',
        '    path("admin/", admin.site.urls),\n    path("api/shop/", include("shop.urls")),\n]',
    )
    assert add_expression_to_sequence(out, "urlpatterns", ENTRY, present=_mentions_shop) == out
    # a route the user put inside i18n_patterns(...) by hand counts
    by_hand = URLS.replace('    path("pages/"', f'    {ENTRY},\n    path("pages/"')
    assert add_expression_to_sequence(by_hand, "urlpatterns", ENTRY, present=_mentions_shop) == by_hand


def test_bom_is_kept_by_the_text_functions() -> None:
    src = "\ufeffINSTALLED_APPS = ['a']\n"
    assert add_to_sequence(src, "INSTALLED_APPS", "shop") == "\ufeffINSTALLED_APPS = ['a', 'shop']\n"
    assert sequence_values(src, "INSTALLED_APPS") == ["a"]
    urls = "\ufeff" + URLS
    out = add_expression_to_sequence(urls, "urlpatterns", ENTRY, present=_mentions_shop)
    assert out.startswith("\ufefffrom django") and ENTRY in out


def _settings(tmp_path: Path, data: bytes) -> Path:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_bytes(b"")
    (tmp_path / "proj" / "settings.py").write_bytes(data)
    return tmp_path / "proj" / "settings.py"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            b'\xef\xbb\xbfINSTALLED_APPS = [\r\n    "a",\r\n]\r\n',
            b'\xef\xbb\xbfINSTALLED_APPS = [\r\n    "a",\r\n    "shop",\r\n]\r\n',
        ),
        (
            b'# -*- coding: latin-1 -*-\n# Caf\xe9\nNAME = "\xe9t\xe9"\nINSTALLED_APPS = ["a"]\n',
            b'# -*- coding: latin-1 -*-\n# Caf\xe9\nNAME = "\xe9t\xe9"\nINSTALLED_APPS = ["a", "shop"]\n',
        ),
    ],
    ids=["utf8-bom-crlf", "latin-1-cookie"],
)
def test_settings_in_their_encoding(tmp_path: Path, before: bytes, after: bytes) -> None:
    path = _settings(tmp_path, before)
    changes = ChangeSet()
    assert add_installed_app(tmp_path, "proj.settings", "shop", changes) == [path]
    assert changes.pending(path) == after
    changes.apply()
    again = ChangeSet()
    add_installed_app(tmp_path, "proj.settings", "shop", again)  # present: nothing to do
    assert not again


def test_other_encodings_elsewhere_name_a_fix_that_works(tmp_path: Path) -> None:
    path = tmp_path / "urls.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\n# Caf\xe9\nurlpatterns = []\n")
    with pytest.raises(SourceError) as info:
        pending_text(ChangeSet(), path, "urls.py", "include shop.urls by hand")
    message = str(info.value)
    assert "iso-8859-1" in message and "save it as UTF-8" in message and "by hand" not in message


def test_new_module_in_a_cookiecutter_project_with_odd_encodings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = (
        "# -*- coding: latin-1 -*-\n# R\xe9glages\n"
        + COOKIECUTTER
        + textwrap.dedent(
            """\
            AUTH_USER_MODEL = "users.User"
            ROOT_URLCONF = "proj.urls"
            DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "x"}}
            """
        )
    ).encode("latin-1")
    root = write(
        tmp_path / "site",
        {
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")\n',
            "proj/__init__.py": "",
            "proj/users/__init__.py": "",
            "proj/users/models.py": (
                "from django.db import models\n\n\nclass User(models.Model):\n"
                "    tenant_id = models.UUIDField(null=True)\n"
            ),
        },
    )
    (root / "proj/settings.py").write_bytes(settings)
    (root / "proj/urls.py").write_bytes(b"\xef\xbb\xbf" + URLS.encode())
    assert main(["init", "--no-input", "--project", str(root)]) == 0, capsys.readouterr()
    capsys.readouterr()
    code = main(["new-module", "shop", "--no-input", "--field", "name:str", "--project", str(root)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    data = (root / "proj/settings.py").read_bytes()
    assert data.startswith(b"# -*- coding: latin-1 -*-\n# R\xe9glages\n")
    text = data.decode("latin-1")
    local = text.split("LOCAL_APPS = [", 1)[1].split("]", 1)[0]
    assert '"tenancy"' in local and '"shop"' in local
    assert (root / "proj/urls.py").read_bytes().startswith(b"\xef\xbb\xbffrom django")
    urls = (root / "proj/urls.py").read_bytes().decode("utf-8-sig")
    assert ENTRY in urls.split("] + i18n_patterns(")[0]
    before = snapshot(root)
    code = main(["new-module", "shop", "--no-input", "--field", "name:str", "--project", str(root)])
    out, err = capsys.readouterr()
    assert code == 0 and "already up to date" in out, out + err
    assert snapshot(root) == before


LOCAL = """\
from .base import *  # noqa: F403

INSTALLED_APPS = ["whitenoise.runserver_nostatic", *INSTALLED_APPS]  # noqa: F405
INSTALLED_APPS += ["debug_toolbar"]
"""


@pytest.mark.parametrize(
    "extension",
    [LOCAL, LOCAL.replace('["whitenoise.runserver_nostatic", *INSTALLED_APPS]', 'INSTALLED_APPS + ["x"]')],
)
def test_cookiecutter_local_settings_inherit_the_app_once(tmp_path: Path, extension: str) -> None:
    write(
        tmp_path,
        {
            "config/__init__.py": "",
            "config/settings/__init__.py": "",
            "config/settings/base.py": COOKIECUTTER,
            "config/settings/local.py": extension,
        },
    )
    changes = ChangeSet()
    base = tmp_path / "config/settings/base.py"
    assert add_installed_app(tmp_path, "config.settings.local", "shop", changes) == [base]
    assert [c.path for c in changes] == [base]
    assert '"shop",\n]' in (changes.pending(base) or b"").decode()
    # put into local.py by hand instead: done, base.py is not given a second copy
    (tmp_path / "config/settings/local.py").write_text(extension + 'INSTALLED_APPS += ["shop"]\n')
    again = ChangeSet()
    add_installed_app(tmp_path, "config.settings.local", "shop", again)
    assert not again


def test_an_added_urls_import_keeps_the_bom() -> None:
    from scaffold.newmodule import _ensure_imports

    src = "\ufefffrom django.contrib import admin\nfrom django.urls import path\n\nurlpatterns = []\n"
    out = _ensure_imports(src, "django.urls", ("include", "path"), "urls.py")
    assert out == src.replace("import path", "import include, path")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'INSTALLED_APPS = ["a"]\nINSTALLED_APPS += ["b"]\n',
            'INSTALLED_APPS = ["a", "shop"]\nINSTALLED_APPS += ["b"]\n',
        ),
        (
            'INSTALLED_APPS = get_apps()\nINSTALLED_APPS += ["b"]\n',
            'INSTALLED_APPS = get_apps()\nINSTALLED_APPS += ["b", "shop"]\n',
        ),
    ],
    ids=["the-assignment-itself", "an-extension-when-the-assignment-is-computed"],
)
def test_an_app_goes_into_the_assignment_before_its_extensions(source: str, expected: str) -> None:
    assert add_to_sequence(source, "INSTALLED_APPS", "shop") == expected
    assert add_to_sequence(expected, "INSTALLED_APPS", "shop") == expected
