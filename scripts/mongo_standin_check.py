#!/usr/bin/env python3
"""Proves the testkit's MongoDB-wire stand-in with a second, independent client: pymongo.

Usage: mongo_standin_check.py documentdb|mongodb PORT ROOT_PASSWORD   (SANDBOX_TLS_CA: the
sandbox CA), or mongo_standin_check.py --uri URI [--db DB] to calibrate the stand-in against a
real MongoDB or DocumentDB (the same checks that hold for any server, the same expected codes;
only users and roles named standin_check_<random>_..., dropped at the end). The stand-in listens on 127.0.0.1:PORT (TLS) with user `root` in `admin`; the
Rust test `functions/mongodb/tests/it/stand_in.rs` starts it, runs this, then checks its
counters.

For each personality (DocumentDB 4.0, MongoDB) it starts the stand-in, then drives it through
pymongo as the rotation functions will use it (TLS verified against the sandbox CA, a direct
connection, no retryable writes) and checks what MongoDB documents: the handshake (pymongo's
first hello goes over OP_QUERY, the rest over OP_MSG), SCRAM-SHA-1 and SCRAM-SHA-256 (as each
personality offers them, negotiated and explicit), createUser / usersInfo / updateUser /
dropUser, privileges (a user may change only its own password, and only with the
changeOwnPassword action from a user-defined role: the manual's recipe; changeOwnPassword as a
role name and readAnyDatabase outside admin are 31; userAdmin on admin alone may not grant
roles on another database; authorization comes before the lookup, 13 before 11), createRole /
rolesInfo / dropRole, connectionStatus showPrivileges, and the error codes 2, 11, 13, 18, 31,
51003, 59, 334. MongoDB: users with
authenticationRestrictions and mechanisms, listed by usersInfo with
showAuthenticationRestrictions, logins refused (18) or accepted by the client's and the server's
address (127.0.0.1 here), an empty list clearing them, and the errors 14, 20, 40415. DocumentDB:
authenticationRestrictions and showAuthenticationRestrictions refused as arguments it does not
implement (2; an assumption, see testkit/src/mongo/mod.rs), mechanisms SCRAM-SHA-1. The
stand-in's counters must show the logins and refusals. Prints one line per check; exits 1 on
the first failure.
"""
import argparse
import os
import secrets
import sys

from pymongo import MongoClient
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

PARSER = argparse.ArgumentParser(description="Proves the MongoDB-wire stand-in, or calibrates it against a real server.")
PARSER.add_argument("--uri", help="a connection string to a real MongoDB or DocumentDB with an admin user (userAdminAnyDatabase or root); only the checks that hold for any server run, on users and roles named with a unique prefix, all dropped at the end")
PARSER.add_argument("--db", default="admin", help="with --uri: the database the test users live in (DocumentDB: admin)")
PARSER.add_argument("stand_in", nargs="*", help="documentdb|mongodb PORT ROOT_PASSWORD (the stand-in)")
ARGS = PARSER.parse_args()
URI = ARGS.uri
if URI is None:
    if len(ARGS.stand_in) != 3:
        PARSER.error("give documentdb|mongodb PORT ROOT_PASSWORD, or --uri")
    PERSONALITY, PORT, ROOT_PASSWORD = ARGS.stand_in[0], int(ARGS.stand_in[1]), ARGS.stand_in[2]
    CA = os.environ["SANDBOX_TLS_CA"]
else:
    PERSONALITY, PORT, ROOT_PASSWORD, CA = "uri", 0, None, None
# Every user and role this script makes starts with it (dropped at the end in --uri mode).
PREFIX = "standin_check_" + secrets.token_hex(3) + "_"
MADE_USERS = []
MADE_ROLES = []
CHECKS = 0


def check(name, condition, detail=""):
    global CHECKS
    if not condition:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    CHECKS += 1
    print(f"ok   {name}")


def client(port, user, password, source="admin", mechanism=None, **extra):
    if URI is not None:
        # The connection string's host and TLS options; this user's credentials.
        options = dict(username=user, password=password, authSource=source, retryWrites=False,
                       serverSelectionTimeoutMS=5000)
        if mechanism:
            options["authMechanism"] = mechanism
        options.update(extra)
        return MongoClient(URI, **options)
    options = dict(host="127.0.0.1", port=port, directConnection=True, tls=True, tlsCAFile=CA,
                   username=user, password=password, authSource=source, retryWrites=False,
                   serverSelectionTimeoutMS=3000, connectTimeoutMS=3000)
    if mechanism:
        options["authMechanism"] = mechanism
    options.update(extra)
    return MongoClient(**options)


