"""Turns build/bench/results.json (bench/run.py) into bench/results.md and
bench/results.png.  usage: report.py RESULTS_JSON OUT_MD OUT_PNG"""

import json
import math
import os
import sys

CLIENT_NAMES = {
    "yc-c": "ycbg from C (yc_submit + client fd)",
    "yc-py": "ycbg from Python (ctypes, yc_submit)",
    "curl-multi": "raw libcurl multi loop (floor)",
    "openai-sync": "openai SDK, OpenAI + thread pool",
    "openai-async": "openai SDK, AsyncOpenAI",
}
ORDER = list(CLIENT_NAMES)


def ideal_s(row, s):
    """What the emulator allows: a job ends queue_ms + work_ms after its create
    arrives, and the poll that sees it terminal is answered rtt_ms later.
    Without quotas every create may arrive at once; with them the last create
    can arrive no earlier than (N - burst) / create_rps, and the N terminal
    polls need (N - burst) / poll_rps."""
    job = (s["queue_ms"] + s["work_ms"]) / 1000.0
    rtt = s["rtt_ms"] / 1000.0
    if not row.get("quota"):
        return job + rtt
    n = row["tasks"]
    cr, pr = s["quota_create_rps"], s["quota_poll_rps"]
    burst_c, burst_p = max(1, math.ceil(cr / 5)), max(1, math.ceil(pr / 5))
    return max(max(0, n - burst_c) / cr + job + rtt, max(0, n - burst_p) / pr + rtt)


def is_main(r, s):
    """A row of the main tables: no quota, the default max_in_flight."""
    return not r.get("quota") and r.get("in_flight") in (None, s["in_flight"])


def fmt_row(r, s, floor):
    n = r["tasks"]
    proto = "h2" if r["http_version"] == "2" else "1.1"
    if "skipped" in r:
        return "| %s | %s | skipped: %s ||||||||||" % (r["client"], proto, r["skipped"])
    if "cpu_s" not in r:
        why = [l for l in r.get("stderr", "").strip().splitlines() if l.strip()]
        return "| %s | %s | failed (exit %s): `%s` ||||||||||" % (
            r["client"], proto, r.get("exit"), (why[-1] if why else "no output")[:160])
    cpu = 1000 * r["cpu_s"] / n
    vs = ("%.2f×" % (cpu / floor)) if floor else "–"
    ideal = ideal_s(r, s)
    started = r["threads_peak"] - r["threads_before"]
    reqs = sum(r["requests"].values()) / n
    lim = sum(r.get("rate_limited", {}).values())
    return ("| %s | %s | %d/%d | %.3f | %s | %.2f | %.2f | %.1f | %d (%+d) | %d | %.2f%s | %.2f |" % (
        r["client"], proto, r["ok"], n, cpu, vs, r["wall_s"], r["wall_s"] / ideal,
        r["maxrss_kb"] / 1024, r["threads_peak"], started, r["connections"], reqs,
        (" (%d × 429)" % lim) if lim else "", r.get("load1_before", float("nan"))))


HEADER = ("| client | HTTP | ok | CPU/task ms | vs floor | wall s | wall/ideal | peak RSS MB "
          "| threads peak (started) | TCP conns | requests/task | load |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")


def find(rows, client, n, version, s, in_flight=None):
    for r in rows:
        if (r["client"] == client and r["tasks"] == n and r["http_version"] == version
                and not r.get("quota") and "skipped" not in r and "cpu_s" in r
                and r.get("in_flight") in ((in_flight,) if in_flight else (None, s["in_flight"]))):
            return r
    return None


def floor_cpu(rows, n, version, s, in_flight=None):
    r = find(rows, "curl-multi", n, version, s, in_flight)
    return 1000 * r["cpu_s"] / n if r else None


