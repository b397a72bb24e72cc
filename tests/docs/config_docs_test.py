#!/usr/bin/env python3
"""Checks docs/configuration.md against the code of both daemons.

For kubetrail-aggregator and kubetrail-collector:

  * YAML keys: the dotted keys the config parser accepts are read from its source
    (services/<daemon>/config.cc: the `{"key", [&](...) {...}}` entries of the `yaml::Map`
    calls in ParseConfig / ParseCollectorConfig, nested entries joined with dots). Every key
    must have a row in the daemon's section of docs/configuration.md, and every key documented
    there must exist.
  * Flags: the flags `DAEMON --help` prints (the built binary in $KUBETRAIL_BIN_DIR). Every flag
    must be documented, and every documented flag must exist.
  * Pairs: a row naming both a key and a flag must name the same config field (the key's field
    from config.cc, the flag's from main.cc), so the table cannot pair a flag with the wrong key.
  * Defaults: for every key whose field has an initializer in config.h, the row's default
    column must start with that value in backticks (`400`, `1s`, `127.0.0.1:7443`, `""`,
    `[127.0.0.1:7443]`, `block`).
  * The example config files in the section (```yaml blocks) use only keys that exist.

Usage: config_docs_test.py [SOURCE_DIR]; KUBETRAIL_BIN_DIR names the directory of the built
binaries. Exit 0 when everything matches, 1 with one line per problem otherwise.
"""

import os
import re
import subprocess
import sys
import time

DAEMONS = {
    # section heading: (binary, parser source, parser function, struct header, struct name,
    #                   main.cc, smallest plausible number of keys / flags)
    "kubetrail-aggregator": dict(
        config_cc="services/aggregator/config.cc",
        function="ParseConfig",
        config_h="services/aggregator/config.h",
        struct="Config",
        main_cc="services/aggregator/main.cc",
        min_keys=25,
        min_flags=12,
    ),
    "kubetrail-collector": dict(
        config_cc="services/collector/config.cc",
        function="ParseCollectorConfig",
        config_h="services/collector/config.h",
        struct="CollectorConfig",
        main_cc="services/collector/main.cc",
        min_keys=30,
        min_flags=25,
    ),
}

DOC = "docs/configuration.md"


class Problems:
    def __init__(self):
        self.lines = []

    def add(self, line):
        self.lines.append(line)


# ---------------------------------------------------------------------------------------------
# C++ source reading