def admin_client():
    """The administrator: the connection string's user, or the stand-in's root."""
    if URI is not None:
        return MongoClient(URI, retryWrites=False, serverSelectionTimeoutMS=5000)
    return client(PORT, "root", ROOT_PASSWORD)


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
    root = admin_client()
    check(f"{tag}: root logs in (mechanism negotiated from saslSupportedMechs)", root.admin.command("ping")["ok"] == 1)
    hello = root.admin.command("hello")
    check(f"{tag}: hello answers over OP_MSG after the OP_QUERY handshake", hello["isWritablePrimary"] is True
          and hello["maxBsonObjectSize"] == 16777216)
    app = PREFIX + "app"
    MADE_USERS.append((db, app))
    root[db].command("createUser", app, pwd="App-Pa55word-1", roles=roles)
    info = root[db].command("usersInfo", app)["users"]
    check(f"{tag}: usersInfo shows the new user, its roles and mechanisms",
          len(info) == 1 and info[0]["user"] == app and info[0]["db"] == db
          and info[0]["roles"] == [{"role": r["role"], "db": r["db"]} for r in roles]
          and (mechanisms is None or info[0]["mechanisms"] == mechanisms), info)
    check(f"{tag}: a second createUser is 51003",
          error_code(lambda: root[db].command("createUser", app, pwd="x-Pa55word", roles=[])) == 51003)
    check(f"{tag}: an unknown role is 31 RoleNotFound",
          error_code(lambda: root[db].command("createUser", app + "x", pwd="x-Pa55word", roles=["noSuchRole"])) == 31)
    check(f"{tag}: changeOwnPassword is an action, not a role (31)",
          error_code(lambda: root[db].command("createUser", app + "x", pwd="x-Pa55word",
                                              roles=[{"role": "changeOwnPassword", "db": db}])) == 31)
    check(f"{tag}: readAnyDatabase exists only on admin (31 elsewhere)",
          error_code(lambda: root[db].command("createUser", app + "x", pwd="x-Pa55word",
                                              roles=[{"role": "readAnyDatabase", "db": "otherdb"}])) == 31)
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
    check(f"{tag}: nor update a missing user: 13 before 11 (authorization before the lookup)",
          error_code(lambda: user[db].command("updateUser", "ghost_" + app, pwd="x-Pa55word")) == 13)
    # The manual's recipe ("Change Your Password and Custom Data"): a role in admin granting
    # the changeOwnPassword action on every database.
    own = PREFIX + "ownPassword"
    MADE_ROLES.append(own)
    root.admin.command("createRole", own, roles=[],
                       privileges=[{"resource": {"db": "", "collection": ""}, "actions": ["changeOwnPassword"]}])
    shown = root.admin.command("rolesInfo", own, showPrivileges=True)["roles"]
    check(f"{tag}: rolesInfo with showPrivileges lists the custom role's action",
          len(shown) == 1 and any("changeOwnPassword" in p["actions"] for p in shown[0]["privileges"]), shown)
    root[db].command("updateUser", app, roles=roles + [{"role": own, "db": "admin"}])
    user[db].command("updateUser", app, pwd="New-Pa55word-2")
    check(f"{tag}: with changeOwnPassword from a custom role the new password logs in", logs_in(port, app, "New-Pa55word-2", db))
    check(f"{tag}: and the old one no longer does", not logs_in(port, app, "App-Pa55word-1", db))
    check(f"{tag}: roles given to updateUser replace the old ones",
          root[db].command("usersInfo", app)["users"][0]["roles"][-1] == {"role": own, "db": "admin"})
    user.close()
    user = client(port, app, "New-Pa55word-2", db)
    status = user.admin.command("connectionStatus", showPrivileges=True)["authInfo"]
    check(f"{tag}: connectionStatus names the authenticated user", status["authenticatedUsers"] == [{"user": app, "db": db}], status)
    check(f"{tag}: and with showPrivileges the action on every database",
          any(p["resource"] == {"db": "", "collection": ""} and "changeOwnPassword" in p["actions"]
              for p in status.get("authenticatedUserPrivileges", [])), status)
    check(f"{tag}: changeOwnPassword does not change another's password (13)",
          error_code(lambda: user.admin.command("updateUser", "root", pwd="Hijack-Pa55word")) == 13)
    check(f"{tag}: updateUser of a missing user is 11 for a caller that may change passwords",
          error_code(lambda: root[db].command("updateUser", "ghost_" + app, pwd="x-Pa55word")) == 11)
    # A user administrator of admin only may not give roles on another database.
    ua = PREFIX + "admins_admin"
    MADE_USERS.append(("admin", ua))
    root.admin.command("createUser", ua, pwd="Ua-Pa55word-1", roles=[{"role": "userAdmin", "db": "admin"}])
    admins_admin = client(port, ua, "Ua-Pa55word-1", "admin")
    check(f"{tag}: userAdmin on admin alone may not grant readWrite on otherdb (13: grantRole there)",
          error_code(lambda: admins_admin.admin.command("createUser", PREFIX + "clone", pwd="x-Pa55word",
                                                        roles=[{"role": "readWrite", "db": "otherdb"}])) == 13)
    admins_admin.close()
    root.admin.command("dropUser", ua)
    root.admin.command("dropRole", own)
    check(f"{tag}: a dropped role is taken from its users",
          root[db].command("usersInfo", app)["users"][0]["roles"] == roles)
    check(f"{tag}: dropUser of a missing user is 11",
          error_code(lambda: root[db].command("dropUser", "ghost_" + app)) == 11)
    check(f"{tag}: an unknown command is 59", error_code(lambda: root.admin.command("noSuchCommand")) == 59)
    root[db].command("dropUser", app)
    check(f"{tag}: a dropped user no longer logs in", not logs_in(port, app, "New-Pa55word-2", db))
    hostile = PREFIX + "o'k,=\"x"
    MADE_USERS.append((db, hostile))
    if tag.startswith("DocumentDB"):
        # DocumentDB: 8-100 printable ASCII characters but / " @ and space (cluster settings).
        refused = error_code(lambda: root[db].command("createUser", hostile, pwd="Pa55word@1", roles=roles))
        check(f"{tag}: a password with @ is refused (2)", refused == 2)
        if refused is None:  # the server took it: drop it so the next check can run
            root[db].command("dropUser", hostile)
        password = "Pa55word,=~1"
    else:
        password = "Pässwörd,=1"
    root[db].command("createUser", hostile, pwd=password, roles=roles)
    check(f"{tag}: a name with , = ' \" (escaped by pymongo) and a {'printable ASCII' if tag.startswith('DocumentDB') else 'non-ASCII'} password log in",
          logs_in(port, hostile, password, db))
    if URI is not None:
        user.close()
        root.close()
        return
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
    check("DocumentDB 4.0: createUser with authenticationRestrictions is refused (2)",
          error_code(lambda: root.admin.command("createUser", "fenced", pwd="x-Pa55word", roles=[],
                                                authenticationRestrictions=[{"clientSource": ["127.0.0.1"]}])) == 2)
    check("DocumentDB 4.0: usersInfo with showAuthenticationRestrictions is refused (2)",
          error_code(lambda: root.admin.command("usersInfo", "root", showAuthenticationRestrictions=True)) == 2)
    root.admin.command("createUser", "sha1mech", pwd="Sha1-Pa55word", roles=[], mechanisms=["SCRAM-SHA-1"])
    check("DocumentDB 4.0: createUser with mechanisms SCRAM-SHA-1 logs in and is listed",
          logs_in(port, "sha1mech", "Sha1-Pa55word")
          and root.admin.command("usersInfo", "sha1mech")["users"][0]["mechanisms"] == ["SCRAM-SHA-1"])
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
    restrictions(port, root)
    root.close()


