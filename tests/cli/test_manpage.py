#!/usr/bin/python3
"""onnx-lsc(1) as the build generated it (src/cli/manpage.py): groff renders it without
a warning, and it names every command, every option of every command (in that
command's section), every exit code and the version that `onnx-lsc` itself prints.

usage: test_manpage.py ONNX_LSC ONNX_LSC.1
"""
import re
import subprocess
import sys

TOOL, PAGE = sys.argv[1], sys.argv[2]
FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def out(*args):
    return subprocess.run([TOOL, *args], check=True, capture_output=True, text=True).stdout


def main():
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-rLL=200n", PAGE], capture_output=True, text=True)
    if r.returncode or r.stderr.strip():
        fail(f"groff: exit {r.returncode}: {r.stderr.strip()[:300]}")
    # Plain text: no overstrike, no hyphenation marks, one space between words.
    text = re.sub(r".\x08", "", r.stdout).replace("\u2010", "-").replace("\u2212", "-")
    text = re.sub(r"(?<=\S)[ \t]+", " ", text)  # keeps the indentation
    if not text.strip():
        fail("empty page")
    sections = re.split(r"\n {3}(?=[a-z-]+\n)", text)  # ".SS NAME" starts a line indented 3

    version = out("--version").strip()
    if version not in text:
        fail(f"page does not carry '{version}'")
    commands = re.findall(r"^  ([a-z-]+) {2,}", out("--help"), re.M)
    if len(commands) < 4:
        fail(f"found only {commands} in --help")
    for cmd in commands:
        section = [s for s in sections if s.startswith(cmd + "\n")]
        if len(section) != 1:
            fail(f"no section for command '{cmd}'")
            continue
        usage = out("help", cmd)
        options = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", usage.split("\n", 1)[1]))
        if not options:
            fail(f"'help {cmd}' lists no option")
        for option in sorted(options):
            if not re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", section[0]):
                fail(f"section '{cmd}' lacks option {option}")
        first = usage.splitlines()[0].removeprefix("Usage: ")
        if " ".join(first.split()) not in section[0]:
            fail(f"section '{cmd}' lacks its synopsis '{first}'")
    for line in out("help", "exit-codes").splitlines()[1:]:
        code, what = line.split(None, 1)
        if not re.search(rf"\n {{7}}{code} +{re.escape(what.split()[0])}", text):
            fail(f"exit code {code} ({what}) missing")
    for general in ("--help", "--version", "-f/--force"):
        if general not in text:
            fail(f"page lacks {general}")
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1)
    print(f"man page: {len(commands)} commands, their options and the exit codes present")


if __name__ == "__main__":
    main()
