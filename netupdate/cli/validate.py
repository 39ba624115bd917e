"""``netupdate validate``: check network definitions for CI, with CI-native output.

Exit status: 0 when every file is valid (warnings allowed unless ``--strict``), 1 when any file
is invalid (an unreadable or hostile file is an invalid file, and the run goes on), 2 for usage
errors.  The library is imported inside the handler so that ``netupdate --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator

PARALLEL_FROM = 100       # files; fewer are checked in this process
FORMATS = ("text", "json", "github", "junit")
GRAMMARS = ("rng", "xsd", "none")

DESCRIPTION = """\
Check libvirt <network> definitions: our RelaxNG grammar, typed values and semantic rules
(duplicate DHCP hosts, ranges outside their subnet, forward-mode rules, ...).  Every issue of
every file is reported, with its line, the XPath of the element and a stable code; see
docs/validation.md or --explain CODE."""

EPILOG = """\
output formats:
  text    file:line: path: CODE message          (one line per issue)
  json    [{"file": ..., "valid": ..., "issues": [...]}, ...]
  github  ::error file=...,line=...,title=CODE::path: message   (workflow annotations)
  junit   a JUnit XML report, one test case per file

exit status: 0 all files valid, 1 some file invalid, 2 usage error

examples:
  netupdate validate fixtures/networks/nat-default.xml fixtures/networks/routed.xml
  netupdate validate --format github --strict fixtures/networks/nat-*.xml
  netupdate validate --ignore NU-W101 --format junit -o report.xml fixtures/networks/nat-hosts.xml
  cat fixtures/networks/isolated.xml | netupdate validate --stdin-filename isolated.xml -
  netupdate validate --explain NU-E105
  netupdate validate --network default          (a network the embedded runtime has)
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate", help="check network definitions (grammar and semantic rules) for CI",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", metavar="FILE|DIR|-",
                        help="files to check; directories are searched for *.xml recursively "
                             "(hidden directories skipped); '-' reads standard input; with "
                             "--connect: names of the connection's networks (their persistent "
                             "definitions are checked)")
    parser.add_argument("-n", "--network", action="append", default=[], metavar="NAME",
                        help="check this network's persistent definition (embedded runtime, "
                             "or libvirt with -c URI); repeatable")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="output format (default: text; json with --json)")
    parser.add_argument("--strict", action="store_true",
                        help="warnings make a file invalid too")
    parser.add_argument("--schema", choices=GRAMMARS, default="rng",
                        help="grammar to check against (default: rng; 'none' skips it)")
    parser.add_argument("--select", action="append", metavar="CODES",
                        help="report only these codes or code prefixes (comma separated, "
                             "e.g. NU-E1,NU-W101)")
    parser.add_argument("--ignore", action="append", metavar="CODES",
                        help="do not report these codes or code prefixes (comma separated)")
    parser.add_argument("--stdin-filename", metavar="NAME", default="<stdin>",
                        help="name to report for '-' (default: <stdin>)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        type=argparse.FileType("w", encoding="utf-8", errors="backslashreplace"),
                        help="write the report to FILE instead of standard output")
    parser.add_argument("-j", "--jobs", type=int, default=0, metavar="N",
                        help="check files in N processes (default 0: one per CPU, up to 8, "
                             f"when there are at least {PARALLEL_FROM} files)")
    parser.add_argument("--explain", metavar="CODE",
                        help="print what a code means and exit")
    parser.add_argument("--list-codes", action="store_true",
                        help="print every code with its severity and title and exit")
    parser.set_defaults(func=run, validate_parser=parser)


# ---------------------------------------------------------------------- collecting files
def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part for value in values for part in value.split(",") if part.strip()]


# ---------------------------------------------------------------------- checking
class _Result:
    __slots__ = ("file", "issues", "valid", "seconds")

    def __init__(self, file: str, issues: list, valid: bool, seconds: float):
        self.file, self.issues, self.valid, self.seconds = file, issues, valid, seconds

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity != "error")


def _lib():
    """The validation module, imported when a check runs (``--help`` stays fast)."""
    from netupdate.check import semantic as validation
    return validation


# State the checking processes share (set before forking workers).
_JOB: dict = {}


