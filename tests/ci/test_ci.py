"""The CI pieces: `stats --markdown` (numbers equal to --json, names escaped, gate
verdicts), scripts/ci/gate.sh, the composite action (action.yml's steps run as the
script they are, with its inputs substituted), and the pre-commit hook
(.pre-commit-hooks.yaml) run by Debian's pre-commit against a scratch git repository:
a pruned model that meets the gate passes, one that does not fails with the table.

usage: test_ci.py --source DIR --work DIR --models DIR  (ONNX_LSC: the command)"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper
import numpy as np

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what)


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def cells(row):
    """A Markdown table row's cells (escaped pipes stay inside)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def markdown_cases(lsc, work, models):
    for name in ("lenet5", "lenet5_1p4", "lenet300_100"):
        src = os.path.join(models, name + ".onnx")
        doc = json.loads(run([lsc, "stats", src, "--json"]).stdout)
        r = run([lsc, "stats", src, "--markdown"])
        check(r.returncode == 0, "%s: stats --markdown exit %d" % (name, r.returncode))
        rows = [line for line in r.stdout.splitlines() if line.startswith("| ")]
        check(len(rows) == 3 + len(doc["layers"]), "%s: %d table rows" % (name, len(rows)))
        for row, layer in zip(rows[2:], doc["layers"]):
            c = cells(row)
            check(len(c) == 8 and c[0] == layer["name"] and c[1] == layer["op"] and c[-1] == layer["outcome"],
                  "%s: row %r" % (name, row))
            want = "%.2fx" % layer["lsc"]["ratio"] if layer["lsc"] else "-"  # not analysed: too-small
            check(c[3] == want, "%s %s: ratio %s vs %r" % (name, c[0], c[3], want))
        total = cells(rows[-1])
        check(total[3] == "**%.2fx**" % doc["totals"]["encoded"]["ratio"]
              and total[4] == "**%.2f**" % doc["totals"]["encoded"]["meta_bits_per_nnz"],
              "%s: totals row %r" % (name, rows[-1]))
        ratio = doc["totals"]["encoded"]["ratio"]
        for gate, want in ((ratio - 0.01, 0), (ratio + 0.01, 3)):
            g = run([lsc, "stats", src, "--markdown", "--fail-if-ratio-below", "%.4f" % gate])
            verdict = "passed" if want == 0 else "FAILED"
            check(g.returncode == want and ("**%s**" % verdict) in g.stdout,
                  "%s: gate %.4f: exit %d, %r" % (name, gate, g.returncode, g.stdout[-120:]))
    # names that are Markdown: escaped, one cell each
    w = np.zeros((64, 64), np.float32)
    w[::5, ::3] = 1.5
    odd = "fc|1*w_`x`<b>"
    g = helper.make_graph([helper.make_node("MatMul", ["x", odd], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
                          [numpy_helper.from_array(w, odd)])
    path = os.path.join(work, "odd.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    rows = [line for line in run([lsc, "stats", path, "--markdown"]).stdout.splitlines() if line.startswith("| ")]
    c = cells(rows[2]) if len(rows) > 2 else []
    check(len(c) == 8 and c[0] == r"fc\|1\*w\_\`x\`\<b\>", "odd name row %r" % (rows[2:3],))
    r = run([lsc, "stats", path, "--markdown", "--json"])
    check(r.returncode == 2, "--markdown --json: exit %d" % r.returncode)
    print("stats --markdown: numbers = --json, gates, escaping")


def gate_cases(source, work, models):
    gate = os.path.join(source, "scripts", "ci", "gate.sh")
    good, poor = os.path.join(models, "lenet5_1p4.onnx"), os.path.join(models, "lenet5.onnx")
    summary = os.path.join(work, "summary.md")
    env = dict(os.environ, GITHUB_STEP_SUMMARY=summary)
    open(summary, "w").close()
    r = run([gate, "--fail-if-ratio-below", "20", good], env=env)
    check(r.returncode == 0 and "**passed**" in open(summary).read(), "gate good: %d %s" % (r.returncode, r.stderr))
    open(summary, "w").close()
    r = run([gate, "--fail-if-ratio-below", "20", poor, good], env=env)
    text = open(summary).read()
    check(r.returncode == 3 and text.count("### onnx-lsc stats") == 2 and "**FAILED**" in text,
          "gate poor+good: exit %d, %d tables" % (r.returncode, text.count("### onnx-lsc stats")))
    r = run([gate, "--fail-if-meta-bits-above=6", good], env=env)
    check(r.returncode == 4, "gate meta bits: exit %d" % r.returncode)
    r = run([gate, os.path.join(work, "missing.onnx")], env=env)
    check(r.returncode == 13, "gate missing model: exit %d" % r.returncode)
    r = run([gate, "--fail-if-ratio-below"], env=env)
    check(r.returncode == 2, "gate usage: exit %d" % r.returncode)
    print("gate.sh: pass, fail (every model gated, first failure's code), usage")


def action_cases(source, work, models, ort):
    """action.yml's steps, run by bash as a runner would, inputs substituted."""
    action = yaml.safe_load(open(os.path.join(source, "action.yml")))
    check(action["runs"]["using"] == "composite", "action.yml: not a composite action")
    defaults = {k: v.get("default", "") for k, v in action["inputs"].items()}

    def run_action(inputs):
        values = dict(defaults, **inputs)
        summary = os.path.join(work, "action-summary.md")
        open(summary, "w").close()
        code = 0
        for step in action["runs"]["steps"]:
            sub = lambda text: re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], text)
            env = dict(os.environ, GITHUB_ACTION_PATH=source, GITHUB_STEP_SUMMARY=summary,
                       **{k: sub(v) for k, v in step.get("env", {}).items()})
            r = run(["bash", "-e", "-c", sub(step["run"])], env=env, cwd=work)
            code = code or r.returncode
        return code, open(summary).read()

    for m in ("lenet5_1p4.onnx", "lenet5.onnx"):
        shutil.copy(os.path.join(models, m), work)
    code, text = run_action({"models": "lenet5_1p4.onnx", "min-ratio": "20", "max-meta-bits": "9",
                             "onnx-lsc": os.environ["ONNX_LSC"]})
    check(code == 0 and "ratio ≥ 20 **passed**" in text, "action pass: %d" % code)
    code, text = run_action({"models": "lenet5*.onnx", "min-ratio": "20", "onnx-lsc": os.environ["ONNX_LSC"]})
    check(code == 3 and text.count("### onnx-lsc stats") == 2, "action glob with a failure: %d" % code)
    if ort:
        code, text = run_action({"models": "lenet5_1p4.onnx", "compress-to": "out",
                                 "onnx-lsc": os.environ["ONNX_LSC"]})
        check(code == 0 and os.path.isfile(os.path.join(work, "out", "lenet5_1p4.lsc.onnx")),
              "action compress + verify: %d" % code)
    print("action.yml: its step run as a script: pass, fail, glob%s" % (", compress + verify" if ort else ""))


def precommit_case(source, work, models):
    """The hook from a scratch hook repository, in a scratch project, by pre-commit."""
    if not shutil.which("pre-commit") or not shutil.which("git"):
        print("SKIP pre-commit: not installed (scripts/install-deps.sh)")
        return
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@invalid", "-c", "init.defaultBranch=main"]
    hooks = os.path.join(work, "hook-repo")
    os.makedirs(os.path.join(hooks, "scripts", "ci"))
    shutil.copy(os.path.join(source, ".pre-commit-hooks.yaml"), hooks)
    shutil.copy(os.path.join(source, "scripts", "ci", "gate.sh"), os.path.join(hooks, "scripts", "ci"))
    run([*git, "init", "-q", hooks])
    run([*git, "-C", hooks, "add", "-A"])
    run([*git, "-C", hooks, "commit", "-q", "-m", "hooks"])
    rev = run(["git", "-C", hooks, "rev-parse", "HEAD"]).stdout.strip()
    project = os.path.join(work, "project")
    os.makedirs(project)
    run([*git, "init", "-q", project])
    with open(os.path.join(project, ".pre-commit-config.yaml"), "w") as f:
        yaml.safe_dump({"repos": [{"repo": hooks, "rev": rev, "hooks": [
            {"id": "onnx-lsc-gate", "args": ["--fail-if-ratio-below=20", "--fail-if-meta-bits-above=10"]}]}]}, f)
    env = dict(os.environ, PRE_COMMIT_HOME=os.path.join(work, "pre-commit-home"))
    env.pop("GITHUB_STEP_SUMMARY", None)
    shutil.copy(os.path.join(models, "lenet5_1p4.onnx"), project)
    run([*git, "-C", project, "add", "-A"])
    r = run(["pre-commit", "run", "--all-files"], cwd=project, env=env)
    check(r.returncode == 0 and "| **total**" in r.stdout and "Passed" in r.stdout,
          "pre-commit on a model that meets the gate: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
    shutil.copy(os.path.join(models, "lenet5.onnx"), project)
    run([*git, "-C", project, "add", "-A"])
    r = run(["pre-commit", "run", "--all-files"], cwd=project, env=env)
    check(r.returncode != 0 and "Failed" in r.stdout and "**FAILED**" in r.stdout and "lenet5.onnx" in r.stdout,
          "pre-commit on a model below the gate: exit %d\n%s" % (r.returncode, r.stdout))
    print("pre-commit: a model that meets the gate passes, one that does not fails with the table")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--ort", action="store_true", help="ONNX Runtime is there: also compress + verify")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    lsc = os.environ["ONNX_LSC"]
    markdown_cases(lsc, a.work, a.models)
    for sub in ("gate", "action", "pre-commit"):
        os.makedirs(os.path.join(a.work, sub))
    gate_cases(a.source, os.path.join(a.work, "gate"), a.models)
    action_cases(a.source, os.path.join(a.work, "action"), a.models, a.ort)
    precommit_case(a.source, os.path.join(a.work, "pre-commit"), a.models)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
