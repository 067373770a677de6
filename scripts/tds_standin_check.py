#!/usr/bin/env python3
"""Proves the testkit's TDS stand-in with two clients that are not ours: pymssql (FreeTDS inside
its wheel) and python-tds (pure Python; TLS through pyOpenSSL), both from the pinned venv that
scripts/setup.sh makes.

Usage: tds_standin_check.py FORCED_PORT OFF_PORT NOTSUP_PORT MASTER_PASSWORD APP_PASSWORD
(SANDBOX_TLS_CA: the CA of the stand-ins' certificate). Three stand-ins on 127.0.0.1: encryption
forced (`rds.force_ssl`), not forced, and no certificate (NOT_SUP); each with the logins `admin`
(the RDS master user) and `app` (CONNECT SQL only) holding those passwords, a user database
`appdb` and a contained database `cdb`. Prints one line per check and, last, "<n> checks
passed"; exits non-zero at the first failure.

Statements are Microsoft's as documented (ALTER LOGIN example C, CREATE LOGIN, QUOTENAME; the
catalog views; CREATE / ALTER USER, ALTER [SERVER] ROLE, GRANT / DENY / REVOKE), sent as pymssql
sends them (a SQL batch with client-side `N'...'` literals, the official functions' statements as
they write them) and as python-tds sends parameters (an RPC to sp_executesql, as tiberius does).
Both clients run with autocommit on except in the transaction checks (pymssql's default BEGIN
TRAN at connect; python-tds' transaction manager requests).
"""
import os
import sys
import tempfile

import pymssql
import pytds

FORCED, OFF, NOTSUP = (int(p) for p in sys.argv[1:4])
MASTER_PW, APP_PW = sys.argv[4:6]
CA = os.environ["SANDBOX_TLS_CA"]
HOST = "localhost"  # the certificate's name
# FreeTDS verifies the server's certificate against this CA ("ca file"). pymssql 2.3.13's
# `encryption=` keyword does not reach the PRELOGIN (FreeTDS sends OFF whatever it says: the
# stand-in's debug log shows 0x00); freetds.conf's `encryption = require` does (ON), so the
# require cases run with a configuration file saying so, as the official function's
# FREETDSCONF=freetds_ssl.conf presumably does.
CONFS = {}
for level in ("request", "require", "off"):
    CONFS[level] = os.path.join(tempfile.mkdtemp(), "freetds.conf")
    with open(CONFS[level], "w") as f:
        f.write(f"[global]\n\tca file = {CA}\n\tencryption = {level}\n")

passed = 0


def check(name, cond, detail=""):
    global passed
    if not cond:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    passed += 1
    print(f"ok   {name}")


def ms(port, user, password, encryption="request", database="master", autocommit=True):
    os.environ["FREETDSCONF"] = CONFS[encryption]
    return pymssql.connect(server=HOST, port=port, user=user, password=password,
                           database=database, encryption=encryption, autocommit=autocommit,
                           login_timeout=5, timeout=10)


def pt(port, user, password, tls=True, login_only=False, database="master", autocommit=True):
    return pytds.connect(dsn=HOST, port=port, user=user, password=password, database=database,
                         cafile=CA if tls else None, enc_login_only=login_only,
                         autocommit=autocommit, login_timeout=5, timeout=10)


def one(conn, sql, params=None):
    cur = conn.cursor()
    if params is None:
        cur.execute(sql)
    else:
        cur.execute(sql, params)
    return cur.fetchone()


def ms_error(fn):
    """The SQL Server error number pymssql reports (0 when there was none)."""
    try:
        fn()
    except pymssql.Error as e:
        arg = e.args[0]
        if isinstance(arg, tuple):
            return arg[0]
        return arg if isinstance(arg, int) else -1
    return 0


def pt_error(fn):
    try:
        fn()
    except pytds.Error as e:
        return getattr(e, "msg_no", -1) or -1
    return 0


