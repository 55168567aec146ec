# SPDX-License-Identifier: Apache-2.0
"""Shared harness for the mailroot-versus-Postfix benchmarks (see BENCHMARKS.md).

Everything runs on loopback: a dnsmasq serving the `.bench` zone, Postfix's `smtp-sink` as the
remote MX hosts (one process per 127.0.x.y address, port 25), mailroot (release build) and a
private Postfix instance (own config, queue and log under a temporary directory). Both MTAs are
configured to do the same job; each figure runs them one after the other, several rounds,
alternating, and reports median with min-max and the mailroot/Postfix ratio.

Addresses: a random third octet in 150..199 is chosen per run (checked free on port 25) so that a
benchmark never collides with the test suite (127.0.9.x, 127.0.40-99.x) or with another benchmark.

Environment: MAILROOT_BIN (binary to test; otherwise a release build of this checkout),
BENCH_TINY=1 or --tiny (about 200 messages, one round: a check that the scripts still work),
BENCH_ROUNDS (rounds per side), BENCH_RESULTS (a directory for the JSON results),
BENCH_KEEP=1 (keep the work directory for inspection), BENCH_FRESH_FS=0 (run figures 1 and 2 in
the work directory instead of on a fresh file system each, see FreshFilesystem), BENCH_FS_MIB (size
of that file system), BENCH_QUIET (seconds of quiet before each timed run, see quiet_disk).
"""
import atexit
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.environ.get("BENCH_TINY") == "1" or "--tiny" in sys.argv
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if TINY else "3"))
SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def scaled(full, tiny):
    return tiny if TINY else full


FRESH_FS = os.environ.get("BENCH_FRESH_FS", "1") != "0"
QUIET_SECONDS = float(os.environ.get("BENCH_QUIET", "0" if TINY else ("5" if FRESH_FS else "61")))


def quiet_disk():
    """Called right before each timed run of figures 1 and 2, on either side: `sync`, then a few
    seconds for the host to finish writing back what came before. On a fresh file system
    (FreshFilesystem) that is all a run needs. Without one (BENCH_FRESH_FS=0) the default is 61 s:
    this machine's ext4 has no journal, and there every file creation skips the inodes deleted in
    the last 60 seconds, and in the last 360 s while their inode-table block is dirty, reading each
    one's block to find out (BENCHMARKS.md, findings 4 and 15). Even 61 s does not cover the
    second case, which is why the figures now run on fresh file systems."""
    if QUIET_SECONDS <= 0:
        return
    os.sync()
    time.sleep(QUIET_SECONDS)


class FreshFilesystem:
    """A file system made the same way for every timed run, so that no run pays for the deletions
    of the runs before it (BENCHMARKS.md, finding 15): ext4 without a journal, like this machine's
    root, on a loop device over an image file in /var/tmp. `fresh()` copies a pristine image,
    made once by mkfs, over the device and mounts it.

    Durability is the same as on the host's file system: the loop device does direct I/O, so a
    write reaches the image file without a second page cache, and fsync on a file in it flushes
    the host disk. The image is written in full once at the start (and never discarded: mounted
    with nodiscard), so no write during a run allocates blocks in the host file system."""

    def __init__(self, size_mib=None):
        self.size_mib = size_mib or int(os.environ.get("BENCH_FS_MIB", "512" if TINY else "8192"))
        self.base = tempfile.mkdtemp(prefix="mailroot-bench-fs-", dir="/var/tmp")
        self.template = os.path.join(self.base, "template.img")
        self.image = os.path.join(self.base, "disk.img")
        self.mountpoint = os.path.join(self.base, "mnt")
        self.device = None
        self.mounted = False
        os.chmod(self.base, 0o755)  # Postfix's daemons run as `postfix` and must reach their queue.
        os.makedirs(self.mountpoint)
        atexit.register(self.close)
        try:
            command(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=0",
                     "-m", "0", self.template, f"{self.size_mib}M"])
            command(["dd", "if=/dev/zero", f"of={self.image}", "bs=64M", f"count={self.size_mib // 64}",
                     "oflag=direct", "status=none"])
            self.device = command(["losetup", "--find", "--show", "--direct-io=on", self.image]).strip()
            dio = read(f"/sys/block/{os.path.basename(self.device)}/loop/dio").strip()
            if dio != "1":
                raise RuntimeError(f"{self.device} does not do direct I/O (loop/dio = {dio!r})")
        except Exception:
            self.close()
            raise
        log(f"fresh file systems: {self.size_mib} MiB ext4 (no journal) on {self.device}, direct I/O")

    def fresh(self):
        """Unmounts the previous file system, puts a pristine one in its place and mounts it;
        returns the mount point (mode 755, so that Postfix's daemons can reach their queue)."""
        self._unmount()
        command(["dd", f"if={self.template}", f"of={self.device}", "bs=64M", "iflag=direct", "oflag=direct",
                 "status=none"])
        command(["mount", "-t", "ext4", "-o", "nodiscard", self.device, self.mountpoint])
        self.mounted = True
        os.chmod(self.mountpoint, 0o755)
        os.sync()
        return self.mountpoint

    def _unmount(self):
        if self.mounted:
            # A daemon that has just stopped may leave a child closing its files for a moment.
            wait_for(lambda: subprocess.run(["umount", self.mountpoint], capture_output=True).returncode == 0,
                     30, f"umount {self.mountpoint}")
            self.mounted = False

    def close(self):
        try:
            self._unmount()
        finally:
            if self.device:
                subprocess.run(["losetup", "-d", self.device], capture_output=True)
                self.device = None
            shutil.rmtree(self.base, ignore_errors=True)