def _check(path: str) -> _Result:
    """Check one file (``-`` is the standard input read beforehand) into a ``_Result``."""
    import pathlib
    args, rules = _JOB["args"], _JOB["rules"]
    V = _lib()
    started = time.perf_counter()
    grammar = None if args.schema == "none" else args.schema
    name = args.stdin_filename if path == "-" else path
    try:
        source = (_JOB["stdin"] if path == "-"
                  else _JOB["networks"].get(path) or pathlib.Path(path))
        issues = V.validate(source, schema=grammar, filename=name, rules=rules)
    except Exception as exc:   # a bug must not stop the other files; show it loudly
        import traceback
        traceback.print_exc(file=sys.stderr)
        issues = [V.Issue("error", "NU-E000", f"internal error while checking: {exc!r}",
                          source="parse", file=name)]
    issues = [i if i.file == name else _with_file(i, name) for i in issues]
    valid = not any(i.severity == "error" or args.strict for i in issues)
    return _Result(name, issues, valid, time.perf_counter() - started)


def _results(paths: list[str], jobs: int) -> Iterator[_Result]:
    """Check the files in order, in ``jobs`` worker processes when that is worth it."""
    if jobs <= 0:
        jobs = min(os.cpu_count() or 1, 8) if len(paths) >= PARALLEL_FROM else 1
    jobs = min(jobs, len(paths))
    if jobs > 1:
        try:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            _warm_up()   # load the grammar once, before forking, so the workers share it
            pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
        except (ImportError, OSError, ValueError):
            pool = None
        if pool is not None:
            # a worker that dies raises BrokenProcessPool here instead of hanging the run
            with pool:
                chunk = max(1, min(32, len(paths) // (jobs * 8)))
                yield from pool.map(_check, paths, chunksize=chunk)
            return
    for path in paths:
        yield _check(path)


def _warm_up() -> None:
    args = _JOB["args"]
    if args.schema != "none":
        _lib().validate("<network><name>warm-up</name></network>", schema=args.schema)


def _with_file(issue, name: str):
    import dataclasses
    return dataclasses.replace(issue, file=name)


# ---------------------------------------------------------------------- output
def _text_lines(result: _Result) -> list[str]:
    """One line per issue (line breaks inside a message are escaped)."""
    return [str(i).replace("\r", "\\r").replace("\n", "\\n") for i in result.issues]


def _gh_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(value: str) -> str:
    return _gh_data(value).replace(":", "%3A").replace(",", "%2C")


def _github_lines(result: _Result) -> list[str]:
    lines = []
    for i in result.issues:
        kind = "error" if i.severity == "error" else "warning"
        props = [f"file={_gh_property(result.file)}"]
        if i.line:
            props.append(f"line={i.line}")
        props.append(f"title={_gh_property(i.code)}")
        text = f"{i.path}: {i.message}" if i.path else i.message
        lines.append(f"::{kind} {','.join(props)}::{_gh_data(f'{i.code} {text}')}")
    return lines


def _json_report(results: list[_Result]) -> str:
    import json
    return json.dumps([{"file": r.file, "valid": r.valid, "errors": r.errors,
                        "warnings": r.warnings, "issues": [i.to_dict() for i in r.issues]}
                       for r in results], indent=2) + "\n"


def _junit_report(results: list[_Result], seconds: float) -> str:
    from lxml import etree

    failures = sum(1 for r in results if not r.valid)
    suites = etree.Element("testsuites", name="netupdate validate", tests=str(len(results)),
                           failures=str(failures), errors="0", time=f"{seconds:.3f}")
    suite = etree.SubElement(suites, "testsuite", name="netupdate validate",
                             tests=str(len(results)), failures=str(failures), errors="0",
                             skipped="0", time=f"{seconds:.3f}",
                             timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"))
    for r in results:
        name = _xml_safe(r.file)
        case = etree.SubElement(suite, "testcase", classname="netupdate.check.semantic", name=name,
                                file=name, time=f"{r.seconds:.4f}")
        text = "\n".join(_text_lines(r))
        if not r.valid:
            failing = [i for i in r.issues if i.severity == "error"] or r.issues
            failure = etree.SubElement(
                case, "failure", type=failing[0].code,
                message=_xml_safe(f"{r.errors} error{'s' * (r.errors != 1)}, "
                                  f"{r.warnings} warning{'s' * (r.warnings != 1)}: "
                                  f"{failing[0].message}"))
            failure.text = _xml_safe(text)
        elif r.issues:
            etree.SubElement(case, "system-out").text = _xml_safe(text)
    return etree.tostring(suites, xml_declaration=True, encoding="UTF-8",
                          pretty_print=True).decode("utf-8")


def _xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (a hostile file's name or message may hold
    them)."""
    return "".join(c if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd")
                   or c > "\uffff" else "?" for c in text)


def _summary(results: list[_Result], strict: bool) -> str:
    invalid = sum(1 for r in results if not r.valid)
    errors = sum(r.errors for r in results)
    warnings = sum(r.warnings for r in results)
    files = f"{len(results)} file{'s' * (len(results) != 1)} checked"
    if not invalid:
        tail = f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
        return f"netupdate validate: {files}, all valid{tail}"
    return (f"netupdate validate: {files}, {invalid} invalid "
            f"({errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
            f"{', warnings fail with --strict' if strict and warnings else ''})")


# ---------------------------------------------------------------------- a folder's conflicts
def _across(folders: dict[str, list[str]], rules) -> dict[str, list]:
    """``{file: [Issue]}``: the conflicts between the definitions of each folder argument
    (overlapping subnets, one bridge name, one network name, a MAC or IP reserved twice)."""
    if not folders:
        return {}
    from netupdate.check import across
    from netupdate.planning.conflicts import across_files
    out: dict[str, list] = {}
    for files in folders.values():
        documents = across.read(files)
        found = across_files({f: defs for f, (_root, defs) in documents.items()})
        for file, issues in across.issues(found, documents, rules).items():
            out.setdefault(file, []).extend(issues)
    return out


def _with_issues(result: _Result, extra: list, strict: bool) -> _Result:
    """``result`` with a folder's issues of its file (a file in two folders: once)."""
    if not extra:
        return result
    issues = result.issues + [i for i in extra if i not in result.issues]
    valid = result.valid and not any(i.severity == "error" or strict for i in extra)
    return _Result(result.file, issues, valid, result.seconds)


# ---------------------------------------------------------------------- the verb
def _networks(args) -> dict:
    """{label: XML} of the networks to check: --network NAME, and with -c URI the arguments."""
    names = args.network + (args.files if args.connect else [])
    if not names:
        return {}
    from netupdate.cli.connect import fetch_definitions
    return dict(fetch_definitions(args, names))


def _check_arguments(parser, args) -> None:
    """Usage errors of the files and formats asked for; settles ``args.format``."""
    if args.json and args.format not in (None, "json"):
        parser.error(f"--json conflicts with --format {args.format}")
    args.format = args.format or ("json" if args.json else "text")
    if not args.files and not args.network:
        parser.error("no FILE, DIR, '-' or --network NAME given")
    if args.files.count("-") > 1:
        parser.error("'-' (standard input) can be given only once")


def run(args) -> int:
    parser = args.validate_parser
    V = _lib()

    if args.list_codes:
        for r in V.RULES.values():
            print(f"{r.code}  {r.severity:<7}  {r.name:<30}  {r.title}")
        return 0
    if args.explain:
        try:
            sys.stdout.write(V.explain(args.explain))
        except KeyError:
            parser.error(f"unknown code {args.explain!r} (see --list-codes)")
        return 0
    _check_arguments(parser, args)
    try:
        select, ignore = _split(args.select), _split(args.ignore)
        rules = V.select_rules(select, ignore) if (select is not None or ignore) else None
    except ValueError as exc:
        parser.error(str(exc))
    networks = _networks(args)
    from netupdate.document.folder import expand
    files, folders = expand([] if args.connect else args.files)
    paths = list(networks) + files
    if not paths:
        parser.error("no *.xml files found in " + ", ".join(args.files))
    across = _across(folders, rules)

    out = args.output or sys.stdout
    if out is sys.stdout and hasattr(out, "reconfigure"):
        out.reconfigure(errors="backslashreplace")   # file names that are not valid UTF-8
    _JOB.update(args=args, rules=rules, stdin=b"", networks=networks)
    if "-" in paths:
        from netupdate.document.source import MAX_BYTES
        _JOB["stdin"] = sys.stdin.buffer.read(MAX_BYTES + 1)
    started = time.perf_counter()
    results: list[_Result] = []
    streaming = {"text": _text_lines, "github": _github_lines}.get(args.format)
    try:
        for result in _results(paths, args.jobs):
            result = _with_issues(result, across.get(result.file, []), args.strict)
            results.append(result)
            if streaming is not None:
                for line in streaming(result):
                    out.write(line + "\n")
        if args.format == "json":
            out.write(_json_report(results))
        elif args.format == "junit":
            out.write(_junit_report(results, time.perf_counter() - started))
        out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    if args.verbosity >= 0:
        print(_summary(results, args.strict), file=sys.stderr)
    return 0 if all(r.valid for r in results) else 1
