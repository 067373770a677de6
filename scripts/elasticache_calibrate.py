#!/usr/bin/env python3
"""Calibrates the sandbox's ElastiCache stand-in (scripts/moto_server.py) against an ElastiCache
API: runs the rotation function's ModifyUser sequence on a scratch user and prints what the API
answered, with timings, so the stand-in's answers can be compared with the service's.

    elasticache_calibrate.py --user-group GROUP --region REGION
        [--endpoint-url URL]                 an emulator (the tests: the sandbox's moto)
        [--redis-host HOST [--redis-port 6379] [--redis-ca PEM] [--redis-sni NAME]]
        [--engine redis|valkey] [--interval 2] [--max-wait 600] [--probe-rules]

What it does, in order (credentials and region as the AWS SDK finds them):
  1. CreateUser: a scratch user `calib-<time>-<random>` (access string: PING on no key), one
     password; waits for `active`.
  2. ModifyUserGroup: adds it to --user-group (the group of the cache --redis-host names);
     waits for the group to be `active`.
  3. The function's sequence: ModifyUser with two passwords (pending first, then current, as
     setSecret sends them), waiting for `active` with DescribeUsers as the function does; the
     next rotation's two (the oldest dropped); then one. After each, with --redis-host, AUTH
     with `redis-cli --tls` must accept exactly the passwords just set.
  4. --probe-rules: ModifyUser with passwords the documented rule (elasticache_password_rule.json)
     refuses or allows at its edges (a comma, `"`, `/`, `@`, a space, 15/16/128/129 characters,
     three passwords), each answer compared with the documented one.
  5. Always, even after a failure: takes the user out of the group and deletes it (DeleteUser,
     until DescribeUsers answers UserNotFound).

It prints one line per call and wait (status, seconds), never a password, and last
`calibration: N checks passed` or `calibration: N checks, M FAILED` (exit status 1). A run
against a real account changes that account: a scratch user exists for the run, inside the
group given; the cache's other users are not touched. Needs boto3 (the tools venv has it, as a
dependency of moto) and, for AUTH, redis-cli.
"""
import argparse
import json
import os
import secrets
import string
import subprocess
import sys
import time

import boto3
from botocore.exceptions import ClientError

RULE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "elasticache_password_rule.json")
# Letters, digits and punctuation that every reading of the documented rule allows.
SAFE = string.ascii_letters + string.digits + "-_!#$%&*+=?"


