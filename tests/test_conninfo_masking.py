"""No secret of a connection string reaches a message: every form libpq accepts (password in
the URL's userinfo, in its query, as a key=value pair, quoted, malformed, PGPASSWORD), through
the real command line and the real driver's error text (connections to a closed port and to
a database that does not exist)."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from scaffold.cli import main
from scaffold.conninfo import conninfo_from, mask, redact, secrets_in

# (connection string, the secret pieces that must never be printed)
FORMS = [
    ("postgresql://app:S3CRETpw@127.0.0.1:1/db", ["S3CRETpw"]),
    ("postgres://app:S3CRET%40pw@127.0.0.1:1/db", ["S3CRET%40pw", "S3CRET@pw"]),
    ("postgresql://app@127.0.0.1:1/db?password=S3CRETpw", ["S3CRETpw"]),
    ("postgresql://app@127.0.0.1:1/db?sslmode=disable&password=S3CRETpw&bogus=1", ["S3CRETpw"]),
    ("postgresql://127.0.0.1:1/db?sslpassword=S3CRETkey", ["S3CRETkey"]),
    ("postgresql://app:S3C@RETpw@127.0.0.1:1/db", ["S3C@RETpw", "RETpw"]),
    # an "@" in the query (application_name, options) does not end the userinfo there
    ("postgresql://app@127.0.0.1:1/db?password=S3CRETpw&application_name=ops@example", ["S3CRETpw"]),
    ("postgresql://app:S3C?RETpw@127.0.0.1:1/db", ["S3C?RETpw"]),
    ("postgresql://app:S3C@R?ETpw@127.0.0.1:1/db", ["S3C@R?ETpw", "R?ETpw"]),
    ("host=127.0.0.1 port=1 user=app password=S3CRETpw", ["S3CRETpw"]),
    ("host=127.0.0.1 port=1 password = S3CRETpw dbname=db", ["S3CRETpw"]),
    ("host=127.0.0.1 port=1 password='S3C RETpw'", ["S3C RETpw"]),
    ("host=127.0.0.1 port=1 password=S3C RETpw", ["S3C", "RETpw"]),  # malformed: libpq quotes "RETpw"
    ("host=127.0.0.1 port=1 password=S3CRETpw bogus=1", ["S3CRETpw"]),
    ("host=127.0.0.1 dbname=scaffold_no_such_db password=S3CRETpw", ["S3CRETpw"]),
    ("postgresql://postgres:S3CRETpw@127.0.0.1:5432/scaffold_no_such_db", ["S3CRETpw"]),
]


@pytest.mark.parametrize(("url", "secrets"), FORMS)
def test_redact_and_mask_hide_every_piece(url: str, secrets: list[str]) -> None:
    shown = redact(url)
    assert "***" in shown
    for secret in secrets:
        assert secret not in shown
        assert secret not in mask(f"x {secret} y", url)
    assert secrets_in(url)


def test_nothing_to_hide_is_left_as_is() -> None:
    assert (
        redact("postgresql://app@db:5432/app?sslmode=require")
        == "postgresql://app@db:5432/app?sslmode=require"
    )
    assert redact("host=db port=5432 dbname=app") == "host=db port=5432 dbname=app"


def test_an_at_sign_in_the_query_does_not_end_the_userinfo() -> None:
    """The password in the query is found and masked where it stands, although an "@"
    follows it (application_name=a@b); the host stays readable."""
    assert redact("postgresql://app@db/x?password=S3CRETpw&application_name=a@b") == (
        "postgresql://app@db/x?password=***&application_name=a@b"
    )


@pytest.mark.parametrize(("url", "secrets"), FORMS)
def test_audit_error_message_never_prints_the_secret(
    url: str, secrets: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manage.py").write_text("")
    code = main(
        ["audit", "--project", str(tmp_path), "--select", "TEN06", "--database-url", url, "--no-cache"]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("error: --database-url ") and err.count("\n") == 1, err
    for secret in secrets:
        assert secret not in out + err, err


def test_pgpassword_from_the_environment_is_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", "EnvS3CRET")
    url = "host=127.0.0.1 port=1 dbname=EnvS3CRET"  # the env secret echoed back in the error
    (tmp_path / "manage.py").write_text("")
    assert main(["audit", "--project", str(tmp_path), "--select", "TEN06", "--database-url", url]) == 2
    assert "EnvS3CRET" not in capsys.readouterr().err


def test_parameters_quoted_as_a_connection_string_mask_every_secret() -> None:
    """conninfo_from: how a caller holding parameters (the probe, Django's DATABASES) masks."""
    conninfo = conninfo_from([("password", "pa ss'w\\rd"), ("sslpassword", "K3Y"), ("user", None)])
    assert conninfo == "password='pa ss\\'w\\\\rd' sslpassword='K3Y'"
    # quoted as libpq reads it
    assert conninfo_to_dict(conninfo) == {"password": "pa ss'w\\rd", "sslpassword": "K3Y"}
    assert mask("login with pa ss'w\\rd and K3Y failed", conninfo, quoted=False) == (
        "login with *** and *** failed"
    )
    assert conninfo_from([("password", ""), ("password", None)]) == ""
