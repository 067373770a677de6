#!/usr/bin/env python3
"""Proves the testkit's MongoDB-wire stand-in with a second, independent client: pymongo.

Usage: mongo_standin_check.py documentdb|mongodb PORT ROOT_PASSWORD   (SANDBOX_TLS_CA: the
sandbox CA). The stand-in listens on 127.0.0.1:PORT (TLS) with user `root` in `admin`; the
Rust test `functions/mongodb-rotation/tests/it/standin.rs` starts it, runs this, then checks its
counters.

For each personality (DocumentDB 4.0, MongoDB) it starts the stand-in, then drives it through
pymongo as the rotation functions will use it (TLS verified against the sandbox CA, a direct
connection, no retryable writes) and checks what MongoDB documents: the handshake (pymongo's
first hello goes over OP_QUERY, the rest over OP_MSG), SCRAM-SHA-1 and SCRAM-SHA-256 (as each
personality offers them, negotiated and explicit), createUser / usersInfo / updateUser /
dropUser, role checks (a user may change only its own password and only with
changeOwnPassword), and the error codes 2, 11, 13, 18, 31, 51003, 59, 334. The stand-in's
counters must show the logins and refusals. Prints one line per check; exits 1 on the first
failure.
"""
import os
import secrets
import sys

from pymongo import MongoClient
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

PERSONALITY, PORT, ROOT_PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3]
CA = os.environ["SANDBOX_TLS_CA"]
CHECKS = 0


def check(name, condition, detail=""):
    global CHECKS
    if not condition:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    CHECKS += 1
    print(f"ok   {name}")


def client(port, user, password, source="admin", mechanism=None, **extra):
    options = dict(host="127.0.0.1", port=port, directConnection=True, tls=True, tlsCAFile=CA,
                   username=user, password=password, authSource=source, retryWrites=False,
                   serverSelectionTimeoutMS=3000, connectTimeoutMS=3000)
    if mechanism:
        options["authMechanism"] = mechanism
    options.update(extra)
    return MongoClient(**options)


def error_code(action):
    """The server's error code for `action`, or None when it succeeded."""
    try:
        action()
    except OperationFailure as e:
        return e.code
    return None


def logs_in(port, user, password, source="admin", mechanism=None):
    c = client(port, user, password, source, mechanism)
    try:
        return error_code(lambda: c.admin.command("ping")) is None
    finally:
        c.close()


def shared_checks(tag, port, db, roles, mechanisms):
    root = client(port, "root", ROOT_PASSWORD)
    check(f"{tag}: root logs in (mechanism negotiated from saslSupportedMechs)", root.admin.command("ping")["ok"] == 1)
    hello = root.admin.command("hello")
    check(f"{tag}: hello answers over OP_MSG after the OP_QUERY handshake", hello["isWritablePrimary"] is True
          and hello["maxBsonObjectSize"] == 16777216)
    app = "app_" + secrets.token_hex(4)
    root[db].command("createUser", app, pwd="App-Pa55word-1", roles=roles)
    info = root[db].command("usersInfo", app)["users"]
    check(f"{tag}: usersInfo shows the new user, its roles and mechanisms",
          len(info) == 1 and info[0]["user"] == app and info[0]["db"] == db
          and info[0]["roles"] == [{"role": r["role"], "db": r["db"]} for r in roles]
          and info[0]["mechanisms"] == mechanisms, info)
    check(f"{tag}: a second createUser is 51003",
          error_code(lambda: root[db].command("createUser", app, pwd="x-Pa55word", roles=[])) == 51003)
    check(f"{tag}: an unknown role is 31 RoleNotFound",
          error_code(lambda: root[db].command("createUser", app + "x", pwd="x-Pa55word", roles=["noSuchRole"])) == 31)
    check(f"{tag}: the new user logs in", logs_in(port, app, "App-Pa55word-1", db))
    check(f"{tag}: a wrong password is refused", not logs_in(port, app, "Wrong-Pa55word", db))
    check(f"{tag}: an unknown user is refused the same way",
          error_code(lambda: client(port, "ghost_" + app, "x", db).admin.command("ping")) == 18)
    user = client(port, app, "App-Pa55word-1", db)
    check(f"{tag}: without changeOwnPassword a user cannot change its own password (13)",
          error_code(lambda: user[db].command("updateUser", app, pwd="New-Pa55word-2")) == 13)
    check(f"{tag}: a user may read its own usersInfo",
          user[db].command("usersInfo", app)["users"][0]["user"] == app)
    check(f"{tag}: but not another's (13)",
          error_code(lambda: user.admin.command("usersInfo", "root")) == 13)
    check(f"{tag}: nor change another's password (13)",
          error_code(lambda: user.admin.command("updateUser", "root", pwd="Hijack-Pa55word")) == 13)
    root[db].command("updateUser", app, roles=roles + [{"role": "changeOwnPassword", "db": db}])
    user[db].command("updateUser", app, pwd="New-Pa55word-2")
    check(f"{tag}: with changeOwnPassword the new password logs in", logs_in(port, app, "New-Pa55word-2", db))
    check(f"{tag}: and the old one no longer does", not logs_in(port, app, "App-Pa55word-1", db))
    check(f"{tag}: roles given to updateUser replace the old ones",
          root[db].command("usersInfo", app)["users"][0]["roles"][-1] == {"role": "changeOwnPassword", "db": db})
    status = user.admin.command("connectionStatus")["authInfo"]["authenticatedUsers"]
    check(f"{tag}: connectionStatus names the authenticated user", status == [{"user": app, "db": db}], status)
    check(f"{tag}: updateUser of a missing user is 11",
          error_code(lambda: root[db].command("updateUser", "ghost_" + app, pwd="x-Pa55word")) == 11)
    check(f"{tag}: dropUser of a missing user is 11",
          error_code(lambda: root[db].command("dropUser", "ghost_" + app)) == 11)
    check(f"{tag}: an unknown command is 59", error_code(lambda: root.admin.command("noSuchCommand")) == 59)
    root[db].command("dropUser", app)
    check(f"{tag}: a dropped user no longer logs in", not logs_in(port, app, "New-Pa55word-2", db))
    hostile = "o'k,=\"x" + secrets.token_hex(2)
    root[db].command("createUser", hostile, pwd="Pässwörd,=1", roles=roles)
    check(f"{tag}: a name with , = ' \" and a non-ASCII password log in", logs_in(port, hostile, "Pässwörd,=1", db))
    plain = MongoClient(host="127.0.0.1", port=port, directConnection=True, serverSelectionTimeoutMS=800)
    try:
        plain.admin.command("ping")
        check(f"{tag}: a connection without TLS is refused", False)
    except ServerSelectionTimeoutError:
        check(f"{tag}: a connection without TLS is refused", True)
    user.close()
    root.close()


