"""Before/after tests of scaffold.registration.add_to_sequence (libcst list/tuple appends)."""

from __future__ import annotations

import ast
import textwrap

import pytest

from scaffold.errors import SourceError
from scaffold.registration import add_to_sequence, sequence_values


def check(
    before: str,
    after: str,
    value: str = "tenancy",
    name: str = "INSTALLED_APPS",
    **kw: object,
) -> None:
    before = textwrap.dedent(before)
    after = textwrap.dedent(after)
    out = add_to_sequence(before, name, value, **kw)  # type: ignore[arg-type]
    assert out == after
    ast.parse(out)
    # idempotent: a second run changes nothing
    assert add_to_sequence(out, name, value, **kw) == out  # type: ignore[arg-type]


REWRITES = {
    "multi_line_trailing_comma": (
        """\
        INSTALLED_APPS = [
            "django.contrib.admin",
            "crm",
        ]
        """,
        """\
        INSTALLED_APPS = [
            "django.contrib.admin",
            "crm",
            "tenancy",
        ]
        """,
    ),
    "comments_stay_with_their_items": (
        """\
        INSTALLED_APPS = [  # the apps
            "django.contrib.admin",  # admin
            "crm",  # customers
            # "debug_toolbar",
        ]
        DEBUG = True
        """,
        """\
        INSTALLED_APPS = [  # the apps
            "django.contrib.admin",  # admin
            "crm",  # customers
            # "debug_toolbar",
            "tenancy",
        ]
        DEBUG = True
        """,
    ),
    "multi_line_no_trailing_comma": (
        """\
        INSTALLED_APPS = [
            'a',
            'b'
        ]
        """,
        """\
        INSTALLED_APPS = [
            'a',
            'b',
            'tenancy'
        ]
        """,
    ),
    "single_line_list_keeps_quote_style": (
        "INSTALLED_APPS = ['a', 'b']\n",
        "INSTALLED_APPS = ['a', 'b', 'tenancy']\n",
    ),
    "single_element_tuple": (
        "INSTALLED_APPS = ('a',)\n",
        "INSTALLED_APPS = ('a', 'tenancy')\n",
    ),
    "empty_tuple_stays_a_tuple": (
        "INSTALLED_APPS = ()\n",
        'INSTALLED_APPS = ("tenancy",)\n',
    ),
    "empty_list": (
        "INSTALLED_APPS = []\n",
        'INSTALLED_APPS = ["tenancy"]\n',
    ),
    "multi_line_tuple": (
        """\
        INSTALLED_APPS = (
            "a",
            "b",
        )
        """,
        """\
        INSTALLED_APPS = (
            "a",
            "b",
            "tenancy",
        )
        """,
    ),
    "annotated_assignment": (
        "INSTALLED_APPS: list[str] = ['a']\n",
        "INSTALLED_APPS: list[str] = ['a', 'tenancy']\n",
    ),
    "last_assignment_wins": (
        """\
        INSTALLED_APPS = ["old"]
        INSTALLED_APPS = ["a"]
        """,
        """\
        INSTALLED_APPS = ["old"]
        INSTALLED_APPS = ["a", "tenancy"]
        """,
    ),
}


@pytest.mark.parametrize("case", sorted(REWRITES))
def test_rewrites(case: str) -> None:
    before, after = REWRITES[case]
    check(before, after)


def test_class_attribute() -> None:
    check(
        """\
        class OnboardingMiddleware:
            EXEMPT_PATHS = [
                '/api/auth/',
                '/api/crm/',
            ]
            PROTECTED_PATHS = ['/api/dashboard/']
        """,
        """\
        class OnboardingMiddleware:
            EXEMPT_PATHS = [
                '/api/auth/',
                '/api/crm/',
                '/api/inventory/',
            ]
            PROTECTED_PATHS = ['/api/dashboard/']
        """,
        value="/api/inventory/",
        name="EXEMPT_PATHS",
        class_name="OnboardingMiddleware",
    )


def test_crlf_line_endings_are_kept() -> None:
    before = 'INSTALLED_APPS = [\r\n    "a",\r\n]\r\nX = 1\r\n'
    out = add_to_sequence(before, "INSTALLED_APPS", "tenancy")
    assert out == 'INSTALLED_APPS = [\r\n    "a",\r\n    "tenancy",\r\n]\r\nX = 1\r\n'


def test_value_needing_escapes() -> None:
    out = add_to_sequence('X = ["a"]\n', "X", 'say "hi"')
    assert ast.literal_eval(out.split("=", 1)[1].strip()) == ["a", 'say "hi"']


NO_CHANGE = {
    "already_present": 'INSTALLED_APPS = [\n    "tenancy",\n    "crm",\n]\n',
    "already_present_other_quotes": "INSTALLED_APPS = ('crm', 'tenancy')\n",
    "already_added_by_augmented_assign": "INSTALLED_APPS = ['a']\nINSTALLED_APPS += ['tenancy']\n",
}


@pytest.mark.parametrize("case", sorted(NO_CHANGE))
def test_no_change(case: str) -> None:
    src = NO_CHANGE[case]
    assert add_to_sequence(src, "INSTALLED_APPS", "tenancy") == src


@pytest.mark.parametrize(
    ("source", "class_name", "message"),
    [
        (
            "DEBUG = True\n",
            None,
            "no `INSTALLED_APPS = [...]` assignment at module level",
        ),
        ("INSTALLED_APPS = BASE_APPS + apps()\n", None, "none of its parts is a literal list or tuple"),
        ("INSTALLED_APPS = list(APPS)\n", None, "none of its parts is a literal list or tuple"),
        ("def f():\n    INSTALLED_APPS = ['a']\n", None, "no `INSTALLED_APPS"),
        ("INSTALLED_APPS = [\n", None, "cannot parse"),
        ("INSTALLED_APPS = ['a']\n", "Missing", "no class Missing"),
    ],
)
def test_refused(source: str, class_name: str | None, message: str) -> None:
    with pytest.raises(SourceError, match=message.replace("[", r"\[").replace("(", r"\(")):
        add_to_sequence(
            source,
            "INSTALLED_APPS",
            "tenancy",
            class_name=class_name,
            filename="settings.py",
        )


def test_sequence_values() -> None:
    src = "INSTALLED_APPS = ['a', \"b\"]\nINSTALLED_APPS += ('c',)\n"
    assert sequence_values(src, "INSTALLED_APPS") == ["a", "b", "c"]
