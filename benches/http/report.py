#!/usr/bin/env python3
"""Merges the per-phase reports of benches/http/run.sh into one JSON file and prints tables.

usage: report.py RUN_DIR CRITERION_ESTIMATES_JSON RESULTS_JSON
       report.py --median RESULTS_JSON...   (the median of several runs, one table)
"""
import json
import os
import statistics
import sys

PHASES = ["health", "protected", "protected_invalid", "login_1conn", "login", "flood", "flood_probe"]
# Phases in the order run.sh runs them (flood_probe runs beside flood).
MB = 1024 * 1024


def load(path):
    with open(path) as f:
        return json.load(f)


def collect(run_dir, estimates, results_path):
    machine = load(os.path.join(run_dir, "machine.json"))
    machine.update(load(os.path.join(run_dir, "end.json")))
    verify = None
    copied = os.path.join(run_dir, "criterion-estimates.json")
    text = os.path.join(run_dir, "criterion-hashing.txt")
    if os.path.exists(copied) or os.path.exists(estimates):
        path = copied if os.path.exists(copied) else estimates
        median_ns = load(path)["median"]["point_estimate"]
        verify = {
            "source": "cargo bench -p portcullis-password --bench hashing (argon2id_m19456_t2_p1/verify, median)",
            "verify_ms": round(median_ns / 1e6, 3),
            "measured_at": os.path.getmtime(path),
        }
    elif os.path.exists(text):
        # Only the bench's printed line: "time: [low estimate high]" (criterion's point estimate).
        for line in open(text):
            if "time:" in line:
                value, unit = line.split("[")[1].split()[2:4]
                scale = {"ms": 1, "µs": 1e-3, "us": 1e-3, "s": 1e3}[unit]
                verify = {
                    "source": "cargo bench -p portcullis-password --bench hashing (printed point estimate)",
                    "verify_ms": round(float(value) * scale, 3),
                }
    if verify:
        load_path = os.path.join(run_dir, "criterion-load.json")
        if os.path.exists(load_path):
            verify.update(load(load_path))
        else:
            verify["note"] = "not re-measured in this run: an earlier result"
    targets = []
    order = ["portcullis-cache-off", "portcullis-cache-on", "axum-login", "portcullis-postgres"]
    names = sorted(os.listdir(run_dir), key=lambda n: (order.index(n) if n in order else len(order), n))
    for name in names:
        tdir = os.path.join(run_dir, name)
        if not os.path.isfile(os.path.join(tdir, "target.json")):
            continue
        target = load(os.path.join(tdir, "target.json"))
        phases = {}
        for phase in PHASES:
            path = os.path.join(tdir, phase + ".json")
            if not os.path.exists(path):
                continue
            report = load(path)
            server = os.path.join(tdir, phase + ".server.json")
            if os.path.exists(server):
                report["server"] = load(server)
                expected = str(report["server"]["expected_status"])
                report["unexpected_status"] = sum(
                    n for code, n in report["status"].items() if code != expected
                )
            phases[phase] = report
        # How much of the machine other processes used during each phase: busy ticks less the
        # server's and the load drivers' own.
        for phase, report in phases.items():
            server = report.get("server", {})
            ticks = server.get("machine_ticks")
            if not ticks or not ticks[1]:
                continue
            busy, total, steal = ticks
            ours = server.get("server_ticks", 0) + (report.get("cpu_ticks") or 0)
            if phase == "flood" and "flood_probe" in phases:
                ours += phases["flood_probe"].get("cpu_ticks") or 0
            server["other_cpu_share"] = round(max(busy - ours, 0) / total, 3)
            server["steal_share"] = round(steal / total, 3)
            server["server_cpu_share"] = round(server.get("server_ticks", 0) / total, 3)
            # Server CPU per request (clock ticks of 10 ms; warm-up requests estimated at the
            # measured rate).
            sent = report["rps"] * (report["duration_s"] + report["warmup_s"])
            if sent and phase in ("health", "protected", "protected_invalid"):
                server["server_cpu_us_per_request"] = round(server.get("server_ticks", 0) * 1e4 / sent, 1)
        target["phases"] = phases
        loads = [r["server"] for r in phases.values() if "server" in r]
        target["loadavg_start"] = loads[0]["loadavg_start"] if loads else ""
        target["loadavg_end"] = loads[-1]["loadavg_end"] if loads else ""
        shares = [x["other_cpu_share"] for x in loads if "other_cpu_share" in x]
        target["other_cpu_share_max"] = max(shares) if shares else None
        target["loadavg_max_1min"] = max(
            (float(x["loadavg_" + e].split()[0]) for x in loads for e in ("start", "end")), default=None
        )
        targets.append(target)
    results = {"machine": machine, "argon2_verify": verify, "targets": targets}
    results["summary"] = summarize(results)
    with open(results_path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    return results


def summarize(results):
    """The figures of the docs table, per target."""
    cpus = results["machine"]["cpus"]
    verify = results.get("argon2_verify")
    rows = {}
    for target in results["targets"]:
        p = dict(target["phases"])
        missing = {"ok_rps": None, "rps": None, "requests": None, "status": {},
                   "latency_ms": {"p50": None, "p99": None}, "server": {"peak_rss_kib": 0}}
        for phase in PHASES:
            p.setdefault(phase, missing)
        health = p["health"]["ok_rps"]
        protected = p["protected"]["ok_rps"]
        one = p.get("login_1conn", {}).get("latency_ms", {}).get("mean") or None
        limit_hash = cpus / (verify["verify_ms"] / 1000) if verify else None
        limit_login = cpus / (one / 1000) if one else None
        errors = 0
        for name, report in p.items():
            if report is not missing:
                errors += report["errors"]["total"] + report.get("unexpected_status", 0)
        rows[target["target"]] = {
            "health_rps": health,
            "protected_rps": protected,
            "protected_over_health": round(protected / health, 3) if health and protected else None,
            "protected_invalid_rps": p["protected_invalid"]["rps"],
            "protected_invalid_401": p["protected_invalid"]["status"].get("401", 0),
            "login_rps": p["login"]["ok_rps"],
            "login_p50_ms": p["login"]["latency_ms"]["p50"],
            "login_p99_ms": p["login"]["latency_ms"]["p99"],
            "login_1conn_ms": one,
            "login_limit_hash": round(limit_hash, 1) if limit_hash else None,
            "login_limit_1conn": round(limit_login, 1) if limit_login else None,
            # cores / the argon2id verify time (criterion, same parameters as the peer's
            # password-auth); without it, cores / this server's one-connection login time.
            "login_limit": round(limit_hash or limit_login or 0, 1) or None,
            "flood_login_rps": p["flood"]["ok_rps"],
            # The login rate if the server had had the whole machine: other processes took
            # CPU on this shared machine. An estimate, labelled as such wherever it is shown.
            "login_server_cpu_share": p["login"]["server"].get("server_cpu_share"),
            "login_rps_whole_machine_estimate": round(
                p["login"]["ok_rps"] / p["login"]["server"]["server_cpu_share"], 1
            ) if p["login"]["server"].get("server_cpu_share") else None,
            "probe_health_p50_ms": p["flood_probe"]["latency_ms"]["p50"],
            "probe_health_p99_ms": p["flood_probe"]["latency_ms"]["p99"],
            "probe_requests": p["flood_probe"]["requests"],
            "peak_rss_flood_mb": round(
                max(p["login"]["server"]["peak_rss_kib"], p["flood"]["server"]["peak_rss_kib"]) / 1024, 1
            ),
            "peak_rss_protected_mb": round(p["protected"]["server"]["peak_rss_kib"] / 1024, 1) or None,
            "errors": errors,
            "loadavg_start": target["loadavg_start"],
            "loadavg_end": target["loadavg_end"],
            "loadavg_max_1min": target["loadavg_max_1min"],
            "other_cpu_share_max": target["other_cpu_share_max"],
            "server_cpu_us_per_request": {
                name: report["server"].get("server_cpu_us_per_request")
                for name, report in p.items()
                if report.get("server", {}).get("server_cpu_us_per_request") is not None
            },
            "other_cpu_share": {
                name: report["server"].get("other_cpu_share") for name, report in p.items() if "server" in report
            },
        }
    return rows


def fmt(x, digits=0):
    if x is None:
        return "–"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def mb(x):
    return "–" if not x else f"{x:,.1f} MB"


def share(x):
    return "–" if x is None else f"{x:.0%}"


def table(summary, machine):
    lines = [
        "| target | GET /health rps | GET /protected rps (valid) | protected / health | GET /protected rps (invalid, 401) "
        "| login rps (limit) | login p50 / p99 | /health p50 / p99 during a login flood | peak RSS (login flood) "
        "| peak RSS (/protected) | errors | CPU used by other processes (worst phase) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in summary.items():
        limit = r["login_limit"]
        lines.append(
            f"| {name} | {fmt(r['health_rps'])} | {fmt(r['protected_rps'])} | {fmt(r['protected_over_health'], 2)} "
            f"| {fmt(r['protected_invalid_rps'])} | {fmt(r['login_rps'], 1)} of {fmt(limit, 1)} "
            f"| {fmt(r['login_p50_ms'], 0)} / {fmt(r['login_p99_ms'], 0)} ms "
            f"| {fmt(r['probe_health_p50_ms'], 2)} / {fmt(r['probe_health_p99_ms'], 2)} ms "
            f"| {mb(r['peak_rss_flood_mb'])} | {mb(r['peak_rss_protected_mb'])} | {fmt(r['errors'])} "
            f"| {share(r.get('other_cpu_share_max'))} |"
        )
    return "\n".join(lines)


def checks(summary):
    """The issue's targets, met or not (those the phases run can tell)."""
    out = []
    peer = summary.get("axum-login", {})
    on = summary.get("portcullis-cache-on", {})
    off = summary.get("portcullis-cache-off", {})

    def line(ok, text):
        out.append(f"- [{'met' if ok else 'NOT met'}] {text}")

    if peer.get("protected_rps") and on.get("protected_rps"):
        ratio = on["protected_rps"] / peer["protected_rps"]
        line(ratio >= 3, f"authenticated requests, cache on vs axum-login: {ratio:.2f}x (target >= 3x)")
    if peer.get("protected_rps") and off.get("protected_rps"):
        ratio = off["protected_rps"] / peer["protected_rps"]
        line(ratio >= 1, f"authenticated requests, cache off vs axum-login: {ratio:.2f}x (target >= 1x)")
    if on.get("protected_over_health"):
        line(on["protected_over_health"] >= 0.8,
             f"protected / health with the cache: {on['protected_over_health']:.2f} (target >= 0.8)")
    for name, r in summary.items():
        if name == "axum-login":
            continue
        limit = r["login_limit"]
        if limit and r["login_rps"] is not None:
            share = r["login_rps"] / limit
            line(share >= 0.9, f"{name}: login {r['login_rps']:.1f}/s = {share:.0%} of the hashing limit {limit:.1f}/s (target >= 90%)")
            if r.get("login_rps_whole_machine_estimate"):
                out.append(f"  (the server had {r['login_server_cpu_share']:.0%} of the CPU; with all of it, about "
                           f"{r['login_rps_whole_machine_estimate']:.0f}/s = "
                           f"{r['login_rps_whole_machine_estimate'] / limit:.0%} of the limit: an estimate)")
        if r["probe_health_p99_ms"] is not None:
            line(r["probe_health_p99_ms"] < 10,
                 f"{name}: /health p99 during a login flood {r['probe_health_p99_ms']:.2f} ms (target < 10 ms)")
        if r["peak_rss_flood_mb"]:
            line(r["peak_rss_flood_mb"] < 150,
                 f"{name}: peak RSS during a login flood {r['peak_rss_flood_mb']:.1f} MB (target < 150 MB)")
    return "\n".join(out)


def median_of(paths):
    runs = [load(p) for p in paths]
    names = list(runs[0]["summary"].keys())
    merged = {}
    for name in names:
        rows = [r["summary"][name] for r in runs if name in r["summary"]]
        row = {}
        for key, value in rows[0].items():
            values = [r[key] for r in rows]
            if key in ("loadavg_max_1min", "other_cpu_share_max"):
                row[key] = max((v for v in values if v is not None), default=None)
            elif all(isinstance(v, (int, float)) for v in values):
                row[key] = statistics.median(values)
            else:
                row[key] = value
        merged[name] = row
    return merged, runs[0]["machine"]


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--median":
        summary, machine = median_of(sys.argv[2:])
        print(f"median of {len(sys.argv) - 2} runs")
    elif len(sys.argv) == 4:
        results = collect(sys.argv[1], sys.argv[2], sys.argv[3])
        summary, machine = results["summary"], results["machine"]
        verify = results["argon2_verify"]
        print(f"machine: {machine['cpus']} cores ({machine['cpu_model']}), {machine['memory_kib'] // 1024} MiB, "
              f"{machine['rustc']}; load average {machine['loadavg_start']} at the start, {machine['loadavg_end']} at the end")
        if verify:
            print(f"argon2id verify: {verify['verify_ms']} ms ({verify['source']}); limit = {machine['cpus']} cores / verify")
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    print()
    print(table(summary, machine))
    print()
    print(checks(summary))


if __name__ == "__main__":
    main()