class Run:
    def __init__(self, args):
        self.args = args
        kwargs = {"region_name": args.region}
        if args.endpoint_url:
            kwargs["endpoint_url"] = args.endpoint_url
        self.ec = boto3.client("elasticache", **kwargs)
        self.started = time.monotonic()
        self.checks = 0
        self.failed = []

    def say(self, text):
        print(f"[{time.monotonic() - self.started:7.2f} s] {text}", flush=True)

    def check(self, ok, what):
        self.checks += 1
        if not ok:
            self.failed.append(what)
        self.say(("ok: " if ok else "FAILED: ") + what)

    def call(self, name, **kwargs):
        """One API call: its answer, or the error code (printed either way)."""
        t = time.monotonic()
        try:
            out = getattr(self.ec, name)(**kwargs)
            self.say(f"{name}: accepted in {time.monotonic() - t:.2f} s")
            return out, None
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "?")
            self.say(f"{name}: {code} in {time.monotonic() - t:.2f} s: {e.response.get('Error', {}).get('Message', '')}")
            return None, code

    def wait(self, what, status_of, until="active"):
        """Polls status_of() every --interval until it is `until` (as the function waits for
        `active`), gone, or --max-wait has passed; returns the statuses seen, in order."""
        t = time.monotonic()
        seen = []
        while True:
            status = status_of()
            if not seen or seen[-1] != status:
                seen.append(status)
            done = status == until or (status == "gone" and until != "gone")
            if done or time.monotonic() - t + self.args.interval > self.args.max_wait:
                self.say(f"{what}: {status} after {time.monotonic() - t:.2f} s (statuses {' -> '.join(seen)})")
                return seen
            time.sleep(self.args.interval)

    def user_status(self, user_id):
        try:
            users = self.ec.describe_users(UserId=user_id)["Users"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "UserNotFound":
                return "gone"
            raise
        return next((u["Status"] for u in users if u["UserId"] == user_id), "gone")

    def group_status(self):
        groups = self.ec.describe_user_groups(UserGroupId=self.args.user_group)["UserGroups"]
        return groups[0]["Status"] if groups else "gone"

    def auth(self, user_name, password):
        """AUTH through redis-cli over TLS: 'accepted', 'refused' (WRONGPASS) or what it said."""
        a = self.args
        cmd = ["redis-cli", "--tls", "-h", a.redis_host, "-p", str(a.redis_port)]
        if a.redis_ca:
            cmd += ["--cacert", a.redis_ca]
        if a.redis_sni:
            cmd += ["--sni", a.redis_sni]
        cmd += ["--user", user_name, "--pass", password, "--no-auth-warning", "PING"]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
        except subprocess.TimeoutExpired:
            return "no answer in 15 s"
        text = (out.stdout + out.stderr).strip()
        if text == "PONG":
            return "accepted"
        if "WRONGPASS" in text:
            return "refused"
        return text[:120]

    def expect_auth(self, user_name, passwords, accepted, refused):
        if not self.args.redis_host:
            return
        for label in accepted:
            self.check(self.auth(user_name, passwords[label]) == "accepted", f"AUTH with {label} accepted")
        for label in refused:
            self.check(self.auth(user_name, passwords[label]) == "refused", f"AUTH with {label} refused")

    def set_passwords(self, user_id, labels, passwords):
        """ModifyUser with exactly these passwords, as the function sends it, then the wait."""
        self.say(f"ModifyUser UserId, Passwords [{', '.join(labels)}]")
        _, code = self.call("modify_user", UserId=user_id, Passwords=[passwords[label] for label in labels])
        self.check(code is None, f"ModifyUser with {len(labels)} password(s) accepted")
        if code is None:
            seen = self.wait(f"user {user_id}", lambda: self.user_status(user_id))
            self.check(seen[-1] == "active", f"user active again after ModifyUser with {len(labels)}")


def probes(rule):
    """(what, passwords, refused by the documented rule)."""
    n = rule["min_length"]
    base = "Calibrate-Pr0be-" + "x" * max(0, n - 16)
    out = []
    for c in rule["excluded"]:
        out.append((f"a {c!r}", [base[:-1] + c], True))
    out.append(("a space (printable in ASCII; the statement does not name it)", [base[:-1] + " "], False))
    out.append(("a tab", [base[:-1] + "\t"], True))
    out.append((f"{n - 1} characters", [base[:n - 1]], True))
    out.append((f"{n} characters", [base[:n]], False))
    long = (base * 20)[: rule["max_length"]]
    out.append((f"{rule['max_length']} characters", [long], False))
    out.append((f"{rule['max_length'] + 1} characters", [long + "y"], True))
    out.append((f"{rule['max_passwords'] + 1} passwords",
                [base[:-1] + str(i) for i in range(rule["max_passwords"] + 1)], True))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--user-group", required=True, help="the user group the scratch user joins for the run")
    p.add_argument("--region", required=True)
    p.add_argument("--endpoint-url", help="an emulator's endpoint (default: the SDK's, the real API)")
    p.add_argument("--engine", default="redis", choices=["redis", "valkey"])
    p.add_argument("--redis-host", help="a cache endpoint of the group: check AUTH with redis-cli --tls")
    p.add_argument("--redis-port", type=int, default=6379)
    p.add_argument("--redis-ca", help="CA bundle for the cache's certificate (default: the system's)")
    p.add_argument("--redis-sni", help="TLS server name, when it is not --redis-host")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between DescribeUsers calls (the function's default: 2)")
    p.add_argument("--max-wait", type=float, default=600.0, help="longest wait for active, seconds")
    p.add_argument("--probe-rules", action="store_true", help="also probe the documented password rule's edges")
    args = p.parse_args()
    with open(RULE_FILE) as f:
        rule = json.load(f)

    run = Run(args)
    tag = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
    user_id = user_name = f"calib-{tag}"
    pw = {f"P{i}": "".join(secrets.choice(SAFE) for _ in range(32)) for i in range(3)}
    run.say(f"scratch user {user_id} in group {args.user_group}, region {args.region}, "
            f"{'endpoint ' + args.endpoint_url if args.endpoint_url else 'the API the SDK resolves'}")
    created = joined = False
    try:
        _, code = run.call("create_user", UserId=user_id, UserName=user_name, Engine=args.engine,
                           Passwords=[pw["P0"]], AccessString="on -@all +ping")
        run.check(code is None, "CreateUser accepted")
        if code is not None:
            return finish(run)
        created = True
        seen = run.wait(f"user {user_id}", lambda: run.user_status(user_id))
        run.check(seen[-1] == "active", "new user active")
        run.wait(f"group {args.user_group}", run.group_status)
        _, code = run.call("modify_user_group", UserGroupId=args.user_group, UserIdsToAdd=[user_id])
        run.check(code is None, "ModifyUserGroup (add) accepted")
        if code is not None:
            return finish(run)
        joined = True
        seen = run.wait(f"group {args.user_group}", run.group_status)
        run.check(seen[-1] == "active", "group active with the user")
        run.expect_auth(user_name, pw, ["P0"], [])

        # The function's sequence: setSecret sends [pending, current].
        run.set_passwords(user_id, ["P1", "P0"], pw)
        run.expect_auth(user_name, pw, ["P1", "P0"], [])
        run.set_passwords(user_id, ["P2", "P1"], pw)
        run.expect_auth(user_name, pw, ["P2", "P1"], ["P0"])
        run.set_passwords(user_id, ["P2"], pw)
        run.expect_auth(user_name, pw, ["P2"], ["P1"])

        if args.probe_rules:
            for what, passwords, refused in probes(rule):
                run.say(f"probe: ModifyUser with {what} (documented: {'refused' if refused else 'allowed'})")
                _, code = run.call("modify_user", UserId=user_id, Passwords=passwords)
                if code is None:
                    run.wait(f"user {user_id}", lambda: run.user_status(user_id))
                run.check((code == "InvalidParameterValue") if refused else (code is None),
                          f"probe {what}: {'refused' if refused else 'allowed'} as documented (answer: {code or 'accepted'})")
    finally:
        if joined:
            run.wait(f"user {user_id}", lambda: run.user_status(user_id))
            run.wait(f"group {args.user_group}", run.group_status)
            _, code = run.call("modify_user_group", UserGroupId=args.user_group, UserIdsToRemove=[user_id])
            run.check(code is None, "ModifyUserGroup (remove) accepted")
            run.wait(f"group {args.user_group}", run.group_status)
        if created:
            run.wait(f"user {user_id}", lambda: run.user_status(user_id))
            _, code = run.call("delete_user", UserId=user_id)
            run.check(code is None, "DeleteUser accepted")
            seen = run.wait(f"user {user_id}", lambda: run.user_status(user_id), until="gone")
            run.check(seen[-1] == "gone", "user gone (UserNotFound)")
    return finish(run)


def finish(run):
    if run.failed:
        print(f"calibration: {run.checks} checks, {len(run.failed)} FAILED: {'; '.join(run.failed)}")
        return 1
    print(f"calibration: {run.checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
