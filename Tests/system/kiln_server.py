"""A real `kiln serve` on a free loopback port with its own data folder, for the end-to-end tests."""
import json, os, shutil, signal, socket, subprocess, tempfile, time, urllib.error, urllib.request

KILN = os.environ.get("KILN_BIN", ".build/debug/kiln")
ARTIFACTS = os.environ.get("KILN_ARTIFACTS", "artifacts")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class KilnServer:
    """Starts, stops and kills a server; the data folder survives restarts until `cleanup`."""

    def __init__(self, data=None, args=()):
        self.data = data or tempfile.mkdtemp(prefix="kiln-e2e-")
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        os.makedirs(ARTIFACTS, exist_ok=True)
        log = open(os.path.join(ARTIFACTS, f"server-{self.port}.log"), "a")
        self.proc = subprocess.Popen([KILN, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data", self.data] + self.args,
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/datanets", timeout=1)
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"kiln serve exited with {self.proc.returncode}; see {log.name}")
                time.sleep(0.1)
        raise RuntimeError("kiln serve did not answer within 60 s")

    def kill(self):
        """SIGKILL: no chance to flush or clean up, like a power cut for the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


class Results:
    """Counts checks and prints the closing line test runners read."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, fn):
        try:
            fn()
            self.passed += 1
            print(f"ok    {name}", flush=True)
        except Exception as e:  # report any failure, assertion or crash, and go on to the next check
            self.failed += 1
            print(f"FAIL  {name}: {type(e).__name__}: {e}", flush=True)

    def run_all(self, namespace, cleanup):
        """Runs every `t_*` function of `namespace` in order, then `cleanup`, then exits with the closing line."""
        try:
            for name, fn in [(k, v) for k, v in list(namespace.items()) if k.startswith("t_")]:
                self.check(name[2:], fn)
        finally:
            cleanup()
        self.finish()

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        raise SystemExit(1 if self.failed else 0)