def fails(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - any refusal counts; the message is printed
        return str(e).splitlines()[0] if str(e) else type(e).__name__
    return None


# --- pymssql (FreeTDS 1.4) -------------------------------------------------------------------
# require -> ON; forced server answers ON: the whole session over TLS, certificate verified.
with ms(FORCED, "app", APP_PW, encryption="require") as c:
    v = one(c, "SELECT @@VERSION")[0]
    check("pymssql require/forced: SELECT @@VERSION", v.startswith("Microsoft SQL Server 2022"), v)
    check("pymssql: DB_NAME(), SUSER_SNAME(), ORIGINAL_LOGIN()",
          one(c, "SELECT DB_NAME(), SUSER_SNAME(), ORIGINAL_LOGIN()") == ("master", "app", "app"))
    check("pymssql: QUOTENAME(%s) doubles ]",
          one(c, "SELECT QUOTENAME(%s)", ("we]ird[name",))[0] == "[we]]ird[name]")
    check("pymssql: QUOTENAME with a quote character",
          one(c, "SELECT QUOTENAME(%s, '''')", ("it's",))[0] == "'it''s'")
    check("pymssql: QUOTENAME of 129 characters is NULL",
          one(c, "SELECT QUOTENAME(%s)", ("a" * 129,))[0] is None)
    check("pymssql: QUOTENAME with an unknown quote character is NULL",
          one(c, "SELECT QUOTENAME(N'x', N'|')")[0] is None)
    check("pymssql: syntax error is 102", ms_error(lambda: one(c, "SELECT 1 +")) == 102)
    check("pymssql: a reserved word where a name belongs is 156",
          ms_error(lambda: c.cursor().execute("ALTER LOGIN select WITH PASSWORD = N'x'")) == 156)
    check("pymssql: what is not modelled is refused (50000)",
          ms_error(lambda: one(c, "SELECT name FROM sys.indexes")) == 50000)
# request -> OFF; forced server answers REQ: the whole session still encrypted.
with ms(FORCED, "app", APP_PW, encryption="request") as c:
    check("pymssql request/forced: logged in", one(c, "SELECT SUSER_SNAME()")[0] == "app")
# off -> NOT_SUP; a forced server answers REQ and ends the connection.
err = fails(lambda: ms(FORCED, "app", APP_PW, encryption="off"))
check("pymssql off/forced: refused", err is not None, err)
# require -> ON to an unforced server: ON, the whole session encrypted.
with ms(OFF, "app", APP_PW, encryption="require") as c:
    check("pymssql require/off: full encryption", one(c, "SELECT 4")[0] == 4)
# request -> OFF; unforced server answers OFF: only LOGIN7 is encrypted (FreeTDS drops TLS).
with ms(OFF, "app", APP_PW, encryption="request") as c:
    check("pymssql request/off: login-only encryption", one(c, "SELECT 1")[0] == 1)
check("pymssql: wrong password is 18456",
      ms_error(lambda: ms(FORCED, "app", "not-" + APP_PW, encryption="require")) == 18456)
check("pymssql: unknown login is 18456",
      ms_error(lambda: ms(FORCED, "nobody", APP_PW, encryption="require")) == 18456)
# The stand-in answers 4060 then 18456, as SQL Server does; pymssql reports the last one.
check("pymssql: unknown database refused (4060, then 18456)",
      ms_error(lambda: ms(FORCED, "app", APP_PW, encryption="require", database="nodb")) == 18456)

# Own password: MS Learn ALTER LOGIN example C, the statement the official function sends.
NEW_PW = "New-'Pa55]word-1"
with ms(FORCED, "app", APP_PW, encryption="require") as c:
    cur = c.cursor()
    check("pymssql: ALTER LOGIN without OLD_PASSWORD is 15151",
          ms_error(lambda: cur.execute("ALTER LOGIN app WITH PASSWORD = %s", (NEW_PW,))) == 15151)
    check("pymssql: a wrong OLD_PASSWORD is 15151",
          ms_error(lambda: cur.execute("ALTER LOGIN app WITH PASSWORD = %s OLD_PASSWORD = %s",
                                       (NEW_PW, "wrong"))) == 15151)
    check("pymssql: another login's password is 15151",
          ms_error(lambda: cur.execute("ALTER LOGIN admin WITH PASSWORD = %s OLD_PASSWORD = %s",
                                       (NEW_PW, MASTER_PW))) == 15151)
    check("pymssql: CREATE LOGIN without ALTER ANY LOGIN is 15247",
          ms_error(lambda: cur.execute("CREATE LOGIN x WITH PASSWORD = N'Xx-pw-123'")) == 15247)
    quoted = one(c, "SELECT QUOTENAME(%s)", ("app",))[0]
    cur.execute(f"ALTER LOGIN {quoted} WITH PASSWORD = %s OLD_PASSWORD = %s", (NEW_PW, APP_PW))
    check("pymssql: ALTER LOGIN [app] WITH PASSWORD .. OLD_PASSWORD ..", True)
    check("pymssql: the changing session stays logged in", one(c, "SELECT SUSER_SNAME()")[0] == "app")
with ms(FORCED, "app", NEW_PW, encryption="require") as c:
    check("pymssql: the new password logs in", one(c, "SELECT SUSER_SNAME()")[0] == "app")
check("pymssql: the old password is refused (18456)",
      ms_error(lambda: ms(FORCED, "app", APP_PW, encryption="require")) == 18456)

# The RDS master user creates a login and resets a password without OLD_PASSWORD.
CLONE, CLONE_PW = "app_clone", "Clone-Pa55word-1"
with ms(FORCED, "admin", MASTER_PW, encryption="require") as c:
    c.cursor().execute("CREATE LOGIN [app_clone] WITH PASSWORD = %s", (CLONE_PW,))
    check("pymssql: master CREATE LOGIN", True)
    check("pymssql: CREATE LOGIN of an existing login is 15025",
          ms_error(lambda: c.cursor().execute("CREATE LOGIN app_clone WITH PASSWORD = N'Xx-pw-123'"))
          == 15025)
    c.cursor().execute("ALTER LOGIN app WITH PASSWORD = %s", (APP_PW,))
    check("pymssql: master resets app's password without OLD_PASSWORD", True)
with ms(FORCED, CLONE, CLONE_PW, encryption="require") as c:
    check("pymssql: the created login logs in", one(c, "SELECT SUSER_SNAME()")[0] == CLONE)

# NOT_SUP server: plaintext for a client that does not want TLS, refusal for one that does.
with ms(NOTSUP, "app", APP_PW, encryption="off") as c:
    check("pymssql off/not-sup: plaintext session", one(c, "SELECT DB_NAME()")[0] == "master")
err = fails(lambda: ms(NOTSUP, "app", APP_PW, encryption="require"))
check("pymssql require/not-sup: refused", err is not None, err)

# --- python-tds (pure Python) ----------------------------------------------------------------
# cafile -> ON; forced server answers ON: full TLS, certificate and host name verified.
with pt(FORCED, "app", APP_PW) as c:
    v = one(c, "SELECT @@VERSION")[0]
    check("python-tds ON/forced: SELECT @@VERSION", v.startswith("Microsoft SQL Server 2022"), v)
    check("python-tds: DB_NAME(), SUSER_SNAME(), ORIGINAL_LOGIN()",
          tuple(one(c, "SELECT DB_NAME(), SUSER_SNAME(), ORIGINAL_LOGIN()")) == ("master", "app", "app"))
    check("python-tds: QUOTENAME(N'a]b')", one(c, "SELECT QUOTENAME(N'a]b')")[0] == "[a]]b]")
    check("python-tds: QUOTENAME(N'x', '{')", one(c, "SELECT QUOTENAME(N'x}', '{')")[0] == "{x}}}")
    # With parameters python-tds sends an RPC to sp_executesql (@P1, ...).
    check("python-tds: sp_executesql QUOTENAME(@P1)",
          one(c, "SELECT QUOTENAME(%s)", ("a]b",))[0] == "[a]]b]")
    check("python-tds: sp_executesql QUOTENAME(@P1, @P2) and an INT parameter",
          tuple(one(c, "SELECT QUOTENAME(%s, %s), %s", ("it's", "'", 5))) == ("'it''s'", 5))
    check("python-tds: sp_executesql NVARCHAR(MAX) parameter (PLP) over 128 characters: NULL",
          one(c, "SELECT QUOTENAME(%s)", ("x" * 5000,))[0] is None)
    check("python-tds: a parameter as the password is a syntax error (102)",
          pt_error(lambda: c.cursor().execute("ALTER LOGIN app WITH PASSWORD = %s", ("x",))) == 102)
    check("python-tds: the session goes on after the error", one(c, "SELECT 2")[0] == 2)
# enc_login_only -> OFF; unforced server answers OFF: LOGIN7 encrypted, then plaintext.
with pt(OFF, "app", APP_PW, login_only=True) as c:
    check("python-tds OFF/off: login-only encryption", one(c, "SELECT SUSER_SNAME()")[0] == "app")
# ON to an unforced server: ON, full TLS.
with pt(OFF, "app", APP_PW) as c:
    check("python-tds ON/off: full encryption", one(c, "SELECT 3")[0] == 3)
check("python-tds: wrong password is 18456",
      pt_error(lambda: pt(FORCED, "app", "not-" + APP_PW)) == 18456)
# Own password change and back, with python-tds.
PT_PW = "Py-tds-Pa55word-1"
with pt(FORCED, "app", APP_PW) as c:
    check("python-tds: ALTER LOGIN without OLD_PASSWORD is 15151",
          pt_error(lambda: c.cursor().execute("ALTER LOGIN [app] WITH PASSWORD = N'" + PT_PW + "'"))
          == 15151)
    c.cursor().execute(f"ALTER LOGIN [app] WITH PASSWORD = N'{PT_PW}' OLD_PASSWORD = N'{APP_PW}'")
    check("python-tds: own password changed with OLD_PASSWORD", True)
with pt(FORCED, "app", PT_PW) as c:
    check("python-tds: the new password logs in", one(c, "SELECT SUSER_SNAME()")[0] == "app")
check("python-tds: the old password is refused (18456)",
      pt_error(lambda: pt(FORCED, "app", APP_PW)) == 18456)
# Without cafile python-tds sends NOT_SUP: a forced server answers REQ and ends the connection.
err = fails(lambda: pt(FORCED, "app", PT_PW, tls=False))
check("python-tds NOT_SUP/forced: refused", err is not None, err)
# ON to a NOT_SUP server: refused; NOT_SUP to it: plaintext.
err = fails(lambda: pt(NOTSUP, "app", APP_PW))
check("python-tds ON/not-sup: refused", err is not None, err)
with pt(NOTSUP, "app", APP_PW, tls=False) as c:
    check("python-tds NOT_SUP/not-sup: plaintext session", one(c, "SELECT SUSER_SNAME()")[0] == "app")


# Catalog views, security statements, transactions: scripts/tds_standin_catalog.py.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tds_standin_catalog  # noqa: E402

tds_standin_catalog.run(sys.modules[__name__])
print(f"{passed} checks passed")