def documentdb(port):
    roles = [{"role": "readWrite", "db": "admin"}]
    shared_checks("DocumentDB 4.0", port, "admin", roles, ["SCRAM-SHA-1"])
    root = client(port, "root", ROOT_PASSWORD)
    hello = root.admin.command("hello")
    check("DocumentDB 4.0: wire version 7, replica set rs0", hello["maxWireVersion"] == 7 and hello["setName"] == "rs0")
    check("DocumentDB 4.0: buildInfo says 4.0.0", root.admin.command("buildInfo")["version"] == "4.0.0")
    check("DocumentDB 4.0: users are created in admin only (2)",
          error_code(lambda: root["other"].command("createUser", "u1", pwd="x-Pa55word", roles=[])) == 2)
    check("DocumentDB 4.0: SCRAM-SHA-256 is refused (334)",
          error_code(lambda: client(port, "root", ROOT_PASSWORD, mechanism="SCRAM-SHA-256").admin.command("ping")) == 334)
    check("DocumentDB 4.0: SCRAM-SHA-1 works when asked for", logs_in(port, "root", ROOT_PASSWORD, mechanism="SCRAM-SHA-1"))
    discovering = client(port, "root", ROOT_PASSWORD, directConnection=False, serverSelectionTimeoutMS=1500)
    try:
        discovering.admin.command("ping")
        check("DocumentDB 4.0: a client that follows the member list never reaches a server", False)
    except ServerSelectionTimeoutError:
        check("DocumentDB 4.0: a client that follows the member list never reaches a server", True)
    root.close()
    discovering.close()


def mongodb(port):
    roles = [{"role": "readWrite", "db": "appdb"}]
    shared_checks("MongoDB", port, "appdb", roles, ["SCRAM-SHA-256", "SCRAM-SHA-1"])
    root = client(port, "root", ROOT_PASSWORD)
    check("MongoDB: wire version 21, standalone", root.admin.command("hello")["maxWireVersion"] == 21
          and "setName" not in root.admin.command("hello"))
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-1"]:
        check(f"MongoDB: root logs in with {mechanism}", logs_in(port, "root", ROOT_PASSWORD, mechanism=mechanism))
    root["appdb"].command("createUser", "sha1only", pwd="Sha1-Pa55word", roles=[], mechanisms=["SCRAM-SHA-1"])
    check("MongoDB: a SHA-1-only user logs in with SHA-1 (negotiated)", logs_in(port, "sha1only", "Sha1-Pa55word", "appdb"))
    check("MongoDB: and is refused SHA-256 (334)",
          error_code(lambda: client(port, "sha1only", "Sha1-Pa55word", "appdb", "SCRAM-SHA-256").admin.command("ping")) == 334)
    root["appdb"].command("createUser", "appadmin", pwd="Adm-Pa55word", roles=[{"role": "userAdmin", "db": "appdb"}])
    appadmin = client(port, "appadmin", "Adm-Pa55word", "appdb")
    appadmin["appdb"].command("createUser", "made_by_admin", pwd="Made-Pa55word", roles=["read"])
    check("MongoDB: userAdmin on a database creates users there", logs_in(port, "made_by_admin", "Made-Pa55word", "appdb"))
    check("MongoDB: but not in admin (13)",
          error_code(lambda: appadmin.admin.command("createUser", "nope", pwd="x-Pa55word", roles=[])) == 13)
    appadmin.close()
    root.close()


{"documentdb": documentdb, "mongodb": mongodb}[PERSONALITY](PORT)
print(f"{CHECKS} checks passed")