def fresh_filesystem():
    """A FreshFilesystem, or None when BENCH_FRESH_FS=0. In tiny mode (a check that the scripts
    still work) a machine without loop devices falls back to the work directory, and says so."""
    if not FRESH_FS:
        return None
    try:
        return FreshFilesystem()
    except Exception as error:
        if not TINY:
            sys.exit(f"bench: cannot make a fresh file system ({error}); BENCH_FRESH_FS=0 runs in the work "
                     "directory instead, with 61 s of quiet before each timed run (see BENCHMARKS.md)")
        log(f"no fresh file system ({error}): tiny mode runs in the work directory")
        return None


# ---------------------------------------------------------------------------------------------
# Set-up: peers, binary, work directory, addresses


def ensure_peers():
    missing = [p for p in (SMTP_SINK, SMTP_SOURCE, "/usr/sbin/postfix", "/usr/sbin/sendmail")
               if not os.path.exists(p)] + [p for p in ("dnsmasq",) if shutil.which(p) is None]
    if missing:
        log(f"installing peers (missing: {', '.join(missing)})")
        subprocess.run(["bash", os.path.join(REPO, "scripts", "install-peers.sh")], check=True)


_binary = None


def mailroot_binary():
    """MAILROOT_BIN, or a release build of this checkout (its own scratch path, so it never
    waits on or disturbs a debug build in .build)."""
    global _binary
    if _binary:
        return _binary
    path = os.environ.get("MAILROOT_BIN")
    if not path:
        scratch = os.environ.get("BENCH_SCRATCH", os.path.join(REPO, ".build-bench"))
        log(f"building mailroot (release) in {scratch}; set MAILROOT_BIN to skip")
        subprocess.run(["swift", "build", "-c", "release", "--product", "mailroot",
                        "--scratch-path", scratch], cwd=REPO, check=True)
        path = os.path.join(scratch, "release", "mailroot")
    if not os.access(path, os.X_OK):
        sys.exit(f"bench: mailroot binary not found or not executable: {path}")
    _binary = os.path.abspath(path)
    return _binary


def workdir(label):
    path = tempfile.mkdtemp(prefix=f"mailroot-bench-{label}-", dir="/tmp")
    # Postfix's daemons run as `postfix` and must reach their queue below this directory.
    os.chmod(path, 0o755)
    return path