def blank_literals(text):
    """The text with string/char literal contents and comments replaced by spaces (same
    length), so that braces can be matched without being fooled by them."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif c == '"' or (c == "'" and not (i > 0 and text[i - 1].isalnum())):
            # A digit separator (10'000) is preceded by a digit: not a char literal.
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


def matching_brace(blanked, open_pos):
    """Index of the brace closing the one at open_pos ({ or ( or [)."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack = []
    for i in range(open_pos, len(blanked)):
        c = blanked[i]
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")}]":
            if not stack or stack.pop() != c:
                raise ValueError(f"unbalanced {c!r} at offset {i}")
            if not stack:
                return i
    raise ValueError(f"no closing brace for offset {open_pos}")


def function_body(text, name):
    """(start, end) of the body of the function definition `absl::Status NAME(...) {...}`."""
    blanked = blank_literals(text)
    for m in re.finditer(r"absl::Status\s+" + re.escape(name) + r"\s*\(", blanked):
        close = matching_brace(blanked, m.end() - 1)
        rest = blanked[close + 1:]
        stripped = rest.lstrip()
        if stripped.startswith("{"):
            open_pos = close + 1 + (len(rest) - len(stripped))
            return open_pos, matching_brace(blanked, open_pos)
    raise ValueError(f"no definition of {name}")


def parser_keys(source, function):
    """Maps each dotted YAML key the parser accepts to the config field it writes (the first
    `c.FIELD` / `col.FIELD` / `t.FIELD` of a leaf entry; None when it has none). Lists of
    mappings (`collectors`, `query.tokens`) give `collectors.identity`, ...: no `[]`."""
    blanked = blank_literals(source)
    start, end = function_body(source, function)
    entries = []  # (start, end, key)
    for m in re.finditer(r'\{\s*"([A-Za-z0-9_]+)"\s*,\s*\[', source[start:end]):
        open_pos = start + m.start()
        entries.append((open_pos, matching_brace(blanked, open_pos), m.group(1)))
    keys = {}
    for s, e, key in entries:
        parents = [p for p in entries if p[0] < s and e < p[1]]
        parents.sort()
        path = ".".join([p[2] for p in parents] + [key])
        children = [c for c in entries if s < c[0] and c[1] < e]
        if children:
            continue
        field = re.search(r"\b(?:c|col|t)\.([A-Za-z0-9_.]+)", source[s:e])
        keys[path] = field.group(1) if field else None
    return keys


def flag_fields(main_cc):
    """Maps flags to the config field main.cc's Resolve() copies them into."""
    fields = {}
    for m in re.finditer(
        r'Given\(f,\s*"(--[a-z0-9-]+)"\)\)\s*(?:config|c)\.([A-Za-z0-9_.]+)\s*=', main_cc
    ):
        fields[m.group(1)] = m.group(2)
    for m in re.finditer(
        r'\{\s*"(--[a-z0-9-]+)"\s*,\s*&f\.\w+\s*,\s*&(?:config|c)\.([A-Za-z0-9_.]+)\s*\}', main_cc
    ):
        fields[m.group(1)] = m.group(2)
    return fields


DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
CXX_DURATIONS = {
    "Nanoseconds": 1e-9,
    "Microseconds": 1e-6,
    "Milliseconds": 1e-3,
    "Seconds": 1,
    "Minutes": 60,
    "Hours": 3600,
}


class Duration(float):
    """Seconds; a distinct type so defaults are compared as durations."""


def eval_initializer(expr):
    """The value of a config.h field initializer, or raises ValueError."""
    expr = expr.strip()
    m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', expr)
    if m:
        return m.group(1)
    m = re.fullmatch(r"\{(.*)\}", expr, re.S)
    if m:
        items = [i.strip() for i in m.group(1).split(",") if i.strip()]
        return [eval_initializer(i) for i in items]
    if expr in ("true", "false"):
        return expr == "true"
    m = re.fullmatch(r"absl::(\w+)\(([0-9.]+)\)", expr)
    if m and m.group(1) in CXX_DURATIONS:
        return Duration(float(m.group(2)) * CXX_DURATIONS[m.group(1)])
    m = re.fullmatch(r"\w+::k([A-Z]\w*)", expr)
    if m:  # an enum: WhenFull::kDropOldest -> "drop-oldest"
        return re.sub(r"(?<!^)([A-Z])", r"-\1", m.group(1)).lower()
    arith = re.sub(r"u?int\d+_t\{(\d+)\}", r"\1", expr.replace("'", ""))
    arith = re.sub(r"(\d)(?:ull|ul|u|ll|l)\b", r"\1", arith, flags=re.I)
    if re.fullmatch(r"[0-9\s<>()*+.-]+", arith):
        return eval(arith, {"__builtins__": {}}, {})  # digits and operators only
    raise ValueError(f"cannot evaluate initializer {expr!r}")


def struct_defaults(header, struct):
    """Maps each field of `struct NAME {...}` to (has_initializer, value)."""
    blanked = blank_literals(header)
    m = re.search(r"\bstruct\s+" + re.escape(struct) + r"\s*\{", blanked)
    if not m:
        raise ValueError(f"no struct {struct}")
    end = matching_brace(blanked, m.end() - 1)
    body = header[m.end():end]
    fields = {}
    for line in body.splitlines():
        code = line.split("//")[0].strip()
        d = re.fullmatch(r"([\w:]+(?:<[^=;]*>)?)\s+(\w+)\s*(?:=\s*(.+))?;", code)
        if not d:
            continue
        ctype, name, init = d.groups()
        if init is None:
            zero = {"std::string": "", "bool": False}.get(ctype)
            if zero is None:
                zero = [] if ctype.startswith("std::vector") else None
            if zero is None and re.fullmatch(r"u?int\d+_t|int|double|size_t", ctype):
                zero = 0
            fields[name] = (False, zero)
        else:
            fields[name] = (True, eval_initializer(init))
    return fields


# ---------------------------------------------------------------------------------------------
# Binaries


def help_flags(bin_dir, binary):
    """Long flags in `BINARY --help`. Retries briefly: the binary may be being rebuilt."""
    path = os.path.join(bin_dir, binary)
    last = ""
    for _ in range(10):
        try:
            out = subprocess.run(
                [path, "--help"], capture_output=True, text=True, timeout=30, check=False
            )
            if out.returncode == 0 and "--help" in out.stdout:
                return set(re.findall(r"^\s+(?:-\w,)?(--[a-z0-9-]+)", out.stdout, re.M))
            last = f"exit {out.returncode}: {out.stderr.strip()[:200]}"
        except OSError as e:
            last = str(e)
        time.sleep(1)
    raise RuntimeError(f"{path} --help failed ({last}); build it first")


# ---------------------------------------------------------------------------------------------
# The document


def sections(doc):
    """Maps each `## HEADING` to its text (up to the next `## `)."""
    out = {}
    parts = re.split(r"^## +(.+?)\s*$", doc, flags=re.M)
    for i in range(1, len(parts), 2):
        out[parts[i].strip()] = parts[i + 1]
    return out


def table_rows(text):
    """Rows of the markdown tables whose header starts with `YAML key`: dicts with the keys,
    flags and default of each row, and its line for messages."""
    rows = []
    in_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].lower() == "yaml key":
            in_table = True
            continue
        if not in_table or re.fullmatch(r"[-:| ]+", line.strip()):
            continue
        if len(cells) < 4:
            rows.append(dict(line=line, bad="fewer than 4 cells"))
            continue
        keys = re.findall(r"`([^`]+)`", cells[0])
        flags = [t.split()[0] for t in re.findall(r"`([^`]+)`", cells[1]) if t.startswith("--")]
        default = re.match(r"\s*`([^`]*)`", cells[2])
        rows.append(
            dict(
                line=line,
                keys=[k.replace("[]", "") for k in keys],
                flags=flags,
                default=default.group(1) if default else None,
            )
        )
    return rows


def yaml_example_keys(text):
    """Dotted keys used in the ```yaml blocks (block style: `key:` lines, `- key:` items)."""
    keys = set()
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        stack = []  # (indent, key)
        for raw in block.splitlines():
            line = raw.split(" #")[0].rstrip()
            if not line.strip() or line.strip().startswith("#"):
                continue
            m = re.match(r"^(\s*)(- +)?([A-Za-z0-9_]+):(?:\s|$)", line)
            if not m:
                continue
            indent = len(m.group(1)) + (len(m.group(2)) if m.group(2) else 0)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            path = ".".join([k for _, k in stack] + [m.group(3)])
            keys.add(path)
            stack.append((indent, m.group(3)))
    return keys


def parse_doc_duration(text):
    total, pos = 0.0, 0
    for m in re.finditer(r"([0-9.]+)(ns|us|µs|ms|s|m|h|d)", text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * (86400 if m.group(2) == "d" else DURATION_UNITS[m.group(2)])
        pos = m.end()
    return total if pos == len(text) and pos else None


def default_matches(code_value, doc_text):
    if doc_text is None:
        return False
    if isinstance(code_value, Duration):
        d = parse_doc_duration(doc_text)
        return d is not None and abs(d - code_value) < 1e-9
    if isinstance(code_value, bool):
        return doc_text == ("true" if code_value else "false")
    if isinstance(code_value, (int, float)):
        try:
            return float(doc_text) == float(code_value)
        except ValueError:
            return False
    if isinstance(code_value, list):
        m = re.fullmatch(r"\[(.*)\]", doc_text)
        if not m:
            return False
        items = [i.strip() for i in m.group(1).split(",") if i.strip()]
        return items == [str(v) for v in code_value]
    if code_value == "":
        return doc_text == '""'
    return doc_text == code_value


# ---------------------------------------------------------------------------------------------


def check(source_dir, bin_dir, problems):
    doc_path = os.path.join(source_dir, DOC)
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    secs = sections(doc)
    summary = []
    for daemon, spec in DAEMONS.items():
        where = f"{DOC} ## {daemon}"
        if daemon not in secs:
            problems.add(f"{DOC}: no section '## {daemon}'")
            continue
        text = secs[daemon]

        def read(rel):
            with open(os.path.join(source_dir, rel), encoding="utf-8") as f:
                return f.read()

        keys = parser_keys(read(spec["config_cc"]), spec["function"])
        if len(keys) < spec["min_keys"]:
            problems.add(
                f"{spec['config_cc']}: found only {len(keys)} config keys in {spec['function']}; "
                "has the parser changed shape? (update tests/docs/config_docs_test.py)"
            )
        flags = help_flags(bin_dir, daemon)
        if len(flags) < spec["min_flags"]:
            problems.add(f"{daemon} --help: found only {len(flags)} flags")
        flag_field = flag_fields(read(spec["main_cc"]))
        defaults = struct_defaults(read(spec["config_h"]), spec["struct"])

        rows = table_rows(text)
        doc_keys, doc_flags = {}, {}
        for row in rows:
            if "bad" in row:
                problems.add(f"{where}: {row['bad']}: {row['line']}")
                continue
            if not row["keys"] and not row["flags"]:
                problems.add(f"{where}: a row names neither a key nor a flag: {row['line']}")
            for k in row["keys"]:
                if k in doc_keys:
                    problems.add(f"{where}: key {k} documented twice")
                doc_keys[k] = row
            for fl in row["flags"]:
                if fl in doc_flags:
                    problems.add(f"{where}: flag {fl} documented twice")
                doc_flags[fl] = row

        for k in sorted(set(keys) - set(doc_keys)):
            problems.add(f"{where}: key {k} (accepted by {spec['config_cc']}) is not documented")
        for k in sorted(set(doc_keys) - set(keys)):
            problems.add(f"{where}: documented key {k} is not accepted by {spec['config_cc']}")
        for fl in sorted(flags - set(doc_flags)):
            problems.add(f"{where}: flag {fl} (in {daemon} --help) is not documented")
        for fl in sorted(set(doc_flags) - flags):
            problems.add(f"{where}: documented flag {fl} is not in {daemon} --help")

        pairs = defaults_checked = 0
        for row in rows:
            if "bad" in row:
                continue
            for k in row["keys"]:
                key_field = keys.get(k)
                for fl in row["flags"]:
                    if key_field and fl in flag_field:
                        pairs += 1
                        if flag_field[fl] != key_field:
                            problems.add(
                                f"{where}: {k} and {fl} share a row but set different fields "
                                f"({key_field} / {flag_field[fl]})"
                            )
                if key_field is None or key_field not in defaults:
                    continue
                has_init, value = defaults[key_field]
                if not has_init and row["default"] is None:
                    continue  # e.g. "the host name", "required": said in words
                if value is None:
                    continue
                defaults_checked += 1
                if not default_matches(value, row["default"]):
                    shown = "nothing in backticks" if row["default"] is None else row["default"]
                    problems.add(
                        f"{where}: {k}: documented default {shown!s} does not match "
                        f"{spec['config_h']} ({key_field} = {value!r})"
                    )

        for k in sorted(yaml_example_keys(text)):
            if k not in keys and not any(leaf.startswith(k + ".") for leaf in keys):
                problems.add(f"{where}: the example config uses {k}, which the parser rejects")

        summary.append(
            f"{daemon}: {len(keys)} keys, {len(flags)} flags, {pairs} key/flag pairs and "
            f"{defaults_checked} defaults checked"
        )
    return summary


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source_dir = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("KUBETRAIL_SOURCE_DIR", os.path.join(here, "..", ".."))
    )
    bin_dir = os.environ.get("KUBETRAIL_BIN_DIR")
    if not bin_dir:
        print("config_docs_test: set KUBETRAIL_BIN_DIR to the built binaries' directory",
              file=sys.stderr)
        return 1
    problems = Problems()
    try:
        summary = check(source_dir, bin_dir, problems)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"config_docs_test: {e}", file=sys.stderr)
        return 1
    for line in problems.lines:
        print(line, file=sys.stderr)
    if problems.lines:
        print(f"config_docs_test: {len(problems.lines)} problems", file=sys.stderr)
        return 1
    for line in summary:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
