"""Cold-start benchmark: a minimal Lambda Runtime API on loopback that runs a built `bootstrap`,
measures its init time (process start -> first /invocation/next request), serves the given
events in order, records each invocation's latency and result, and reports peak RSS.

    eval "$(scripts/sandbox.sh env)"; sam build
    SECRETS_MANAGER_ENDPOINT=$MOTO_ENDPOINT python3 scripts/bench_runtime.py \
        .aws-sam/build/SecretsManagerGenericRotation/bootstrap EVENT.json...

With no event it measures init only. The function's environment is this process's."""
import json, os, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

events = [open(p).read() for p in sys.argv[2:]]
state = {"next": 0, "sent": None, "results": [], "first_poll": None}
done = threading.Event()

class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.endswith("/invocation/next"):
            if state["first_poll"] is None:
                state["first_poll"] = time.perf_counter()
            if state["next"] >= len(events):
                done.set(); time.sleep(3600)
            body = events[state["next"]].encode()
            rid = f"req-{state['next']}"
            state["next"] += 1
            state["sent"] = time.perf_counter()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); body = self.rfile.read(n)
        kind = "ok" if "/response" in self.path else "error"
        state["results"].append((kind, (time.perf_counter() - state["sent"]) * 1000, body.decode()[:200]))
        self.send_response(202); self.end_headers()
        if len(state["results"]) == len(events): done.set()

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{srv.server_address[1]}",
           AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
           AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_LOG_LEVEL=os.environ.get("AWS_LAMBDA_LOG_LEVEL", "warn"))
start = time.perf_counter()
proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", sys.argv[1]], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
done.wait(60)
subprocess.run(["pkill", "-TERM", "-P", str(proc.pid)])
_, err = proc.communicate(timeout=10)
init_ms = (state["first_poll"] - start) * 1000 if state["first_poll"] else float("nan")
peak_kb = err.decode().strip().splitlines()[-1] if err else "?"
print(json.dumps({"init_ms": round(init_ms, 1), "invocations": [(k, round(ms, 1), b) for k, ms, b in state["results"]], "peak_rss_kb": peak_kb}, indent=1))
