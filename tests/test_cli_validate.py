"""``netupdate validate`` through the command line: the four formats, --strict, exit codes,
stdin, directories, many files with some bad (hostile ones included), parallel runs."""

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from netupdate.cli import main

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ROOT / "fixtures" / "networks"
BAD = ROOT / "fixtures" / "bad"
GOOD1, GOOD2 = str(NETWORKS / "nat-default.xml"), str(NETWORKS / "dns-heavy.xml")
DUP_MAC = str(BAD / "duplicate-host-mac.xml")
OVERLAP = str(BAD / "overlapping-ranges.xml")      # a warning only
TEXT_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<path>/\S+): "
                       r"(?P<code>NU-[EWS]\d{3}) (?P<message>.+)$")


def run(capsys, *argv):
    """Run the CLI in this process; returns (exit status, stdout, stderr)."""
    try:
        status = main(["validate", *argv])
    except SystemExit as exc:          # argparse usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def run_process(*argv, stdin: bytes | None = None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "netupdate", "validate", *argv], input=stdin,
                          capture_output=True, env=env, cwd=ROOT)


# ---------------------------------------------------------------------- text
def test_text_reports_every_issue_of_every_file(capsys):
    status, out, err = run(capsys, GOOD1, DUP_MAC, OVERLAP, GOOD2)
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == 2
    first, second = (TEXT_LINE.match(line) for line in lines)
    assert first["file"] == DUP_MAC and first["code"] == "NU-E102"
    assert first["line"] == "9" and first["path"] == "/network/ip/dhcp/host[2]"
    assert second["file"] == OVERLAP and second["code"] == "NU-W101"
    assert "4 files checked, 1 invalid (1 error, 1 warning)" in err


def test_valid_files_print_nothing_and_exit_0(capsys):
    status, out, err = run(capsys, GOOD1, GOOD2)
    assert (status, out) == (0, "")
    assert "2 files checked, all valid" in err


def test_warnings_pass_unless_strict(capsys):
    status, out, _ = run(capsys, OVERLAP)
    assert status == 0 and "NU-W101" in out
    status, out, err = run(capsys, "--strict", OVERLAP)
    assert status == 1 and "NU-W101" in out and "--strict" in err


def test_many_files_with_one_bad_and_hostile_ones(capsys, tmp_path):
    big = tmp_path / "big.xml"
    with open(big, "wb") as handle:
        handle.write(b"<network><name>big</name><description>")
        handle.truncate(50 * 1024 * 1024 + 100)        # 50 MB (sparse) of NUL bytes
    files = [GOOD1, str(big), str(BAD / "billion-laughs.xml"), str(BAD / "xxe-file.xml"),
             str(BAD / "binary-garbage.bin"), str(BAD / "not-xml.txt"),
             str(tmp_path / "missing.xml"), DUP_MAC, GOOD2]
    status, out, err = run(capsys, "--format", "json", *files)
    assert status == 1
    report = json.loads(out)
    assert [r["file"] for r in report] == files
    assert [r["valid"] for r in report] == [True] + [False] * 7 + [True]
    first_codes = [r["issues"][0]["code"] if r["issues"] else None for r in report]
    assert first_codes == [None, "NU-E003", "NU-E002", "NU-E002", "NU-E004", "NU-E001",
                           "NU-E005", "NU-E102", None]
    assert "9 files checked, 7 invalid" in err


# ---------------------------------------------------------------------- json
def test_json_format(capsys):
    status, out, _ = run(capsys, "--format", "json", GOOD1, DUP_MAC, OVERLAP)
    assert status == 1
    report = json.loads(out)
    assert isinstance(report, list) and len(report) == 3
    good, bad, warned = report
    assert good == {"file": GOOD1, "valid": True, "errors": 0, "warnings": 0, "issues": []}
    assert bad["valid"] is False and bad["errors"] == 1
    issue, = bad["issues"]
    assert issue == {"severity": "error", "code": "NU-E102", "line": 9,
                     "path": "/network/ip/dhcp/host[2]", "source": "semantic",
                     "message": issue["message"]}
    assert warned["valid"] is True and warned["warnings"] == 1
    assert warned["issues"][0]["severity"] == "warning"


def test_json_strict_marks_warned_files_invalid(capsys):
    status, out, _ = run(capsys, "--format", "json", "--strict", OVERLAP)
    assert status == 1 and json.loads(out)[0]["valid"] is False


# ---------------------------------------------------------------------- github
def test_github_format(capsys):
    status, out, _ = run(capsys, "--format", "github", GOOD1, DUP_MAC, OVERLAP,
                         str(BAD / "not-xml.txt"))
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == 3
    assert re.match(rf"^::error file={re.escape(DUP_MAC)},line=9,title=NU-E102::NU-E102 "
                    r"/network/ip/dhcp/host\[2\]: MAC address .+$", lines[0])
    assert lines[1].startswith(f"::warning file={OVERLAP},line=8,title=NU-W101::NU-W101 ")
    assert lines[2].startswith("::error file=") and "title=NU-E001::" in lines[2]


