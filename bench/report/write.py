#!/usr/bin/env python3
"""Writes docs/PERFORMANCE.md and its plots from the figures bench/report/report collected.

Reads WORK/main.fig (bench_jobs --figures: NAME VALUE lines), WORK/in-flight-N.fig (the closed
loop with N operations in flight through Host::submit), WORK/latency.txt (the open loop's latencies to the broker, ms), and
WORK/durable.fig with WORK/rss.dat (waiting jobs, `stepline run`, the restart and resident memory
over a long run: OPERATIONS RSS_KIB samples); draws the plots with the gnuplot scripts beside this
file into OUT/performance/.
"""
import argparse
import glob
import os
import platform
import subprocess


def read_figures(path):
    figures = {}
    with open(path) as f:
        for line in f:
            name, value = line.split()
            figures[name] = float(value)
    return figures


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def gnuplot(script, out, **variables):
    args = ["gnuplot"]
    for name, value in variables.items():
        args += ["-e", f"{name}={value}"]
    subprocess.run(args + [script], check=True)


def quoted(text):
    return "'" + text.replace("'", "''") + "'"


def main():
    p = argparse.ArgumentParser()
    for name in ["work", "out", "started", "load", "load-after", "gp"]:
        p.add_argument("--" + name, required=True)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--sweep-messages", type=int, required=True)
    a = p.parse_args()
    f = read_figures(os.path.join(a.work, "main.fig"))
    d = read_figures(os.path.join(a.work, "durable.fig"))
    plots = os.path.join(a.out, "performance")
    os.makedirs(plots, exist_ok=True)

    # Throughput against operations in flight.
    sweep = []
    for path in glob.glob(os.path.join(a.work, "in-flight-*.fig")):
        g = read_figures(path)
        sweep.append((int(g["in_flight"]), g["stepline_rate"], g["baseline_rate"], g["stepline_cpu_us"]))
    sweep.sort()
    data = os.path.join(a.work, "throughput.dat")
    with open(data, "w") as out:
        for row in sweep:
            out.write("%d %.1f %.1f\n" % row[:3])
    gnuplot(os.path.join(a.gp, "throughput.gp"), None, DATA=quoted(data),
            OUT=quoted(os.path.join(plots, "throughput.png")))

    # Latency distribution of the open loop.
    with open(os.path.join(a.work, "latency.txt")) as lat:
        latencies = sorted(float(x) for x in lat if x.strip())
    data = os.path.join(a.work, "latency.dat")
    with open(data, "w") as out:
        n = len(latencies)
        for i in range(1000):
            q = (i + 0.5) / 1000
            out.write("%.2f %.4f\n" % (q * 100, latencies[min(n - 1, int(q * n))]))
        out.write("99.95 %.4f\n" % latencies[min(n - 1, int(0.9995 * n))])
        out.write("100 %.4f\n" % latencies[-1])
    title = "Open loop at %.0f ops/s: operation due -> broker acceptance (%d operations)" % (
        f["open_rate"], n)
    gnuplot(os.path.join(a.gp, "latency.gp"), None, DATA=quoted(data), GOAL=5, TITLE=quoted(title),
            OUT=quoted(os.path.join(plots, "latency.png")))

    # Per-operation CPU breakdown.
    host_beyond = f["stepline_cpu_us"] - f["floor_us"]
    data = os.path.join(a.work, "breakdown.dat")
    with open(data, "w") as out:
        out.write('"SQLite floor" %.2f\n' % f["floor_us"])
        out.write('"host beyond the floor" %.2f\n' % host_beyond)
        out.write('"host in all" %.2f\n' % f["stepline_cpu_us"])
        for key, label in [("intake", "intake thread"), ("workers", "workers"),
                           ("amqp", "AMQP thread"), ("checkpointer", "checkpointer")]:
            if "stepline_cpu_%s_us" % key in f:
                out.write('"host: %s" %.2f\n' % (label, f["stepline_cpu_%s_us" % key]))
        out.write('"host goal" 30\n')
        out.write('"broker" %.2f\n' % f["broker_us"])
        out.write('"Proton sender" %.2f\n' % f["baseline_cpu_us"])
        if "sdk_inflight_cpu_us" in f:
            out.write('"SDK sender, 64 in flight" %.2f\n' % f["sdk_inflight_cpu_us"])
    gnuplot(os.path.join(a.gp, "breakdown.gp"), None, DATA=quoted(data),
            OUT=quoted(os.path.join(plots, "breakdown.png")))

    # Resident memory over the long run.
    mib = lambda kib: kib / 1024.0
    count = lambda x: "{:,}".format(int(x))
    title = "Host RSS over %s durable operations (64 in flight, %.0f ops/s)" % (
        count(d["rss_operations"]), d["rss_rate"])
    gnuplot(os.path.join(a.gp, "rss.gp"), None, DATA=quoted(os.path.join(a.work, "rss.dat")),
            WARM=d["rss_warm_kib"], WARM_AT=d["rss_warm_at"], TITLE=quoted(title),
            OUT=quoted(os.path.join(plots, "rss.png")))

    rate = f["stepline_rate"]
    rows = [
        ("Durable operations/s, closed loop, Host::submit with %d in flight (operation -> job "
         "Succeeded)" % f["in_flight"],
         "%.0f ops/s" % rate, "plain Proton C++ sender %.0f msg/s" % f["baseline_rate"],
         "%.2f" % f.get("stepline_ratio", rate / f["baseline_rate"]), ">= 0.80"),
    ]
    if "threads_rate" in f:
        rows.append(("The same from %d client threads, each waiting for its operation "
                     "(Host::execute): ops/s, host CPU per operation" % f["clients"],
                     "%.0f ops/s, %.1f us" % (f["threads_rate"], f["threads_cpu_us"]),
                     "Host::submit %.0f ops/s, %.1f us" % (rate, f["stepline_cpu_us"]),
                     "%.2f" % (f["threads_rate"] / rate), "-"))
    for mode, label, goal in [("inflight", "64 sends in flight", ">= 1.00"),
                              ("batched", "batched (createMessageBatch)", ">= 0.50"),
                              ("awaited", "one awaited send at a time", "-")]:
        if "sdk_%s_rate" % mode in f:
            rows.append(("Durable operations/s against the @azure/service-bus sender, " + label,
                         "%.0f ops/s" % rate, "%.0f msg/s" % f["sdk_%s_rate" % mode],
                         "%.2f" % f.get("sdk_%s_ratio" % mode, rate / f["sdk_%s_rate" % mode]),
                         goal))
    rows += [
        ("Host CPU per durable operation", "%.1f us" % f["stepline_cpu_us"],
         "Proton sender %.1f us/msg" % f["baseline_cpu_us"],
         "%.2f" % (f["stepline_cpu_us"] / f["baseline_cpu_us"]), "<= 30 us"),
    ]
    if "stepline_cpu_intake_us" in f:
        # The intake thread runs every operation and its commit group one after another: its
        # share of a core says how near the closed loop is to what one thread can run.
        rows.append(("Host CPU per durable operation by thread: the intake (operations and their "
                     "commits) / the async service's workers / the AMQP thread / the checkpointer "
                     "/ the others; in the kernel",
                     "%.1f / %.1f / %.1f / %.1f / %.1f us; %.1f us" % tuple(
                         f["stepline_cpu_%s_us" % k] for k in
                         ["intake", "workers", "amqp", "checkpointer", "others", "kernel"]),
                     "the intake at %.0f ops/s" % rate,
                     "%.2f of a core" % (f["stepline_cpu_intake_us"] * rate / 1e6), "-"))
    if "sdk_inflight_cpu_us" in f:
        rows.append(("Host CPU per durable operation against the SDK sender's CPU per message (64 in flight)",
                     "%.1f us" % f["stepline_cpu_us"], "%.1f us/msg" % f["sdk_inflight_cpu_us"],
                     "%.2f" % (f["stepline_cpu_us"] / f["sdk_inflight_cpu_us"]), "-"))
    rows += [
        ("Open loop p50 / p99 / p999, operation due -> broker acceptance (the round with the "
         "median p99; the rounds' p99: %s ms)" % ", ".join(
             "%.2f" % f[k] for k in sorted(f) if k.startswith("open_round_p99_ms_")),
         "%.2f / %.2f / %.2f ms" % (f["open_p50_ms"], f["open_p99_ms"], f["open_p999_ms"]),
         "at %.0f ops/s = %.2f x the closed loop's rate" % (f["open_rate"], f["open_rate"] / rate),
         "p99 %.2f x goal" % (f["open_p99_ms"] / 5.0), "p99 <= 5 ms"),
        ("Open loop p99, operation due -> operation returned (job durable)",
         "%.2f ms" % f["open_return_p99_ms"], "same run", "-", "-"),
        ("Closed loop p50 / p99 latency (job created -> completed, the store's millisecond times)",
         "%.0f / %.0f ms" % (f["stepline_p50_ms"], f["stepline_p99_ms"]), "-", "-", "-"),
        ("SQLite floor of one durable operation (its statements alone, as many to a commit as "
         "the closed loop; the job's row and result %.1f us of it)"
         % (f["floor_us"] - f["floor_record_us"]), "%.1f us" % f["floor_us"],
         "host CPU per operation %.1f us" % f["stepline_cpu_us"],
         "%.2f of the host's CPU" % (f["floor_us"] / f["stepline_cpu_us"]), "-"),
        ("Broker CPU per message: the plain sender's / the host's posts",
         "%.1f / %.1f us" % (f["broker_us"], f.get("broker_stepline_us", 0)), "-", "-", "-"),
        ("Ceiling on this machine from floor + broker + sender + context writing",
         "%.0f ops/s" % f["ceiling_rate"], "Proton sender %.0f msg/s" % f["baseline_rate"],
         "%.2f" % (f["ceiling_rate"] / f["baseline_rate"]), "-"),
        ("The same ceiling with the job's row and result free (the records and contexts alone, "
         "%.1f us)" % f["floor_record_us"],
         "%.0f ops/s" % f["ceiling_records_rate"], "Proton sender %.0f msg/s" % f["baseline_rate"],
         "%.2f" % (f["ceiling_records_rate"] / f["baseline_rate"]), "-"),
        ("`stepline run --drain --parallel %d` (JSONL) against the Host API, same operations, "
         "operation -> job Succeeded (median of %d rounds)" % (d["run_in_flight"], d["run_rounds"]),
         "%.0f ops/s" % d["run_rate"],
         "Host API, Host::submit with %d in flight %.0f ops/s" % (d["run_in_flight"], d["run_host_rate"]),
         "%.2f x the Host API's time" % d["run_time_ratio"], "<= 1.20 x"),
        ("Host RSS over %s durable operations: at the end / the most after warm-up (%s "
         "operations)" % (count(d["rss_operations"]), count(d["rss_warm_at"])),
         "%.1f / %.1f MiB" % (mib(d["rss_end_kib"]), mib(d["rss_max_kib"])),
         "%.1f MiB after warm-up" % mib(d["rss_warm_kib"]),
         "%.2f / %.2f" % (d["rss_end_kib"] / d["rss_warm_kib"],
                          d["rss_max_kib"] / d["rss_warm_kib"]), "0.90-1.10"),
        ("Async service RSS with %s waiting jobs" % count(d["waiting_jobs"]),
         "%.1f MiB" % mib(d["waiting_rss_kib"]), "%.1f MiB with none" % mib(d["waiting_none_rss_kib"]),
         "%.2f" % (d["waiting_rss_kib"] / d["waiting_none_rss_kib"]), "<= 1.10"),
        ("Restart over %s pending endpoint jobs: process start -> first broker acceptance (all "
         "delivered)" % count(d["restart_pending"]),
         "%.3f s (%.1f s)" % (d["restart_first_s"], d["restart_all_s"]),
         "%.3f s with one pending job" % d["restart_one_first_s"],
         "%.2f" % (d["restart_first_s"] / d["restart_one_first_s"]), "<= 1 s"),
    ]
    callgrind = os.path.join(a.work, "callgrind.fig")
    if os.path.exists(callgrind) and os.path.getsize(callgrind) > 0:
        g = read_figures(callgrind)
        rows.append(("Host instructions per durable operation (bench/jobs/callgrind, 1,000 and "
                     "3,000 operations, the difference)", "%.0f" % g["instructions_per_op"],
                     "not run here: 481,000 before the changes docs/JOBS.md lists",
                     "%.2f" % (g["instructions_per_op"] / 481000), "-"))
        if "instructions_submit_per_op" in g:
            rows.append(("The same through Host::submit with 64 in flight (the closed loop above)",
                         "%.0f" % g["instructions_submit_per_op"],
                         "8 client threads %.0f" % g["instructions_per_op"],
                         "%.2f" % (g["instructions_submit_per_op"] / g["instructions_per_op"]),
                         "-"))
    sweep_rows = "\n".join("| %d | %.0f | %.0f | %.2f | %.1f |" % (c, r, b, r / b, cpu)
                           for c, r, b, cpu in sweep)
    table = "\n".join("| %s |" % " | ".join(r) for r in rows)
    nproc = os.cpu_count()
    noisy = ""
    load = float(a.load.split()[0])
    if load > 0.5 * nproc:
        noisy = ("\n**The machine was shared and busy during this run** (load average %s at the start, "
                 "%s at the end, on %d cores): other work ran before or beside the benchmark, so "
                 "absolute rates are low and noisy; the ratios, measured in the same run, are the "
                 "figures to compare.\n" % (a.load, a.load_after, nproc))
    text = f"""# Performance

Generated by `./dev bench --report` (bench/report/report; plots by the gnuplot scripts in
bench/report/) on {a.started}. Do not edit by hand: run it again.

Machine: {nproc} cores ({cpu_model()}), load average {a.load} at the start and {a.load_after}
at the end.
{noisy}
The durable path: an Update operation with one async Service Bus endpoint step (json, a body of
at least 1 KiB; {int(f['message_bytes'])} bytes encoded) queues a system job in the same SQLite
transaction as the record; the async service posts it over AMQP to stepline-broker and records
it Succeeded. Every baseline is measured in the same run, into the same broker and queue
(bench/jobs/bench_jobs.cpp's header says how). {a.messages} operations; the sweep of operations
in flight {a.sweep_messages} per point. The closed loop's figures and ratios against the Proton
and SDK senders are the medians of {int(f.get('endpoint_rounds', 1))} rounds in which the senders
and the host take turns (a ratio is the median of each round's own), and the open loop runs as
many rounds. The host's side is the Host API: `Host::submit` with a
window of operations in flight, each answered once its commit is made (its job durable), the way
an asynchronous front end or `stepline run --parallel` drives it; then, for comparison, the same
operations from client threads that each wait for their own (`Host::execute`). The open loop
submits each operation when it is due, through `Host::submit` from one thread.

## Figures

| figure | value | baseline (same run) | ratio | goal |
|---|---|---|---|---|
{table}

`stepline run` reads the Updates as JSON lines and keeps as many in flight with its own async
service (`--drain`); the Host API side submits the same Updates as C++ requests, same
registration and broker; both are timed from the service's start until every job is Succeeded,
in turns. The waiting jobs are postponed to 2099: the service's memory must not depend on how
many there are. The restart writes its pending jobs with no service running (a host stopped
before delivering them), then starts a process with a host and its service over that data folder
against a running broker; its time runs from the process's start.

## Throughput against operations in flight

| in flight | stepline ops/s | Proton sender msg/s | ratio | host CPU us/op |
|---|---|---|---|---|
{sweep_rows}

![throughput against operations in flight](performance/throughput.png)

## Latency distribution (open loop)

Operations are due at a fixed rate (half the closed loop's) and submitted when due whatever the
earlier ones are doing; latency runs from the due time to the broker's acceptance of the job's
post, so a host that falls behind is charged for the wait.

![latency distribution](performance/latency.png)

## CPU per durable operation

The SQLite floor is what the operation's statements cost alone in this database (no pipeline,
no serialization, no AMQP); the host's CPU beyond it is what Stepline's own code costs. The
"host:" bars split the host's CPU by thread: the intake thread runs the operations and their
commits one batch after another, so its share of a core is how near the closed loop is to what
one thread can run.

![per-operation breakdown](performance/breakdown.png)

## Resident memory over {count(d['rss_operations'])} durable operations

The closed loop's host (64 in flight, the same operations) over a long run, its VmRSS sampled about
500 times by operations taken; the goal is that it stays within 10 % of its level after warm-up
(the first tenth of the operations), however many jobs the store has accumulated.

![resident memory over operations](performance/rss.png)
"""
    with open(os.path.join(a.out, "PERFORMANCE.md"), "w") as out:
        out.write(text)
    print("wrote %s and its plots in %s" % (os.path.join(a.out, "PERFORMANCE.md"), plots))


if __name__ == "__main__":
    main()