def cleanup_workdir(path):
    if os.environ.get("BENCH_KEEP") == "1":
        log(f"kept {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


def port_is_free(host, port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def pick_network():
    """A 127.0.N prefix with N in 150..199 whose .1-.9 and .200-.254 are free on port 25."""
    candidates = list(range(150, 200))
    random.shuffle(candidates)
    for octet in candidates:
        prefix = f"127.0.{octet}"
        if all(port_is_free(f"{prefix}.{host}", 25) for host in (1, 2, 3, 4, 50, 200, 250)):
            return prefix
    sys.exit("bench: no free 127.0.150-199.x network")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    """Resident set size and its peak (VmHWM) in KiB, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


# ---------------------------------------------------------------------------------------------
# Peers


class Dnsmasq:
    """The `.bench` zone: every name not listed is NXDOMAIN, nothing is forwarded."""

    def __init__(self, directory, mx, hosts):
        """`mx`: domain -> MX host name; `hosts`: host name -> IPv4 address."""
        self.port = free_port()
        args = ["dnsmasq", "--keep-in-foreground", "--no-daemon", f"--port={self.port}",
                "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--local=/bench/", "--conf-file=/dev/null", "--log-facility=-",
                f"--pid-file={directory}/dnsmasq.pid", "--local-ttl=3600", "--cache-size=10000",
                # Authoritative for the zone, so that a NODATA answer (every AAAA query here)
                # carries an SOA and can be cached (RFC 2308) as a real resolver's would be;
                # without it mailroot asks for AAAA again before every connection.
                "--auth-server=ns.bench,127.0.0.1", "--auth-zone=bench,127.0.0.0/8", "--auth-ttl=3600",
                "--auth-soa=1,hostmaster.bench,1200,120,604800,3600"]
        if os.getuid() == 0:
            args.append("--user=root")
        args += [f"--mx-host={d},{h},10" for d, h in mx.items()]
        args += [f"--host-record={h},{a}" for h, a in hosts.items()]
        # The load generators connect from 127.0.0.1: a forward-confirmed reverse name for it, as
        # Postfix's smtpd gets from /etc/hosts (mailroot asks DNS, and caches the answer).
        args.append("--host-record=client.bench,127.0.0.1")
        self.logfile = open(os.path.join(directory, "dnsmasq.log"), "w")
        self.process = subprocess.Popen(args, stdout=self.logfile, stderr=subprocess.STDOUT)
        wait_for(lambda: "started, version" in read(self.logfile.name), 10, "dnsmasq start")

    def stop(self):
        stop_process(self.process)


class Sink:
    """Postfix's smtp-sink on each address (port 25), counting completed DATA transactions.
    `smtp-sink -c` prints `sess=N quit=N mesg=N` followed by CR after each event."""

    def __init__(self, addresses, port=25, extra=()):
        self.counts = {}
        self.processes = []
        self.lock = threading.Lock()
        for address in addresses:
            process = subprocess.Popen([SMTP_SINK, "-u", "nobody", "-c", *extra, f"{address}:{port}", "2048"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.processes.append(process)
            self.counts[address] = 0
            threading.Thread(target=self._count, args=(address, process), daemon=True).start()
        for address in addresses:
            wait_for(lambda a=address: not port_is_free(a, port), 5, f"smtp-sink on {address}")

    def _count(self, address, process):
        pattern = re.compile(rb"mesg=(\d+)")
        buffer = b""
        while True:
            chunk = process.stdout.read1(65536)
            if not chunk:
                return
            buffer += chunk
            last = buffer.rfind(b"\r")
            if last < 0:
                continue
            matches = pattern.findall(buffer[:last])
            buffer = buffer[last + 1:]
            if matches:
                with self.lock:
                    self.counts[address] = int(matches[-1])

    @property
    def total(self):
        with self.lock:
            return sum(self.counts.values())

    def wait_for_total(self, count, timeout, what="sink"):
        """Returns the time at which the sink had `count` messages; polls every 5 ms."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.total >= count:
                return time.monotonic()
            for p in self.processes:
                if p.poll() is not None:
                    raise RuntimeError(f"smtp-sink exited: {p.stderr.read().decode(errors='replace')}")
            time.sleep(0.005)
        raise TimeoutError(f"{what}: {self.total} of {count} messages after {timeout} s")

    def stop(self):
        for p in self.processes:
            stop_process(p)


class Mailroot:
    """`mailroot serve` over its own root with a config written here."""

    def __init__(self, directory, config):
        self.directory = directory
        self.root = os.path.join(directory, "root")
        self.pickup = os.path.join(self.root, "pickup")
        self.queue = os.path.join(self.root, "queue")
        self.config_path = os.path.join(directory, "mailroot.toml")
        os.makedirs(self.pickup, exist_ok=True)
        with open(self.config_path, "w") as f:
            f.write(f'root = "{self.root}"\nhostname = "mailroot.bench"\n{config}\n')
        self.process = None
        self.runs = 0

    def start(self, wait_for_line="mailroot: serving"):
        """Starts the daemon; returns the monotonic time just before exec."""
        self.runs += 1
        self.logpath = os.path.join(self.directory, f"mailroot-{self.runs}.log")
        self.logfile = open(self.logpath, "w")
        started = time.monotonic()
        self.process = subprocess.Popen([mailroot_binary(), "serve", "--config", self.config_path],
                                        stdout=self.logfile, stderr=subprocess.STDOUT)
        self.start_perf()
        if wait_for_line:
            wait_for(lambda: wait_for_line in read(self.logpath) or self.process.poll() is not None,
                     120, "mailroot start")
            if self.process.poll() is not None:
                raise RuntimeError(f"mailroot exited at start:\n{read(self.logpath)}")
        return started

    def stop(self):
        if self.process:
            self._stop_perf()
            stop_process(self.process, grace=60)
            self.process = None

    def start_perf(self):
        """BENCH_PERF=dir: samples this daemon with `perf record -g` until stopped (profiling only)."""
        directory = os.environ.get("BENCH_PERF") or os.environ.get("BENCH_STRACE")
        if not directory:
            return
        os.makedirs(directory, exist_ok=True)
        name = f"{os.path.basename(self.directory)}-{self.runs}"
        if os.environ.get("BENCH_STRACE"):  # syscall counts instead of samples
            command = ["strace", "-c", "-f", "-o", os.path.join(directory, f"strace-{name}.txt")]
        else:
            command = ["perf", "record", "-F", "499", "-g", "-o", os.path.join(directory, f"perf-{name}.data")]
        self.perf = subprocess.Popen(command + ["-p", str(self.process.pid)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _stop_perf(self):
        perf = getattr(self, "perf", None)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(60)
            self.perf = None

    def cpu_seconds(self):
        """User + system CPU time of the daemon so far."""
        fields = read(f"/proc/{self.process.pid}/stat").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self):
        return rss_kib(self.process.pid)

    def badmail(self):
        folder = os.path.join(self.root, "badmail")
        return os.listdir(folder) if os.path.isdir(folder) else []

    def log_text(self):
        return "\n".join(read(os.path.join(self.directory, f"mailroot-{n}.log")) for n in range(1, self.runs + 1))


class Postfix:
    """A private Postfix (own config, queue and log), the same way the interop tests run one.
    Delivery goes to the sink through `transport_maps` (Postfix cannot be pointed at a resolver on
    another port without changing /etc/resolv.conf for the whole machine), so Postfix is spared
    the DNS lookups that mailroot makes. `smtpd_port` adds an SMTP listener on 127.0.0.1."""

    MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

    def __init__(self, directory, transport, smtpd_port=None, concurrency=20):
        """`transport`: domain -> "ip:port" of its MX."""
        self.directory = directory
        self.conf = os.path.join(directory, "conf")
        self.logpath = os.path.join(directory, "postfix.log")
        for folder in ("conf", "queue", "data"):
            os.makedirs(os.path.join(directory, folder), exist_ok=True)
        with open(os.path.join(self.conf, "transport"), "w") as f:
            for domain, target in transport.items():
                host, port = target.rsplit(":", 1)
                f.write(f"{domain} smtp:[{host}]:{port}\n")
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {directory}/queue
data_directory = {directory}/data
mail_owner = postfix
myhostname = postfix.bench
mydomain = postfix.bench
myorigin = postfix.bench
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
transport_maps = texthash:{self.conf}/transport
smtp_tls_security_level = none
default_destination_concurrency_limit = {concurrency}
maillog_file = {self.logpath}
maillog_file_prefixes = {directory}
alias_maps =
alias_database =
local_recipient_maps =
biff = no
""")
        master = self.MASTER_CF
        if smtpd_port:
            master = f"127.0.0.1:{smtpd_port} inet n - n - - smtpd\n" + master
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master)
        self.running = False
        self.starts = 0
        self.postfix(["set-permissions"])
        self.postfix(["check"])

    def postfix(self, arguments):
        run = subprocess.run(["/usr/sbin/postfix", "-c", self.conf, *arguments],
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(arguments)}: {run.stdout}{run.stderr}\n{read(self.logpath)[-3000:]}")

    def start(self):
        """Returns the monotonic time just before `postfix start`."""
        started = time.monotonic()
        self.postfix(["start"])
        self.running = True
        self.starts += 1
        return started

    def wait_ready(self):
        wait_for(lambda: read(self.logpath).count("daemon started") >= self.starts, 30, "postfix start")

    def stop(self):
        if self.running:
            self.postfix(["stop"])
            self.running = False
            # master waits for its children; make sure none still holds the queue.
            wait_for(lambda: not os.path.exists(os.path.join(self.directory, "queue", "pid", "master.pid"))
                     or not pid_alive(os.path.join(self.directory, "queue", "pid", "master.pid")), 30, "postfix stop")

    def sendmail(self, sender, recipient, path):
        # While Postfix is stopped, postdrop warns that it cannot wake pickup: expected for a backlog.
        with open(path, "rb") as f:
            run = subprocess.run(["/usr/sbin/sendmail", "-C", self.conf, "-f", sender, "--", recipient],
                                 stdin=f, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if run.returncode != 0:
            raise RuntimeError(f"sendmail failed ({run.returncode}): {run.stdout.decode(errors='replace')}")

    def processes(self):
        """PIDs of this instance's master and its children."""
        pidfile = os.path.join(self.directory, "queue", "pid", "master.pid")
        try:
            master = int(read(pidfile).split()[0])
        except (ValueError, IndexError):
            return []
        children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        return [master] + [int(c) for c in children]

    def rss_total(self):
        return sum(rss_kib(p)[0] for p in self.processes() if os.path.exists(f"/proc/{p}"))

    def queue_count(self):
        count = 0
        for folder in ("maildrop", "incoming", "active", "deferred"):
            for _, _, files in os.walk(os.path.join(self.directory, "queue", folder)):
                count += len(files)
        return count


def pid_alive(pidfile):
    try:
        pid = int(read(pidfile).split()[0])
        os.kill(pid, 0)
        return True
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False


# ---------------------------------------------------------------------------------------------
# Messages


def make_message(index, recipient, size, sender="sender@origin.bench", extra_headers=""):
    """An RFC 5322 message of about `size` bytes, CRLF line endings, 76-character body lines."""
    header = (f"From: Bench <{sender}>\r\nTo: <{recipient}>\r\nSubject: bench message {index}\r\n"
              f"Date: Sun, 29 Nov 2026 07:00:00 +0000\r\nMessage-ID: <bench.{index}@origin.bench>\r\n"
              f"{extra_headers}\r\n")
    rng = random.Random(index)
    line = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(76)) + "\r\n"
    body_lines = max(1, (size - len(header)) // len(line))
    return (header + line * body_lines).encode()


def message_plan(count, domains):
    """(index, recipient, size) for `count` messages of 2-20 KiB over `domains` domains."""
    rng = random.Random(count)
    return [(i, f"user{i}@d{i % domains}.bench", rng.randint(2048, 20480)) for i in range(count)]


def write_pickup_file(pickup, index, sender, recipient, body):
    """The way a careful application drops a file: write under a dot name, rename in. No fsync:
    applications do not fsync, and durability is the relay's job from the moment it has the file."""
    name = f"{index:07d}.eml"
    temporary = os.path.join(pickup, "." + name + ".tmp")
    with open(temporary, "wb") as f:
        f.write(f"x-sender: {sender}\r\nx-receiver: {recipient}\r\n".encode())
        f.write(body)
    os.rename(temporary, os.path.join(pickup, name))


# ---------------------------------------------------------------------------------------------
# Helpers


def command(arguments):
    """Runs a set-up command; its standard output, or an error with what it printed."""
    run = subprocess.run(arguments, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed ({run.returncode}): {run.stdout}{run.stderr}".strip())
    return run.stdout


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out: {what}")


def stop_process(process, grace=10):
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def summary(values):
    """(median, min, max) or None."""
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt(values, digits=0):
    s = summary(values)
    if s is None:
        return "-"
    m, lo, hi = s
    return f"{m:,.{digits}f} ({lo:,.{digits}f}-{hi:,.{digits}f})"


def ratio(a, b):
    if not a or not b:
        return "-"
    return f"{statistics.median(a) / statistics.median(b):.2f}x"


def print_table(title, header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print(f"\n{title}")
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")
    sys.stdout.flush()


def save_results(name, data):
    directory = os.environ.get("BENCH_RESULTS")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    data = dict(data, tiny=TINY, rounds=ROUNDS, date=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    with open(os.path.join(directory, f"{name}.json"), "w") as f:
        json.dump(data, f, indent=2)


def mailroot_config(dns_port, extra_delivery="", smtp="listen = []", top=""):
    """The mailroot side of every figure. Concurrency matches the Postfix side: 100 outbound
    connections in total (Postfix's default_process_limit), 20 per destination
    (default_destination_concurrency_limit)."""
    return f"""{top}
[dns]
servers = ["127.0.0.1:{dns_port}"]
timeout = "5s"

[log]
level = "info"

[delivery]
port = 25
max_connections = 100
max_connections_per_domain = 20
opportunistic_tls = false
{extra_delivery}

[smtp]
{smtp}
"""
