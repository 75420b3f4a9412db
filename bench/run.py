"""Runs the benchmark: every client against one emulator over HTTPS with a simulated
round trip, each client as its own process, one run per (size, protocol,
client).  Writes the raw measurements as JSON (--out); bench/report.py turns
them into bench/results.md and bench/results.png.  See bench/README.md.
"""

import argparse
import http.client
import json
import os
import platform
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build")
CLIENTS = ["yc-c", "yc-py", "curl-multi", "openai-sync", "openai-async"]
OPENAI = {"openai-sync", "openai-async"}


def make_certs(d):
    def sh(*a):
        subprocess.run(a, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
       "ca.pem", "-days", "2", "-subj", "/CN=ycbg bench CA",
       "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
       "server.csr", "-subj", "/CN=localhost")
    sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
       "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem")


class Emulator:
    def __init__(self, binary, certs, args):
        self.ca = os.path.join(certs, "ca.pem")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--exit-on-stdin-eof",
             "--tls-cert", os.path.join(certs, "server.pem"),
             "--tls-key", os.path.join(certs, "server.key"),
             "--rtt-ms", str(args.rtt_ms), "--connect-ms", str(args.connect_ms),
             "--queue-ms", str(args.queue_ms), "--work-ms", str(args.work_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if "listening on" not in line:
            raise SystemExit("emulator did not start: %r" % line)
        self.base = line.split()[-1].replace("127.0.0.1", "localhost")
        self.port = int(self.base.rsplit(":", 1)[1].split("/")[0])
        self.ctx = ssl.create_default_context(cafile=self.ca)

    def call(self, method, path, body=None):
        c = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=60)
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = json.loads(r.read() or b"null")
        c.close()
        return data

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait()


def command(client, emu, n, version, args, in_flight):
    common = [emu.base, str(n), version, emu.ca, str(args.poll_ms)]
    if client == "yc-c":
        return [os.path.join(BUILD, "bin", "bench-yc")] + common + [str(in_flight)]
    if client == "curl-multi":
        return [os.path.join(BUILD, "bin", "bench-curl")] + common + [str(in_flight)]
    workers = in_flight if client == "yc-py" else args.workers
    return [args.python, os.path.join(HERE, "py_client.py"), client] + common + [str(workers)]


