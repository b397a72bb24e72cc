#!/usr/bin/env python3
"""Checks what README.md and docs/*.md point at:

  * every relative markdown link `[text](path)` names a file or directory of the repository
    (anchors and http(s) links are not followed);
  * every Prometheus metric name `kubetrail_...` they mention is registered by the daemons
    (a string literal in the non-test sources of services/, common/ and storage/), so the
    operations guide never names a metric that does not exist. Histogram series (`_bucket`,
    `_sum`, `_count`) count as their family.

Usage: doc_references_test.py [SOURCE_DIR]. Exit 0 when everything resolves, 1 with one line
per problem otherwise.
"""

import glob
import os
import re
import sys


def documents(source_dir):
    docs = [os.path.join(source_dir, "README.md")]
    docs += sorted(glob.glob(os.path.join(source_dir, "docs", "**", "*.md"), recursive=True))
    return docs


def registered_metrics(source_dir):
    names = set()
    for folder in ("services", "common", "storage"):
        for path in glob.glob(os.path.join(source_dir, folder, "**", "*"), recursive=True):
            if not path.endswith((".cc", ".h")) or re.search(r"_test\.(cc|h)$", path):
                continue
            if "/testing/" in path:
                continue
            with open(path, encoding="utf-8") as f:
                names.update(re.findall(r'"(kubetrail_[a-z0-9_]+)"', f.read()))
    return names


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source_dir = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("KUBETRAIL_SOURCE_DIR", os.path.join(here, "..", ".."))
    )
    metrics = registered_metrics(source_dir)
    problems = []
    if len(metrics) < 20:
        problems.append(f"found only {len(metrics)} metric names in the sources; has registration changed?")
    links = mentions = 0
    for doc in documents(source_dir):
        rel_doc = os.path.relpath(doc, source_dir)
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        for lineno, line in enumerate(text.splitlines(), 1):
            for target in re.findall(r"\]\(([^)\s]+)\)", line):
                if re.match(r"[a-z]+://|#|mailto:", target):
                    continue
                links += 1
                path = os.path.normpath(os.path.join(os.path.dirname(doc), target.split("#")[0]))
                if not os.path.exists(path):
                    problems.append(f"{rel_doc}:{lineno}: link to {target}, which does not exist")
            for name in re.findall(r"\bkubetrail_[a-z0-9_]+", line):
                mentions += 1
                family = re.sub(r"_(bucket|sum|count)$", "", name)
                if name not in metrics and family not in metrics:
                    problems.append(f"{rel_doc}:{lineno}: metric {name} is not registered anywhere")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"doc_references_test: {len(problems)} problems", file=sys.stderr)
        return 1
    print(f"{links} links and {mentions} metric mentions checked in {len(documents(source_dir))} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