def test_github_escapes_properties_and_data(capsys, tmp_path):
    odd = tmp_path / "a,b:c%.xml"
    shutil.copy(DUP_MAC, odd)
    _, out, _ = run(capsys, "--format", "github", str(odd))
    escaped = str(odd).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert out.startswith(f"::error file={escaped},line=9,")
    assert out.count("\n") == 1


# ---------------------------------------------------------------------- junit
def test_junit_format(capsys, tmp_path):
    files = [GOOD1, DUP_MAC, OVERLAP, str(BAD / "xxe-file.xml"), GOOD2]
    status, out, _ = run(capsys, "--format", "junit", *files)
    assert status == 1
    suites = etree.fromstring(out.encode())
    assert suites.tag == "testsuites"
    assert (suites.get("tests"), suites.get("failures"), suites.get("errors")) == ("5", "2", "0")
    suite, = suites
    assert (suite.get("tests"), suite.get("failures")) == ("5", "2")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == files
    failures = {c.get("name"): c.find("failure") for c in cases}
    assert failures[DUP_MAC].get("type") == "NU-E102"
    assert "NU-E102" in failures[DUP_MAC].text and "1 error" in failures[DUP_MAC].get("message")
    assert failures[str(BAD / "xxe-file.xml")].get("type") == "NU-E002"
    assert failures[GOOD1] is None and failures[OVERLAP] is None
    warned = cases[2]
    assert "NU-W101" in warned.find("system-out").text
    # --strict: the warned file fails too
    _, out, _ = run(capsys, "--format", "junit", "--strict", *files)
    assert etree.fromstring(out.encode()).get("failures") == "3"


def test_junit_to_a_file(capsys, tmp_path):
    report = tmp_path / "report.xml"
    status, out, _ = run(capsys, "--format", "junit", "-o", str(report), GOOD1, DUP_MAC)
    assert status == 1 and out == ""
    assert etree.parse(str(report)).getroot().get("failures") == "1"


# ---------------------------------------------------------------------- exit status 2
@pytest.mark.parametrize("argv", [
    [],                                        # no file
    ["--format", "xml", GOOD1],
    ["--schema", "dtd", GOOD1],
    ["--no-such-option", GOOD1],
    ["--select", "NU-X1", GOOD1],
    ["--ignore", "NU-E102,BOGUS", GOOD1],
    ["-", "-"],
    ["--explain", "NU-E999"],
])
def test_usage_errors_exit_2(capsys, argv):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert "usage:" in err


