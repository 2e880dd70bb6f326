"""Writes the manual page onnx-lsc(1) from the help text of the built command, so the
two never disagree: `onnx-lsc --help` gives the commands and the general notes,
`onnx-lsc help CMD` each command's usage and options, `onnx-lsc help exit-codes`
the exit status. No date in the page: the output depends only on the help text.

usage: manpage.py ONNX_LSC OUTPUT.1
"""
import re
import subprocess
import sys

OPTION = re.compile(r"^ {1,8}(-\S.*?)(?: {2,}(\S.*))?$")  # "  -o, --output PATH   text"
CONTINUED = re.compile(r"^ {9,}(\S.*)$")                   # the text of the option above, wrapped


def help_text(tool, *args):
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True).stdout


def escape(text):
    """Plain text as roff: backslashes, minus signs (so options copy as typed), and a
    line that would start with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def option_tag(spec):
    """"-o, --output PATH" -> bold options, italic values."""
    words = []
    for word in spec.split(" "):
        comma = "," if word.endswith(",") else ""
        word = word.rstrip(",")
        font = "B" if word.startswith("-") else "I"
        words.append(f"\\f{font}{escape(word)}\\fR{comma}")
    return " ".join(words)


def blocks(lines):
    """Groups usage lines into ("text", [lines]) paragraphs and ("option", spec, [lines])."""
    out = []
    for line in lines:
        if not line.strip():
            out.append(("break",))
            continue
        m, c = OPTION.match(line), CONTINUED.match(line)
        if c and out and out[-1][0] == "option":
            out[-1][2].append(c.group(1))
        elif m:
            out.append(("option", m.group(1), [m.group(2)] if m.group(2) else []))
        elif out and out[-1][0] == "text":
            out[-1][1].append(line.strip())
        else:
            out.append(("text", [line.strip()]))
    return out


def render(lines):
    roff = []
    for b in blocks(lines):
        if b[0] == "option":
            roff += [".TP", option_tag(b[1]), escape(" ".join(b[2]))]
        elif b[0] == "text":
            roff += [".PP", *(escape(x) for x in b[1])]
    return roff


def synopsis(usage_line):
    """"Usage: onnx-lsc compress IN.onnx [...]" -> bold command words, the rest plain."""
    words = usage_line.removeprefix("Usage:").split()
    n = 2 if len(words) > 1 and words[1].islower() and words[1].isalpha() else 1
    return [".PP", f".B {escape(' '.join(words[:n]))}", escape(" ".join(words[n:]))]


def main():
    tool, output = sys.argv[1], sys.argv[2]
    version = help_text(tool, "--version").strip()
    general = help_text(tool, "--help").split("\nExit codes:")[0].splitlines()
    usage, summary = general[0], general[1]
    at = general.index("Commands:")
    commands = [re.split(r" {2,}", x.strip(), maxsplit=1) for x in general[at + 1:] if x.startswith("  ")]
    commands = [c for c in commands if len(c) == 2]
    rest = general[at + 1 + len(commands):]
    names = [c[0] for c in commands if re.fullmatch(r"[a-z-]+", c[0])]

    roff = [f'.TH ONNX\\-LSC 1 "" "{escape(version)}" "User Commands"',
            ".SH NAME", f"onnx\\-lsc \\- {escape(summary.rstrip('.'))}",
            ".SH SYNOPSIS", *synopsis(usage)]
    usages = {n: help_text(tool, "help", n).splitlines() for n in names}
    for n in names:
        roff += synopsis(usages[n][0])
    roff += [".SH DESCRIPTION", escape(summary), *render(rest), ".SH COMMANDS"]
    for name, text in commands:
        roff += [".TP", f"\\fB{escape(name)}\\fR", escape(text)]
    for n in names:
        roff += [f".SS {escape(n)}", *synopsis(usages[n][0]), *render(usages[n][1:])]
    roff += [".SH EXIT STATUS"]
    for line in help_text(tool, "help", "exit-codes").splitlines()[1:]:
        code, text = line.split(None, 1)
        roff += [".TP", f"\\fB{code}\\fR", escape(text)]
    roff += [".SH SEE ALSO", "docs/cli.md, docs/format.md and README.md in the onnx\\-lsc sources."]
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(roff) + "\n")


if __name__ == "__main__":
    main()