def measure(client, emu, n, version, args, quota, in_flight):
    emu.call("POST", "/_emulator/reset")
    if quota:
        emu.call("POST", "/_emulator/settings",
                 {"quota_create_rps": args.quota_create_rps, "quota_poll_rps": args.quota_poll_rps})
    before = emu.call("GET", "/_emulator/stats")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = os.path.join(ROOT, "bindings", "python")
    env["YCBG_LIBRARY"] = os.path.join(BUILD, "lib", "libycbg.so.0")
    proc = subprocess.Popen(command(client, emu, n, version, args, in_flight), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    status_path = "/proc/%d/status" % proc.pid
    rusage = None
    # A client that hangs (httpx's HTTP/2 state shared by the sync client's threads can break)
    # is killed and its row counts every task as failed.
    deadline = time.monotonic() + args.client_timeout
    killed = False
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            rusage = ru
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        if not killed and time.monotonic() > deadline:
            proc.kill()
            killed = True
        try:
            with open(status_path) as f:
                for line in f:
                    if line.startswith("Threads:"):
                        peak = max(peak, int(line.split()[1]))
                        break
        except OSError:
            pass
        time.sleep(0.005)
    out, err = proc.stdout.read(), proc.stderr.read()
    if killed:
        out, err = "", err + "\nkilled after %d s (--client-timeout)" % args.client_timeout
    after = emu.call("GET", "/_emulator/stats")
    try:
        row = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        row = {"ok": 0, "failed": n}
    reqs = {k: after["requests"][k] - before["requests"][k] for k in after["requests"]}
    row.update({
        "client": client, "tasks": n, "http_version": version, "quota": quota,
        "in_flight": in_flight if client in ("yc-c", "yc-py", "curl-multi") else None,
        "exit": proc.returncode, "stderr": err[-2000:],
        "threads_peak": peak,
        "cpu_total_s": rusage.ru_utime + rusage.ru_stime,
        # The stats GET itself is one connection accepted after `before`.
        "connections": after["connections"] - before["connections"] - 1,
        "h2_connections": after["h2_connections"] - before["h2_connections"],
        "requests": reqs,
        "requests_by_protocol": {k: after["requests_by_protocol"][k] - before["requests_by_protocol"].get(k, 0)
                                 for k in after["requests_by_protocol"]},
        "rate_limited": {k: after["rate_limited"][k] - before["rate_limited"][k]
                         for k in after["rate_limited"]},
    })
    return row


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version(), "curl": curl,
            "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="100,1000,10000")
    p.add_argument("--quick", action="store_true", help="sizes 20,100 only")
    p.add_argument("--clients", default=",".join(CLIENTS))
    p.add_argument("--http-versions", default="2,1.1")
    p.add_argument("--openai-max-tasks", type=int, default=1000,
                   help="skip the openai clients above this many tasks")
    p.add_argument("--rtt-ms", type=int, default=20)
    p.add_argument("--connect-ms", type=int, default=20)
    p.add_argument("--queue-ms", type=int, default=200)
    p.add_argument("--work-ms", type=int, default=800)
    p.add_argument("--poll-ms", type=int, default=250)
    p.add_argument("--in-flight", type=int, default=100,
                   help="max_in_flight of ycbg and the raw loop (libcurl's default HTTP/2 "
                        "streams per connection is 100)")
    p.add_argument("--extra-in-flight", type=int, default=0,
                   help="also run yc-c and curl-multi over HTTP/2 at the largest size with this "
                        "max_in_flight (0: not)")
    p.add_argument("--workers", type=int, default=100, help="openai-sync thread pool size")
    p.add_argument("--quota-tasks", type=int, default=0,
                   help="also run yc-c and openai-async over HTTP/2 with the "
                        "quotas on, at this many tasks (0: no quota rows)")
    p.add_argument("--quota-create-rps", type=float, default=10)
    p.add_argument("--quota-poll-rps", type=float, default=50)
    p.add_argument("--emulator", default=os.path.join(BUILD, "bin", "yc-emulator"))
    p.add_argument("--client-timeout", type=int, default=180,
                   help="seconds a client may run before it is killed and its row fails (default 180)")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--out", default=os.path.join(BUILD, "bench", "results.json"))
    p.add_argument("--merge", action="store_true",
                   help="replace only these rows in an existing --out (same client, size, "
                        "protocol, quota, in flight); its other rows and header stay")
    args = p.parse_args()
    sizes = [20, 100] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    clients = args.clients.split(",")
    versions = args.http_versions.split(",")
    load_before = os.getloadavg()
    certs = tempfile.mkdtemp(prefix="ycbg-bench-")
    rows = []
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    try:
        make_certs(certs)
        emu = Emulator(args.emulator, certs, args)
        try:
            plan = [(n, v, c, False, args.in_flight) for n in sizes for v in versions for c in clients]
            if args.extra_in_flight and sizes:
                plan += [(max(sizes), "2", c, False, args.extra_in_flight)
                         for c in ("yc-c", "curl-multi") if c in clients]
            if args.quota_tasks:
                plan += [(args.quota_tasks, "2", c, True, args.in_flight)
                         for c in ("yc-c", "openai-async") if c in clients]
            for n, v, c, quota, in_flight in plan:
                if c in OPENAI and n > args.openai_max_tasks and not quota:
                    rows.append({"client": c, "tasks": n, "http_version": v, "quota": quota,
                                 "skipped": "openai clients run up to %d tasks (--openai-max-tasks)"
                                            % args.openai_max_tasks})
                    continue
                load = os.getloadavg()[0]
                row = measure(c, emu, n, v, args, quota, in_flight)
                row["load1_before"] = load
                rows.append(row)
                print("%-12s %6d HTTP/%-3s %s %s ok=%s cpu/task=%.3f ms wall=%.2f s rss=%.1f MB "
                      "threads=%d conns=%d req/task=%.2f load=%.2f" % (
                          c, n, v, "quota" if quota else "", in_flight, row.get("ok"),
                          1000 * row.get("cpu_s", 0) / n, row.get("wall_s", 0),
                          row.get("maxrss_kb", 0) / 1024, row["threads_peak"], row["connections"],
                          sum(row["requests"].values()) / n, load), flush=True)
                if row.get("exit"):
                    print("   exit %s: %s" % (row["exit"], row["stderr"].strip()[-500:]), flush=True)
        finally:
            emu.stop()
    finally:
        shutil.rmtree(certs, ignore_errors=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    if args.merge:
        with open(args.out) as f:
            old = json.load(f)
        key = lambda r: (r["client"], r["tasks"], r["http_version"], bool(r.get("quota")), r.get("in_flight"))
        new = {key(r): r for r in rows}
        old["rows"] = [new.pop(key(r), r) for r in old["rows"]] + list(new.values())
        old.setdefault("merged", []).append({"argv": sys.argv[1:], "started": started,
                                              "load_before": load_before})
        with open(args.out, "w") as f:
            json.dump(old, f, indent=1)
        print("merged into", args.out)
        return
    with open(args.out, "w") as f:
        json.dump({"started": started, "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                   "load_before": load_before, "load_after": os.getloadavg(),
                   "machine": machine(), "argv": sys.argv[1:],
                   "settings": {k: v for k, v in vars(args).items() if k not in ("python", "out", "emulator")},
                   "rows": rows}, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