def test_a_directory_without_xml_files_is_a_usage_error(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    status, _, err = run(capsys, str(tmp_path))
    assert status == 2 and "no *.xml files" in err


def test_usage_error_exit_code_from_the_real_command():
    done = run_process("--format", "bogus", GOOD1)
    assert done.returncode == 2
    done = run_process()
    assert done.returncode == 2


# ---------------------------------------------------------------------- inputs
def test_stdin():
    data = Path(DUP_MAC).read_bytes()
    done = run_process("-", stdin=data)
    assert done.returncode == 1
    assert done.stdout.decode().startswith("<stdin>:9: /network/ip/dhcp/host[2]: NU-E102 ")
    done = run_process("--stdin-filename", "net.xml", "--format", "json", GOOD1, "-",
                       stdin=data)
    report = json.loads(done.stdout)
    assert [r["file"] for r in report] == [GOOD1, "net.xml"]
    done = run_process("-", stdin=Path(GOOD1).read_bytes())
    assert done.returncode == 0 and done.stdout == b""
    done = run_process("-", stdin=b"\x00\xff garbage")
    assert done.returncode == 1 and b"NU-E004" in done.stdout


def test_directories_are_searched_recursively_and_sorted(capsys, tmp_path):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    shutil.copy(GOOD1, tmp_path / "b" / "deep" / "z.xml")
    shutil.copy(DUP_MAC, tmp_path / "b" / "a.xml")
    shutil.copy(GOOD2, tmp_path / "c.xml")
    shutil.copy(DUP_MAC, tmp_path / ".git" / "hidden.xml")
    (tmp_path / "readme.txt").write_text("not checked")
    status, out, _ = run(capsys, "--format", "json", str(tmp_path), GOOD1)
    assert status == 1
    files = [r["file"] for r in json.loads(out)]
    assert files == [str(tmp_path / "b" / "a.xml"), str(tmp_path / "b" / "deep" / "z.xml"),
                     str(tmp_path / "c.xml"), GOOD1]


def test_fixture_directory_is_clean_except_the_deliberate_one(capsys):
    status, out, _ = run(capsys, "--format", "json", str(NETWORKS))
    report = json.loads(out)
    invalid = {Path(r["file"]).name for r in report if not r["valid"]}
    assert invalid == {"odd-unknown-elements.xml"} and status == 1
    assert all(not r["issues"] for r in report if r["valid"])


def test_a_file_given_twice_is_checked_once(capsys):
    _, out, _ = run(capsys, "--format", "json", DUP_MAC, DUP_MAC)
    assert len(json.loads(out)) == 1


# ---------------------------------------------------------------------- options
def test_select_and_ignore(capsys):
    status, out, _ = run(capsys, "--ignore", "NU-E102", DUP_MAC, OVERLAP)
    assert status == 0 and "NU-E102" not in out and "NU-W101" in out
    status, out, _ = run(capsys, "--ignore", "NU-E102,NU-W101", DUP_MAC, OVERLAP)
    assert (status, out) == (0, "")
    status, out, _ = run(capsys, "--select", "NU-W", DUP_MAC, OVERLAP)
    assert status == 0 and "NU-E102" not in out and "NU-W101" in out
    status, out, _ = run(capsys, "--strict", "--ignore", "nu-w101", OVERLAP)
    assert (status, out) == (0, "")


@pytest.mark.parametrize("grammar", ["rng", "xsd", "none"])
def test_schema_choice(capsys, grammar):
    status, out, _ = run(capsys, "--schema", grammar, GOOD1, str(BAD / "bad-enum.xml"))
    assert status == 1 and "NU-E101" in out


def test_explain_and_list_codes(capsys):
    status, out, _ = run(capsys, "--explain", "NU-W101")
    assert status == 0 and out.startswith("NU-W101 (dhcp-range-overlap)")
    status, out, _ = run(capsys, "--list-codes")
    codes = [line.split()[0] for line in out.splitlines()]
    assert status == 0 and "NU-E105" in codes and "NU-S003" in codes and "NU-W103" in codes


def test_help():
    done = subprocess.run([sys.executable, "-m", "netupdate", "validate", "--help"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0
    for word in ("--format", "--strict", "--schema", "--ignore", "exit status", "github"):
        assert word in done.stdout


def test_an_internal_error_is_an_issue_and_the_run_goes_on(capsys, monkeypatch):
    module = importlib.import_module("netupdate.check.semantic")
    real = module.validate

    def flaky(source, **options):
        if str(source).endswith("nat-default.xml"):
            raise RuntimeError("boom")
        return real(source, **options)

    monkeypatch.setattr(module, "validate", flaky)
    status, out, err = run(capsys, "--format", "json", GOOD1, GOOD2)
    assert status == 1
    first, second = json.loads(out)
    assert first["issues"][0]["code"] == "NU-E000" and "boom" in first["issues"][0]["message"]
    assert second["valid"] is True
    assert "RuntimeError: boom" in err


def test_parallel_run_gives_the_same_report(tmp_path):
    sources = sorted(NETWORKS.glob("*.xml")) + [Path(DUP_MAC), Path(OVERLAP)]
    for number in range(130):
        shutil.copy(sources[number % len(sources)], tmp_path / f"n{number:03d}.xml")
    parallel = run_process("--format", "json", "--jobs", "2", str(tmp_path))
    single = run_process("--format", "json", "--jobs", "1", str(tmp_path))
    assert parallel.returncode == single.returncode == 1
    assert json.loads(parallel.stdout) == json.loads(single.stdout)
    assert len(json.loads(parallel.stdout)) == 130
    auto = run_process("--format", "text", str(tmp_path))      # default: parallel from 100
    assert auto.stdout.decode() == run_process("--jobs", "1", str(tmp_path)).stdout.decode()


def test_the_command_module_is_cheap_to_import():
    code = ("import sys, netupdate.cli.validate; "
            "print(sorted(m for m in ('lxml', 'netupdate.model.defs', 'xmlschema') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_pre_commit_hook_definition():
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: netupdate-validate" in hooks and "entry: netupdate validate" in hooks
    assert "language: python" in hooks and "types: [xml]" in hooks


def test_odd_file_names_keep_every_format_parseable(capsys, tmp_path):
    odd = tmp_path / "line\nbreak\x01.xml"
    shutil.copy(DUP_MAC, odd)
    status, out, _ = run(capsys, str(odd))
    assert status == 1 and len(out.splitlines()) == 1 and "line\\nbreak" in out
    _, out, _ = run(capsys, "--format", "junit", str(odd))
    case = etree.fromstring(out.encode()).find("testsuite/testcase")
    assert case.get("name").startswith(str(tmp_path)) and case.find("failure") is not None
    _, out, _ = run(capsys, "--format", "github", str(odd))
    assert len(out.splitlines()) == 1 and "%0A" in out
    _, out, _ = run(capsys, "--format", "json", str(odd))
    assert json.loads(out)[0]["file"] == str(odd)


def test_benchmark_script_runs():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_validate.py"),
                           "--count", "30", "--peer-count", "3"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "files/s" in done.stdout and "netupdate validate --jobs 1" in done.stdout
    assert re.search(r"\s30\s+30\s", done.stdout)          # every generated file is valid
    assert ("ratio:" in done.stdout) == bool(shutil.which("virt-xml-validate"))