def restrictions(port, root):
    """MongoDB's authentication restrictions (manual: createUser, updateUser, usersInfo): the
    stand-in sees this client at 127.0.0.1 and is reached on 127.0.0.1."""
    db = root["appdb"]
    fenced = "fenced_" + secrets.token_hex(4)
    listed = [{"clientSource": ["10.0.0.0/8", "127.0.0.1"], "serverAddress": ["127.0.0.1/32"]},
              {"clientSource": ["192.168.0.0/16"]}]
    db.command("createUser", fenced, pwd="Fenced-Pa55word", roles=[{"role": "read", "db": "appdb"}],
               authenticationRestrictions=listed, mechanisms=["SCRAM-SHA-256"])

    def info(**options):
        return db.command("usersInfo", {"user": fenced, "db": "appdb"}, **options)["users"][0]

    shown = info(showAuthenticationRestrictions=True)
    check("MongoDB: usersInfo with showAuthenticationRestrictions lists them as created, and the mechanisms",
          shown.get("authenticationRestrictions") == listed and shown.get("mechanisms") == ["SCRAM-SHA-256"], shown)
    check("MongoDB: without the option usersInfo does not list them", "authenticationRestrictions" not in info())
    check("MongoDB: a user without restrictions lists an empty array",
          root.admin.command("usersInfo", "root", showAuthenticationRestrictions=True)["users"][0]
          ["authenticationRestrictions"] == [])
    check("MongoDB: a login from an allowed client to an allowed server address is accepted",
          logs_in(port, fenced, "Fenced-Pa55word", "appdb"))

    def refused():
        c = client(port, fenced, "Fenced-Pa55word", "appdb")
        try:
            return error_code(lambda: c.admin.command("ping")) == 18
        finally:
            c.close()

    db.command("updateUser", fenced, authenticationRestrictions=[{"clientSource": ["10.0.0.0/8"]}])
    check("MongoDB: clientSource 10.0.0.0/8 refuses the right password from 127.0.0.1 (18)", refused())
    db.command("updateUser", fenced, authenticationRestrictions=[{"clientSource": ["127.0.0.1"],
                                                                  "serverAddress": ["10.0.0.0/8"]}])
    check("MongoDB: a document is met only when each of its lists is (serverAddress 10.0.0.0/8: 18)", refused())
    db.command("updateUser", fenced, authenticationRestrictions=[{"serverAddress": ["10.0.0.0/8"]},
                                                                 {"clientSource": ["127.0.0.0/8"]}])
    check("MongoDB: any one document met lets the user in", logs_in(port, fenced, "Fenced-Pa55word", "appdb"))
    db.command("updateUser", fenced, authenticationRestrictions=[{"clientSource": ["10.0.0.0/8"]}])
    db.command("updateUser", fenced, authenticationRestrictions=[])
    check("MongoDB: updateUser with an empty array clears them",
          info(showAuthenticationRestrictions=True)["authenticationRestrictions"] == []
          and logs_in(port, fenced, "Fenced-Pa55word", "appdb"))
    db.command("updateUser", fenced, pwd="Fenced-Pa55word-2", mechanisms=["SCRAM-SHA-256", "SCRAM-SHA-1"])
    check("MongoDB: updateUser with the password widens the mechanisms (SCRAM-SHA-1 logs in)",
          sorted(info()["mechanisms"]) == ["SCRAM-SHA-1", "SCRAM-SHA-256"]
          and logs_in(port, fenced, "Fenced-Pa55word-2", "appdb", "SCRAM-SHA-1"))
    check("MongoDB: an unknown restriction field is 40415",
          error_code(lambda: db.command("createUser", fenced + "x", pwd="x-Pa55word", roles=[],
                                        authenticationRestrictions=[{"clientSource": ["127.0.0.1"],
                                                                     "clientCertificate": ["CN=x"]}])) == 40415)
    check("MongoDB: restrictions that are not an array are 14",
          error_code(lambda: db.command("updateUser", fenced,
                                        authenticationRestrictions={"clientSource": ["127.0.0.1"]})) == 14)
    check("MongoDB: showAuthenticationRestrictions for all users is 20",
          error_code(lambda: db.command("usersInfo", 1, showAuthenticationRestrictions=True)) == 20)
    db.command("dropUser", fenced)


def calibrate():
    """--uri: the checks that hold for any server, on the connection string's server, with
    only users and roles named PREFIX..., all dropped at the end (also after a failure)."""
    root = admin_client()
    try:
        # Mechanisms differ by server and version: not compared here.
        shared_checks("server", 0, ARGS.db, [{"role": "read", "db": ARGS.db}], None)
    finally:
        for db, name in MADE_USERS:
            error_code(lambda: root[db].command("dropUser", name))
        for name in MADE_ROLES:
            error_code(lambda: root.admin.command("dropRole", name))
        root.close()


if URI is not None:
    calibrate()
else:
    {"documentdb": documentdb, "mongodb": mongodb}[PERSONALITY](PORT)
print(f"{CHECKS} checks passed")
