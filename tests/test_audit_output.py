"""The three output formats and the exit codes of ``scaffold audit``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaffold.cli import main
from tests.helpers.audit_fixtures import audit_fixture


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return audit_fixture("TEN001", tmp_path)


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    rc = main(["audit", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_text(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = run(capsys, "--project", str(project), "--select", "TEN001", "--no-cache")
    assert rc == 1
    lines = out.splitlines()
    assert lines[1] == (
        "shop/views.py:16:5: TEN001 AttrOnly.queryset returns Order rows that are not scoped to the "
        "requesting tenant: the queryset is not filtered by tenant_id"
    )
    assert lines[0].startswith("shop/views.py:14:1: TEN001 AttrOnly creates Order rows without stamping")
    assert lines[-1].startswith("Found 8 findings (5 fixable with `scaffold fix`)")


def test_json(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = run(
        capsys, "--project", str(project), "--select", "TEN001", "--format", "json", "--no-cache"
    )
    assert rc == 1
    data = json.loads(out)
    first = data["findings"][1]
    assert set(first) == {"code", "path", "line", "column", "symbol", "message", "fixable"}
    assert (
        first["code"],
        first["path"],
        first["line"],
        first["column"],
        first["symbol"],
        first["fixable"],
    ) == (
        "TEN001",
        "shop/views.py",
        16,
        5,
        "AttrOnly",
        True,
    )
    assert {f["symbol"] for f in data["findings"]} == {
        "AttrOnly",
        "AllInGetQueryset",
        "FallbackBranch",
        "ClientChosenTenant",
        "OrderDetail",
        "OrderStats",
    }
    assert [f["fixable"] for f in data["findings"] if f["symbol"] == "OrderDetail"] == [False, False]


def test_sarif(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = run(capsys, "--project", str(project), "--format", "sarif", "--no-cache")
    assert rc == 1
    log = json.loads(out)
    assert log["version"] == "2.1.0" and "sarif" in log["$schema"]
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert "TEN001" in ids and "TEN060" not in ids  # database rules are not selected without a URL
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["helpUri"].endswith(f"docs/rules/{rule['id']}.md")
        assert rule["help"]["markdown"].startswith(f"# {rule['id']}")
    for result in run_["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "shop/views.py"
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1


def test_sarif_reports_files_that_could_not_be_analyzed(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (project / "shop" / "broken.py").write_text("queryset = (\n")
    rc, out, _ = run(capsys, "--project", str(project), "--format", "sarif", "--no-cache")
    (run_,) = json.loads(out)["runs"]
    (result,) = [r for r in run_["results"] if r["ruleId"] == "TEN090"]  # a result, not a note
    assert result["message"]["text"].startswith("not analyzed: cannot parse:")
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "shop/broken.py", "uriBaseId": "%SRCROOT%"}
    assert "TEN090" in {d["id"] for d in run_["tool"]["driver"]["rules"]}
    assert rc == 1
    # --ignore TEN090 turns it back into a tool notification (still never silent)
    rc, out, _ = run(
        capsys, "--project", str(project), "--format", "sarif", "--no-cache", "--ignore", "TEN090"
    )
    (invocation,) = json.loads(out)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "warning" and note["message"]["text"].startswith("cannot parse:")
    loc = note["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "shop/broken.py", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 1}


def test_summaries_count_in_english(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = run(capsys, "shop/models.py", "--project", str(project), "--no-cache")
    assert out.strip() == "No findings; 1 file scanned, 0 views recognised, 0 analysed."
    (project / "shop" / "broken.py").write_text("queryset = (\n")
    rc, out, _ = run(capsys, "shop/broken.py", "--project", str(project), "--no-cache")
    assert (
        out.strip().splitlines()[-1]
        == "Found 1 finding; 1 file scanned, 0 views recognised, 0 analysed, 1 could not be analyzed."
    )
    assert rc == 1
    assert main(["migrate-viewsets", "shop/models.py", "--project", str(project), "--no-cache"]) == 0
    assert capsys.readouterr().out.startswith("1 file scanned, 0 views recognised, 0 analysed, 0 to rewrite,")
    assert main(["fix", "shop/models.py", "--project", str(project), "--no-cache"]) == 0
    assert capsys.readouterr().out.startswith("1 file scanned, 0 views recognised, 0 analysed, 0 to fix,")


def test_clean_is_exit_0_and_paths_limit_the_run(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = run(capsys, str(project / "shop" / "models.py"), "--project", str(project), "--no-cache")
    assert rc == 0 and out.startswith("No findings")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--select", "TEN999"], "unknown rule code 'TEN999'"),
        (["--ignore", "XYZ"], "unknown rule code 'XYZ'"),
        (["--select", "TEN061"], "pass --database-url"),
        (["--select", "TEN06"], "TEN06 (TEN060-TEN064) query a live database; pass --database-url URL"),
        (
            ["--select", "TEN001,TEN06"],
            "TEN06 (TEN060-TEN064) query a live database; pass --database-url URL",
        ),
        (["no/such/file.py"], "no such file or directory"),
        (["--format", "xml"], "error:"),
        (["--jobs", "0"], "--jobs 0: must be 1 or more"),
    ],
)
def test_usage_errors_exit_2(project: Path, capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = run(capsys, "--project", str(project), "--no-cache", *args)
    assert rc == 2 and message in err and out == ""
    assert len(err.strip().splitlines()) == 1


def test_a_prefix_of_static_and_database_rules_needs_no_database(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = run(capsys, "--project", str(project), "--select", "TEN0", "--no-cache")
    assert rc == 1 and err == ""


def test_paths_relative_to_the_project(project: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(project.parent)
    rc, out, _ = run(capsys, "shop/models.py", "--project", str(project), "--no-cache")
    assert rc == 0 and "1 file scanned" in out


def test_unparsable_files_are_reported_not_fatal(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (project / "shop" / "broken.py").write_text("queryset = (\n")
    rc, out, err = run(capsys, "--project", str(project), "--select", "TEN001", "--no-cache")
    assert rc == 1 and "shop/broken.py:1:" in out and "TEN090 not analyzed" in out and err == ""
    assert "could not be analyzed" in out


def test_cache_follows_changes_in_other_files(tmp_path: Path) -> None:
    """A warm audit reuses results, but editing a base class in another file invalidates them."""
    from scaffold.audit import audit

    root = audit_fixture("precision", tmp_path)
    first = audit(root, select="TEN001", jobs=1)
    assert (root / ".scaffold-cache").is_dir()
    assert audit(root, select="TEN001", jobs=1).findings == first.findings
    mixins = root / "core" / "mixins.py"
    mixins.write_text(
        mixins.read_text().replace(
            "return super().get_queryset().filter(business_id=self.get_business())",
            "return super().get_queryset()",
        )
    )
    after = audit(root, select="TEN001", jobs=1)
    assert {f.symbol for f in after.findings} - {f.symbol for f in first.findings} == {"InvoiceViewSet"}