def targets(rows, s):
    out = []
    sizes = sorted({r["tasks"] for r in rows if is_main(r, s)})
    for v in ("2", "1.1"):
        for n in sizes:
            yc, fl, oa = (find(rows, "yc-c", n, v, s), find(rows, "curl-multi", n, v, s),
                          find(rows, "openai-async", n, v, s))
            proto = "HTTP/2" if v == "2" else "HTTP/1.1"
            if yc and fl:
                ratio = yc["cpu_s"] / fl["cpu_s"]
                out.append("- %s, %d tasks: ycbg (C) CPU/task is %.2f× the raw libcurl loop (target ≤ 1.3×): **%s**"
                           % (proto, n, ratio, "met" if ratio <= 1.3 else "not met"))
            if yc and oa:
                ratio = oa["cpu_s"] / yc["cpu_s"]
                # What the target can be against: the raw loop's own ratio, and the ratio per
                # request (AsyncOpenAI, CPU-bound, polls less often than it is asked to).
                per_request = (oa["cpu_s"] / sum(oa["requests"].values())) / (yc["cpu_s"] / sum(yc["requests"].values()))
                context = ["per request %.1f×" % per_request]
                if fl:
                    context.insert(0, "the raw libcurl loop itself: %.1f×" % (oa["cpu_s"] / fl["cpu_s"]))
                out.append("- %s, %d tasks: AsyncOpenAI uses %.1f× the CPU/task of ycbg (C) (target ≥ 20×): **%s** (%s)"
                           % (proto, n, ratio, "met" if ratio >= 20 else "not met", "; ".join(context)))
            if yc:
                ratio = yc["wall_s"] / ideal_s(yc, s)
                out.append("- %s, %d tasks: ycbg (C) wall time %.2f s = %.2f× the ideal %.2f s (target ≤ 1.2×): **%s**%s"
                           % (proto, n, yc["wall_s"], ratio, ideal_s(yc, s), "met" if ratio <= 1.2 else "not met",
                              " (the raw loop: %.2f×)" % (fl["wall_s"] / ideal_s(fl, s)) if fl else ""))
    big = max(sizes) if sizes else None
    for c in ("yc-c", "yc-py"):
        r = big and find(rows, c, big, "2", s)
        if r:
            rss = r["maxrss_kb"] / 1024
            started = r["threads_peak"] - r["threads_before"]
            out.append("- %d tasks through one client (%s, HTTP/2): peak RSS %.1f MB (target < 64): **%s**; "
                       "threads started by the library %d (target ≤ 2): **%s**; TCP connections %d "
                       "(target ≤ 4): **%s**" % (
                           big, c, rss, "met" if rss < 64 else "not met", started,
                           "met" if started <= 2 else "not met", r["connections"],
                           "met" if r["connections"] <= 4 else "not met"))
    return "\n".join(out)


