#!/usr/bin/env python3
"""Checks the monitoring examples of docs/operations.md against a live notaryd.

    monitoring_examples_check.py METRICS_FILE SOURCE_DIR [--rules F] [--dashboard F]

METRICS_FILE is what a running notaryd served at /metrics. Every metric an alert rule or a
dashboard panel names must be one notaryd exports there, with the label values the query
matches; the families notaryd exports only with a signer or witnesses configured, and
notary-milter's, must be written by the source (SOURCE_DIR) as that exact name. An alert on a
metric nobody exports never fires, so a renamed metric would silently disarm it.
Exit status 0 when all hold, 1 with one line per problem.
"""
import json
import re
import sys

import yaml

# Families that a plain notaryd does not export: (prefix or name, where the source writes it).
CONDITIONAL = {
    "signer_": "common/src/metrics.cc",            # with --signer
    "witness_": "pipeline/src/checkpoint_publisher.cc",  # with --witness
    "milter_": "plugin/src/stats.cc",              # notary-milter's own /metrics
}
PROMETHEUS_OWN = {"up"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan"}


def live_series(path):
    """name -> list of label dicts, from Prometheus text."""
    series = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        series.setdefault(m.group(1), []).append(labels)
    return series


def selectors(expr):
    """(metric name, [(label, op, value)]) for every series selector of a PromQL expression."""
    out = []
    # Label matchers belong to the identifier right before them.
    for m in re.finditer(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}', expr):
        matchers = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"', m.group(2))
        out.append((m.group(1), matchers))
    bare = re.sub(r'\{[^}]*\}', ' ', expr)
    bare = re.sub(r'\[[^\]]*\]', ' ', bare)
    bare = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', bare)
    bare = re.sub(r'"[^"]*"', ' ', bare)
    for m in re.finditer(r'(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?', bare):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        if not any(name == s[0] for s in out):
            out.append((name, []))
    return out


def family(name, live):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name not in live and name[: -len(suffix)] + "_bucket" in live:
            return name[: -len(suffix)]
    return name


def check_expr(where, expr, live, source_dir, problems):
    for name, matchers in selectors(expr):
        if name in PROMETHEUS_OWN:
            continue
        conditional = next((f for p, f in CONDITIONAL.items() if name.startswith(p)), None)
        if conditional:
            text = open(f"{source_dir}/{conditional}", encoding="utf-8").read()
            if f'"{name}"' not in text:
                problems.append(f"{where}: {name} is not a metric {conditional} exports")
            continue
        if name not in live:
            problems.append(f"{where}: notaryd exports no metric {name} ({family(name, live)})")
            continue
        for label, op, value in matchers:
            if label in ("job", "instance") or op.startswith("!"):
                continue
            have = {s.get(label) for s in live[name]}
            wanted = value.split("|") if op == "=~" else [value]
            for v in wanted:
                if v not in have:
                    problems.append(f"{where}: {name} has no series with {label}=\"{v}\"")


def main():
    args = sys.argv[1:]
    metrics, source_dir = args[0], args[1]
    rules = f"{source_dir}/docs/examples/prometheus/notary-alerts.yml"
    dashboard = f"{source_dir}/docs/examples/grafana/notary-dashboard.json"
    if "--rules" in args:
        rules = args[args.index("--rules") + 1]
    if "--dashboard" in args:
        dashboard = args[args.index("--dashboard") + 1]
    live = live_series(metrics)
    problems = []
    if not live:
        problems.append(f"{metrics}: no metrics")
    doc = yaml.safe_load(open(rules, encoding="utf-8"))
    n_rules = 0
    for group in doc["groups"]:
        for rule in group["rules"]:
            n_rules += 1
            check_expr(f"alert {rule.get('alert', rule.get('record'))}", rule["expr"], live,
                       source_dir, problems)
            if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
                problems.append(f"alert {rule.get('alert')}: severity is critical or warning")
    dash = json.load(open(dashboard, encoding="utf-8"))
    ids = set()
    n_targets = 0
    for panel in dash["panels"]:
        if panel["id"] in ids:
            problems.append(f"panel {panel['title']}: id {panel['id']} used twice")
        ids.add(panel["id"])
        pos = panel["gridPos"]
        if pos["x"] + pos["w"] > 24:
            problems.append(f"panel {panel['title']}: wider than the grid")
        if panel["datasource"]["uid"] != "${DS_PROMETHEUS}":
            problems.append(f"panel {panel['title']}: data source is not the imported one")
        for target in panel["targets"]:
            n_targets += 1
            check_expr(f"panel {panel['title']}", target["expr"], live, source_dir, problems)
    for p in problems:
        print(p)
    if not problems:
        print(f"monitoring examples: {n_rules} alert rules and {n_targets} panel queries name "
              f"only metrics notaryd exports")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