def shown_args(argv):
    """The run's arguments as `make bench` takes them (BENCH_ARGS): --out left out."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            out.append(a if a else '""')
    return " ".join(out)


def main():
    src, md_path, png_path = sys.argv[1:4]
    data = json.load(open(src))
    rows, s, m = data["rows"], data["settings"], data["machine"]
    lines = ["# ycbg benchmark results", "",
             "Made by `make bench BENCH_ARGS=\"%s\"` (bench/run.sh), %s to %s." % (
                 shown_args(data["argv"]), data["started"], data["finished"]),
             "",
             "Machine: %s, %d cores, %.1f GB RAM, Linux %s, Python %s, %s. Shared with other work: "
             "load average (1, 5, 15 min) %.2f / %.2f / %.2f before the run and %.2f / %.2f / %.2f after "
             "it; each row gives the 1-minute load when it started." % (
                 m["cpu"], m["cores"], m["mem_gb"], m["kernel"], m["python"], m["curl"],
                 *data["load_before"], *data["load_after"]),
             "",
             *(["Rows re-run afterwards and merged in (`--merge`): " + "; ".join(
                 "`%s` at %s (load %.2f / %.2f / %.2f)" % (shown_args(mm["argv"]), mm["started"], *mm["load_before"])
                 for mm in data["merged"]) + ".", ""] if data.get("merged") else []),
             "Emulator: `yc-emulator` over HTTPS (certificate made by openssl at bench time), "
             "`--rtt-ms %d --connect-ms %d --queue-ms %d --work-ms %d`, no quotas unless a row says so; "
             "reset before each row. Every client polls each task %d ms after the previous answer "
             "(ycbg: `poll_interval_ms` = `max_poll_interval_ms` = %d); ycbg and the raw loop keep at most "
             "%d requests in flight; the sync openai client uses %d threads; AsyncOpenAI runs all tasks as "
             "coroutines at once. HTTP/2 is negotiated by ALPN (`http_version` \"2\"; openai: httpx with "
             "`http2=True`); HTTP/1.1 rows use the same emulator over HTTPS." % (
                 s["rtt_ms"], s["connect_ms"], s["queue_ms"], s["work_ms"], s["poll_ms"], s["poll_ms"],
                 s["in_flight"], s["workers"]),
             "",
             "Columns: **CPU/task** is the client process's user+sys CPU (getrusage RUSAGE_SELF, its own "
             "process, no children) from just before the client is made to the end, divided by the tasks "
             "(Python: imports and interpreter start-up left out); **vs floor** divides it by the raw "
             "libcurl loop's at the same size and protocol; **wall** is the same span; **ideal** is "
             "queue + work + one round trip (%.2f s without quotas: the job ends %d ms after its create "
             "arrives and the poll that sees it is answered %d ms later; with quotas the last create "
             "cannot arrive before (N − burst) / create_rps); **peak RSS** is ru_maxrss (the whole "
             "process, interpreter included); **threads peak** is the highest `Threads:` in "
             "/proc/PID/status sampled every 5 ms, and in brackets how many more than the process had "
             "before the client was made (for ycbg: the threads the library started); **TCP conns** and "
             "**requests/task** are deltas of the emulator's `/_emulator/stats` (`connections`, and "
             "create + retrieve requests)." % (
                 (s["queue_ms"] + s["work_ms"] + s["rtt_ms"]) / 1000.0, s["queue_ms"] + s["work_ms"],
                 s["rtt_ms"]),
             ""]
    sizes = sorted({r["tasks"] for r in rows if is_main(r, s)})
    for n in sizes:
        lines += ["## %d tasks" % n, "", HEADER]
        for v in ("2", "1.1"):
            for c in ORDER:
                for r in rows:
                    if r["client"] == c and r["tasks"] == n and r["http_version"] == v and is_main(r, s):
                        lines.append(fmt_row(r, s, floor_cpu(rows, n, v, s)))
        lines.append("")
    extra = [r for r in rows if not r.get("quota") and not is_main(r, s)]
    if extra:
        k = extra[0]["in_flight"]
        lines += ["## max_in_flight %d, HTTP/2" % k, "",
                  "The same workflow with %d requests in flight instead of %d (ycbg's `max_in_flight`, "
                  "the raw loop's limit). libcurl allows 100 concurrent HTTP/2 streams per connection "
                  "by default (CURLMOPT_MAX_CONCURRENT_STREAMS); both the raw loop and ycbg raise it to "
                  "their limit (ycbg: max_in_flight), so they stay on one connection (see the TCP "
                  "conns column)." % (k, s["in_flight"]), "", HEADER]
        for r in extra:
            lines.append(fmt_row(r, s, floor_cpu(rows, r["tasks"], r["http_version"], s, k)))
        lines.append("")
    q = [r for r in rows if r.get("quota")]
    if q:
        lines += ["## With the published Yandex quotas (%g creates/s, %g polls/s), HTTP/2" % (
            s["quota_create_rps"], s["quota_poll_rps"]), "",
            "The openai clients run with `max_retries=200` in every row so that they survive the 429s "
            "here (the SDK waits as `retry-after-ms` says); ycbg retries creates after a 429 as long as "
            "it takes and slows the whole client down.", "", HEADER]
        for r in q:
            lines.append(fmt_row(r, s, None))
        lines.append("")
    skipped = [r for r in rows if "skipped" in r]
    if skipped:
        oa = [1000 * r["cpu_s"] / r["tasks"] for r in rows
              if r["client"] in ("openai-sync", "openai-async") and "cpu_s" in r and is_main(r, s)]
        lines += ["Not run: " + "; ".join(sorted({"%s at %d tasks" % (r["client"], r["tasks"]) for r in skipped}))
                  + " (too slow for this shared 2-core machine%s)." % (
                      ": the openai clients used %.0f–%.0f ms of CPU per task above, in one Python "
                      "process, so minutes per row at this size" % (min(oa), max(oa)) if oa else ""), ""]
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
    lines += ["## Against the targets", "", targets(rows, s), ""]
    if os.path.exists(notes):
        lines += [open(notes).read().strip(), ""]
    lines += [
              "![CPU per task and wall time](results.png)", ""]
    open(md_path, "w").write("\n".join(lines))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.2))
    colors = {"yc-c": "tab:blue", "yc-py": "tab:cyan", "curl-multi": "black",
              "openai-sync": "tab:orange", "openai-async": "tab:red"}
    for c in ORDER:
        for v, style in (("2", "-"), ("1.1", "--")):
            pts = sorted((r["tasks"], 1000 * r["cpu_s"] / r["tasks"], r["wall_s"]) for r in rows
                         if r["client"] == c and r["http_version"] == v and is_main(r, s)
                         and "skipped" not in r and "cpu_s" in r)
            if not pts:
                continue
            label = "%s, %s" % (c, "HTTP/2" if v == "2" else "HTTP/1.1")
            a1.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", color=colors[c], label=label)
            a2.plot([p[0] for p in pts], [p[2] for p in pts], style, marker="o", color=colors[c], label=label)
    if sizes:
        a2.plot(sizes, [ideal_s({"tasks": n}, s) for n in sizes], ":", color="gray", label="ideal (job + RTT)")
    for a, t, y in ((a1, "Client CPU per task (user+sys)", "ms per task"),
                    (a2, "Wall time", "seconds")):
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("tasks")
        a.set_ylabel(y)
        a.set_title(t)
        a.grid(True, which="both", alpha=0.3)
        if sizes:
            a.set_xticks(sizes)
            a.set_xticklabels(["{:,}".format(n) for n in sizes])
            a.xaxis.set_minor_formatter(NullFormatter())
        a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "%g" % v))
        a.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: "%g" % v if ("%.0e" % v)[0] in "25" else ""))
    a2.legend(fontsize=8, loc="upper left")
    fig.suptitle("ycbg vs raw libcurl vs openai SDK: emulator with %d ms RTT, %d ms jobs, poll every %d ms"
                 % (s["rtt_ms"], s["queue_ms"] + s["work_ms"], s["poll_ms"]))
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    main()
