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
TRAN at connect; python-tds' transaction manager requests are not modelled).
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


def pt(port, user, password, tls=True, login_only=False, database="master"):
    return pytds.connect(dsn=HOST, port=port, user=user, password=password, database=database,
                         cafile=CA if tls else None, enc_login_only=login_only,
                         autocommit=True, login_timeout=5, timeout=10)


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
          ms_error(lambda: one(c, "SELECT name FROM sys.objects")) == 50000)
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

# --- Catalog views and security statements (MS Learn: the sys.* catalog view pages, CREATE /
# ALTER LOGIN, CREATE / ALTER USER, ALTER ROLE, ALTER SERVER ROLE, GRANT / DENY / REVOKE) -----
ADMIN_PW, CLONE2_PW, CUSER_PW = MASTER_PW, "Clone2-Pa55word-1", "Cuser-Pa55word-1"


def rows(conn, sql, params=None):
    cur = conn.cursor()
    if params is None:
        cur.execute(sql)
    else:
        cur.execute(sql, params)
    return [tuple(r) for r in cur.fetchall()]


def ms_exec(c, sql, params=None):
    return ms_error(lambda: c.cursor().execute(sql, params) if params else c.cursor().execute(sql))


def pt_exec(c, sql, params=None):
    return pt_error(lambda: c.cursor().execute(sql, params) if params else c.cursor().execute(sql))


# pymssql, as the RDS-like master user in master.
with ms(FORCED, "admin", ADMIN_PW, encryption="require") as c:
    check("pymssql: sys.databases: name, database_id, containment (tinyint), containment_desc",
          rows(c, "SELECT name, database_id, containment, containment_desc FROM sys.databases "
                  "WHERE name = %s", ("CDB",)) == [("cdb", 6, 1, "PARTIAL")])
    check("pymssql: the official containment query of the current database",
          rows(c, "SELECT containment FROM sys.databases WHERE name = %s",
               (one(c, "SELECT DB_NAME() AS name")[0],)) == [(0,)])
    r = rows(c, "SELECT name, principal_id, sid, type, type_desc, is_disabled, "
                "default_database_name, is_fixed_role FROM sys.server_principals WHERE name = %s",
             ("admin",))
    check("pymssql: sys.server_principals row types (sid varbinary, type char(1), is_disabled int)",
          len(r) == 1 and isinstance(r[0][2], bytes) and r[0][3:7] == ("S", "SQL_LOGIN", 0, "master")
          and r[0][7] in (0, False), r)
    check("pymssql: SUSER_SID() is the login's sid",
          one(c, "SELECT SUSER_SID()")[0] == r[0][2])
    check("pymssql: fixed server roles (type R, default_database_name NULL)",
          rows(c, "SELECT name, principal_id, type_desc, default_database_name FROM "
                  "sys.server_principals WHERE type = 'R' AND name = N'sysadmin'")
          == [("sysadmin", 3, "SERVER_ROLE", None)])
    check("pymssql: the master user's server roles by sys.server_role_members with two JOINs",
          sorted(rows(c, "SELECT r.name FROM sys.server_role_members AS m JOIN "
                         "sys.server_principals AS r ON m.role_principal_id = r.principal_id "
                         "JOIN sys.server_principals l ON l.principal_id = m.member_principal_id "
                         "WHERE l.name = %s", ("admin",))) == [("processadmin",), ("setupadmin",)])
    perms = rows(c, "SELECT p.class, p.class_desc, p.major_id, p.type, p.permission_name, p.state, "
                    "p.state_desc FROM sys.server_permissions p JOIN sys.server_principals s ON "
                    "p.grantee_principal_id = s.principal_id WHERE s.name = %s AND "
                    "p.permission_name = N'ALTER ANY LOGIN'", ("admin",))
    check("pymssql: sys.server_permissions (class tinyint, type char(4), state char(1))",
          perms == [(100, "SERVER", 0, "ALLG", "ALTER ANY LOGIN", "W", "GRANT_WITH_GRANT_OPTION")],
          perms)
    # The official multi-user function's server-level copy, statements as it writes them.
    CLONE2 = "app_clone2"
    if not rows(c, "SELECT name FROM sys.server_principals WHERE name = %s", CLONE2):
        c.cursor().execute("CREATE LOGIN %s" % "[app_clone2]" + " WITH PASSWORD = %s", CLONE2_PW)
    query = ("SELECT state_desc, permission_name FROM sys.server_permissions perm "
             "JOIN sys.server_principals prin ON perm.grantee_principal_id = prin.principal_id "
             "WHERE prin.name = %s")
    for row in rows(c, query, "admin"):
        if row[0] == "GRANT_WITH_GRANT_OPTION":
            c.cursor().execute("GRANT %s TO %s WITH GRANT OPTION" % (row[1], "[app_clone2]"))
        else:
            c.cursor().execute("%s %s TO %s" % (row[0], row[1], "[app_clone2]"))
    check("pymssql: the official server-permission copy ran as written",
          sorted(rows(c, query, CLONE2)) == sorted(rows(c, query, "admin")))
    check("pymssql: DENY then the sys.server_permissions row says DENY",
          ms_exec(c, "DENY VIEW SERVER STATE TO [app_clone2] CASCADE") == 0
          and rows(c, "SELECT p.state_desc FROM sys.server_permissions p JOIN sys.server_principals"
                      " s ON p.grantee_principal_id = s.principal_id WHERE s.name = N'app_clone2' "
                      "AND p.permission_name = N'VIEW SERVER STATE'") == [("DENY",)])
    check("pymssql: DENY of a grantable permission without CASCADE is 4611",
          ms_exec(c, "DENY ALTER TRACE TO [app_clone2]") == 4611)
    check("pymssql: GRANT CONTROL SERVER (not held) is 4613",
          ms_exec(c, "GRANT CONTROL SERVER TO [app_clone2]") == 4613)
    check("pymssql: GRANT to an unknown login is 15151",
          ms_exec(c, "GRANT VIEW SERVER STATE TO [nobody]") == 15151)
    check("pymssql: ALTER SERVER ROLE of a role the master user is in: ADD / DROP MEMBER",
          ms_exec(c, "ALTER SERVER ROLE [processadmin] ADD MEMBER [app_clone2]") == 0
          and rows(c, "SELECT m.role_principal_id FROM sys.server_role_members m JOIN "
                      "sys.server_principals l ON m.member_principal_id = l.principal_id "
                      "WHERE l.name = N'app_clone2'") == [(7,)]
          and ms_exec(c, "ALTER SERVER ROLE processadmin DROP MEMBER app_clone2") == 0)
    check("pymssql: ALTER SERVER ROLE sysadmin / securityadmin (not a member) is 15151",
          ms_exec(c, "ALTER SERVER ROLE [sysadmin] ADD MEMBER [app_clone2]") == 15151
          and ms_exec(c, "ALTER SERVER ROLE [securityadmin] ADD MEMBER [app_clone2]") == 15151)
    check("pymssql: CREATE LOGIN with DEFAULT_DATABASE, CHECK_POLICY = OFF",
          ms_exec(c, "CREATE LOGIN [opt_login] WITH PASSWORD = N'Opt-Pa55word-1', "
                     "DEFAULT_DATABASE = [appdb], CHECK_POLICY = OFF, CHECK_EXPIRATION = OFF") == 0
          and rows(c, "SELECT default_database_name, is_policy_checked, is_expiration_checked "
                      "FROM sys.sql_logins WHERE name = N'opt_login'") == [("appdb", False, False)])
    check("pymssql: CHECK_EXPIRATION = ON with CHECK_POLICY = OFF is 15122",
          ms_exec(c, "ALTER LOGIN [opt_login] WITH CHECK_EXPIRATION = ON") == 15122)
    check("pymssql: ALTER LOGIN WITH DEFAULT_DATABASE, CHECK_POLICY = ON, CHECK_EXPIRATION = ON",
          ms_exec(c, "ALTER LOGIN [opt_login] WITH DEFAULT_DATABASE = [master], CHECK_POLICY = ON, "
                     "CHECK_EXPIRATION = ON") == 0
          and rows(c, "SELECT default_database_name, is_policy_checked, is_expiration_checked "
                      "FROM sys.sql_logins WHERE name = N'opt_login'") == [("master", True, True)])
    check("pymssql: ALTER LOGIN DISABLE shows in is_disabled",
          ms_exec(c, "ALTER LOGIN [opt_login] DISABLE") == 0
          and rows(c, "SELECT is_disabled FROM sys.server_principals WHERE name = N'opt_login'")
          == [(1,)])
check("pymssql: a disabled login is refused (18456)",
      ms_error(lambda: ms(FORCED, "opt_login", "Opt-Pa55word-1", encryption="require")) == 18456)
with ms(FORCED, "admin", ADMIN_PW, encryption="require") as c:
    c.cursor().execute("ALTER LOGIN [opt_login] ENABLE")
with ms(FORCED, "opt_login", "Opt-Pa55word-1", encryption="require") as c:
    check("pymssql: ALTER LOGIN ENABLE lets it log in", one(c, "SELECT SUSER_SNAME()")[0] == "opt_login")
# A login without ALTER ANY LOGIN sees itself, sa and the fixed roles only.
with ms(FORCED, "app", PT_PW, encryption="require") as c:
    check("pymssql: metadata visibility of sys.server_principals",
          sorted(rows(c, "SELECT name FROM sys.server_principals WHERE type = 'S'"))
          == [("app",), ("sa",)])
    check("pymssql: GRANT of a server permission without it is 4613",
          ms_exec(c, "GRANT VIEW SERVER STATE TO [admin]") == 4613)
    check("pymssql: ALTER LOGIN .. DISABLE without ALTER ANY LOGIN is 15151",
          ms_exec(c, "ALTER LOGIN [admin] DISABLE") == 15151)

# A user database: the master user is db_owner there (a user of its own name).
with ms(FORCED, "admin", ADMIN_PW, encryption="require", database="appdb") as c:
    check("pymssql: USER_NAME() and DB_NAME() in appdb",
          one(c, "SELECT USER_NAME(), DB_NAME()") == ("admin", "appdb"))
    check("pymssql: the master user is db_owner in appdb",
          rows(c, "SELECT r.name FROM sys.database_role_members m JOIN sys.database_principals r"
                  " ON r.principal_id = m.role_principal_id JOIN sys.database_principals u ON "
                  "u.principal_id = m.member_principal_id WHERE u.name = USER_NAME()")
          == [("db_owner",)])
    check("pymssql: the official current-user query (database_principals JOIN on sid)",
          rows(c, "SELECT dbprin.name FROM sys.database_principals dbprin JOIN "
                  "sys.server_principals sprin ON dbprin.sid = sprin.sid WHERE sprin.name = %s",
               "admin") == [("admin",)])
    check("pymssql: GRANT of a server permission outside master is 4621",
          ms_exec(c, "GRANT VIEW SERVER STATE TO [app_clone2]") == 4621)
    check("pymssql: CREATE USER .. FOR LOGIN ..",
          ms_exec(c, "CREATE USER [app_user] FOR LOGIN [app]") == 0)
    r = rows(c, "SELECT name, type, type_desc, default_schema_name, authentication_type, "
                "SCHEMA_NAME(1) FROM sys.database_principals WHERE name = %s", "app_user")
    check("pymssql: sys.database_principals row (type char(1), authentication_type int)",
          r == [("app_user", "S", "SQL_USER", "dbo", 1, "dbo")], r)
    check("pymssql: the new user's sid is its login's",
          rows(c, "SELECT u.name FROM sys.database_principals u JOIN sys.sql_logins l ON u.sid = "
                  "l.sid WHERE l.name = N'app'") == [("app_user",)])
    check("pymssql: CREATE USER of an existing user is 15023",
          ms_exec(c, "CREATE USER [app_user] FROM LOGIN [app_clone2]") == 15023)
    check("pymssql: a second user for the same login is 15063",
          ms_exec(c, "CREATE USER [app_user2] FROM LOGIN [app]") == 15063)
    check("pymssql: CREATE USER for an unknown login is 15007",
          ms_exec(c, "CREATE USER [ghost] FOR LOGIN [ghost]") == 15007)
    check("pymssql: CREATE USER .. WITH PASSWORD outside a contained database is 33233",
          ms_exec(c, "CREATE USER [pw_user] WITH PASSWORD = N'Pw-Pa55word-1'") == 33233)
    check("pymssql: ALTER ROLE db_datareader ADD MEMBER (unquoted, as the official function)",
          ms_exec(c, "ALTER ROLE %s ADD MEMBER %s" % ("db_datareader", "[app_user]")) == 0)
    roles = ("SELECT roleprin.name FROM sys.database_role_members rolemems "
             "JOIN sys.database_principals roleprin ON roleprin.principal_id = rolemems.role_principal_id "
             "JOIN sys.database_principals userprin ON userprin.principal_id = rolemems.member_principal_id "
             "WHERE userprin.name = %s")
    check("pymssql: the official role-membership query", rows(c, roles, "app_user") == [("db_datareader",)])
    check("pymssql: ALTER ROLE of an unknown role / member is 15151",
          ms_exec(c, "ALTER ROLE [nope] ADD MEMBER [app_user]") == 15151
          and ms_exec(c, "ALTER ROLE [db_owner] ADD MEMBER [nope]") == 15151)
    c.cursor().execute("GRANT CREATE TABLE, VIEW DEFINITION TO [app_user]")
    c.cursor().execute("GRANT SELECT ON SCHEMA::[dbo] TO [app_user] WITH GRANT OPTION")
    perms = rows(c, "SELECT p.class, p.class_desc, SCHEMA_NAME(p.major_id), p.type, "
                    "p.permission_name, p.state, p.state_desc, p.grantor_principal_id FROM "
                    "sys.database_permissions p JOIN sys.database_principals u ON "
                    "p.grantee_principal_id = u.principal_id WHERE u.name = %s", "app_user")
    me = one(c, "SELECT principal_id FROM sys.database_principals WHERE name = USER_NAME()")[0]
    check("pymssql: sys.database_permissions rows (CONNECT of CREATE USER, database and schema grants)",
          sorted(perms) == sorted([
              (0, "DATABASE", None, "CO  ", "CONNECT", "G", "GRANT", 1),
              (0, "DATABASE", None, "CRTB", "CREATE TABLE", "G", "GRANT", me),
              (0, "DATABASE", None, "VW  ", "VIEW DEFINITION", "G", "GRANT", me),
              (3, "SCHEMA", "dbo", "SL  ", "SELECT", "W", "GRANT_WITH_GRANT_OPTION", me)]), perms)
    check("pymssql: GRANT on an object that does not exist is 15151",
          ms_exec(c, "GRANT SELECT ON OBJECT::[dbo].[t] TO [app_user]") == 15151)
    check("pymssql: GRANT to an unknown user is 15151",
          ms_exec(c, "GRANT SELECT TO [nobody]") == 15151)
    check("pymssql: REVOKE of a grantable permission without CASCADE is 4611",
          ms_exec(c, "REVOKE SELECT ON SCHEMA::dbo FROM app_user") == 4611)
    check("pymssql: REVOKE GRANT OPTION FOR .. CASCADE leaves GRANT",
          ms_exec(c, "REVOKE GRANT OPTION FOR SELECT ON SCHEMA::dbo FROM app_user CASCADE") == 0
          and rows(c, "SELECT p.state FROM sys.database_permissions p JOIN sys.database_principals"
                      " u ON p.grantee_principal_id = u.principal_id WHERE u.name = N'app_user' "
                      "AND p.class = 3") == [("G",)])
    check("pymssql: DENY then REVOKE removes the row",
          ms_exec(c, "DENY VIEW DEFINITION TO [app_user]") == 0
          and ms_exec(c, "REVOKE VIEW DEFINITION TO [app_user]") == 0
          and rows(c, "SELECT p.type FROM sys.database_permissions p JOIN sys.database_principals u"
                      " ON p.grantee_principal_id = u.principal_id WHERE u.name = N'app_user' AND "
                      "p.permission_name = N'VIEW DEFINITION'") == [])
# The plain login reaches appdb as its new user, a member of db_datareader only.
with ms(FORCED, "app", PT_PW, encryption="require", database="appdb") as c:
    check("pymssql: the plain login is app_user in appdb", one(c, "SELECT USER_NAME()")[0] == "app_user")
    check("pymssql: CREATE USER without ALTER ANY USER is 15247",
          ms_exec(c, "CREATE USER [x_user] FOR LOGIN [app_clone2]") == 15247)
    check("pymssql: ALTER ROLE db_owner without db_owner is 15151",
          ms_exec(c, "ALTER ROLE [db_owner] ADD MEMBER [app_user]") == 15151)
    check("pymssql: GRANT without the grant option is 4613",
          ms_exec(c, "GRANT CREATE TABLE TO [guest]") == 4613)
    check("pymssql: sys.database_principals hides other users without ALTER ANY USER",
          rows(c, "SELECT name FROM sys.database_principals WHERE name = N'admin'") == [])

# A contained database: a user with a password, authenticated by LOGIN7's database.
with ms(FORCED, "admin", ADMIN_PW, encryption="require", database="cdb") as c:
    check("pymssql: CREATE USER .. WITH PASSWORD in a contained database",
          ms_exec(c, "CREATE USER [cuser] WITH PASSWORD = %s", (CUSER_PW,)) == 0
          and rows(c, "SELECT authentication_type, type FROM sys.database_principals "
                      "WHERE name = N'cuser'") == [(2, "S")])
with ms(FORCED, "cuser", CUSER_PW, encryption="require", database="cdb") as c:
    check("pymssql: the contained user logs in to its database",
          one(c, "SELECT USER_NAME(), DB_NAME()") == ("cuser", "cdb"))
    check("pymssql: the official function's containment check says 1",
          rows(c, "SELECT containment FROM sys.databases WHERE name = %s", "cdb") == [(1,)])
    check("pymssql: ALTER USER .. WITH PASSWORD without OLD_PASSWORD is 15151",
          ms_exec(c, "ALTER USER [cuser] WITH PASSWORD = %s", ("Cuser-new-1",)) == 15151)
    NEW_CUSER = "Cuser-Pa55word-2"
    check("pymssql: ALTER USER .. WITH PASSWORD .. OLD_PASSWORD (the official statement)",
          ms_exec(c, "ALTER USER [cuser] WITH PASSWORD = %s OLD_PASSWORD = %s",
                  (NEW_CUSER, CUSER_PW)) == 0)
check("pymssql: the contained user's old password is refused (18456)",
      ms_error(lambda: ms(FORCED, "cuser", CUSER_PW, encryption="require", database="cdb")) == 18456)
check("pymssql: a contained user is not a login (master: 18456)",
      ms_error(lambda: ms(FORCED, "cuser", NEW_CUSER, encryption="require")) == 18456)
with ms(FORCED, "admin", ADMIN_PW, encryption="require", database="cdb") as c:
    check("pymssql: ALTER ANY USER resets a contained user's password without OLD_PASSWORD",
          ms_exec(c, "ALTER USER [cuser] WITH PASSWORD = %s", (CUSER_PW,)) == 0)

# python-tds: the same views and statements through sp_executesql (NVARCHAR and INT parameters,
# as tiberius sends them).
with pt(FORCED, "admin", ADMIN_PW) as c:
    r = rows(c, "SELECT name, principal_id, sid, type, is_fixed_role FROM sys.server_principals "
                "WHERE name = %s", ("admin",))
    check("python-tds: sys.server_principals through sp_executesql (sid bytes, is_fixed_role bit)",
          len(r) == 1 and isinstance(r[0][2], bytes) and r[0][3] == "S" and r[0][4] is False, r)
    check("python-tds: an INT parameter against an int column",
          rows(c, "SELECT name FROM sys.server_principals WHERE principal_id = %s", (r[0][1],))
          == [("admin",)])
    check("python-tds: sys.databases containment is tinyint",
          rows(c, "SELECT containment, containment_desc FROM sys.databases WHERE name = %s",
               ("cdb",)) == [(1, "PARTIAL")])
    check("python-tds: a column that is not modelled is refused (50000)",
          pt_exec(c, "SELECT password_hash FROM sys.sql_logins") == 50000)
    check("python-tds: an ambiguous column is 209",
          pt_exec(c, "SELECT name FROM sys.server_principals a JOIN sys.sql_logins b ON "
                     "a.principal_id = b.principal_id") == 209)
    check("python-tds: an unknown qualifier is 4104",
          pt_exec(c, "SELECT x.name FROM sys.server_principals p") == 4104)
    check("python-tds: CREATE LOGIN, GRANT with a list, ALTER SERVER ROLE ADD MEMBER",
          pt_exec(c, "CREATE LOGIN [pt_login] WITH PASSWORD = N'Pt-Pa55word-1', CHECK_POLICY = ON") == 0
          and pt_exec(c, "GRANT VIEW SERVER STATE, VIEW ANY DEFINITION TO [pt_login]") == 0
          and pt_exec(c, "ALTER SERVER ROLE [setupadmin] ADD MEMBER [pt_login]") == 0)
    check("python-tds: the grants and membership show in the views",
          sorted(rows(c, "SELECT p.permission_name, p.state_desc FROM sys.server_permissions p "
                         "JOIN sys.server_principals s ON p.grantee_principal_id = s.principal_id "
                         "WHERE s.name = %s", ("pt_login",)))
          == [("CONNECT SQL", "GRANT"), ("VIEW ANY DEFINITION", "GRANT"), ("VIEW SERVER STATE", "GRANT")]
          and rows(c, "SELECT r.name FROM sys.server_role_members m JOIN sys.server_principals r ON "
                      "r.principal_id = m.role_principal_id JOIN sys.server_principals l ON "
                      "l.principal_id = m.member_principal_id WHERE l.name = %s", ("pt_login",))
          == [("setupadmin",)])
    check("python-tds: REVOKE .. FROM a server permission",
          pt_exec(c, "REVOKE VIEW ANY DEFINITION FROM [pt_login]") == 0
          and rows(c, "SELECT p.type FROM sys.server_permissions p JOIN sys.server_principals s ON"
                      " p.grantee_principal_id = s.principal_id WHERE s.name = %s AND "
                      "p.permission_name = %s", ("pt_login", "VIEW ANY DEFINITION")) == [])
with pt(FORCED, "admin", ADMIN_PW, database="appdb") as c:
    check("python-tds: CREATE USER .. FROM LOGIN .. WITH DEFAULT_SCHEMA",
          pt_exec(c, "CREATE USER [pt_user] FROM LOGIN [pt_login] WITH DEFAULT_SCHEMA = [guest]") == 0
          and rows(c, "SELECT default_schema_name, authentication_type_desc FROM "
                      "sys.database_principals WHERE name = %s", ("pt_user",)) == [("guest", "INSTANCE")])
    check("python-tds: ALTER ROLE ADD MEMBER then DROP MEMBER",
          pt_exec(c, "ALTER ROLE [db_datawriter] ADD MEMBER [pt_user]") == 0
          and pt_exec(c, "ALTER ROLE [db_datawriter] DROP MEMBER [pt_user]") == 0
          and pt_exec(c, "ALTER ROLE [db_securityadmin] ADD MEMBER [pt_user]") == 0)
    check("python-tds: sys.database_role_members through sp_executesql",
          rows(c, "SELECT r.name FROM sys.database_role_members m JOIN sys.database_principals r "
                  "ON r.principal_id = m.role_principal_id WHERE m.member_principal_id = %s",
               (one(c, "SELECT principal_id FROM sys.database_principals WHERE name = %s",
                    ("pt_user",))[0],)) == [("db_securityadmin",)])
    check("python-tds: sys.schemas and SCHEMA_NAME()",
          rows(c, "SELECT s.name, SCHEMA_NAME(s.schema_id), s.principal_id FROM sys.schemas s "
                  "WHERE s.name = %s", ("dbo",)) == [("dbo", "dbo", 1)]
          and tuple(one(c, "SELECT OBJECT_NAME(%s), OBJECT_SCHEMA_NAME(%s)", (5, 5))) == (None, None))
with pt(FORCED, "pt_login", "Pt-Pa55word-1", database="appdb") as c:
    check("python-tds: db_securityadmin may not change a fixed role's members (15151)",
          pt_exec(c, "ALTER ROLE [db_datareader] ADD MEMBER [pt_user]") == 15151)
    check("python-tds: the user sees the role it is in", rows(
        c, "SELECT r.name FROM sys.database_role_members m JOIN sys.database_principals r ON "
           "r.principal_id = m.role_principal_id JOIN sys.database_principals u ON "
           "u.principal_id = m.member_principal_id WHERE u.name = USER_NAME()")
        == [("db_securityadmin",)])
with pt(FORCED, "cuser", CUSER_PW, database="cdb") as c:
    check("python-tds: the contained user logs in; ALTER USER with OLD_PASSWORD",
          one(c, "SELECT USER_NAME()")[0] == "cuser"
          and pt_exec(c, "ALTER USER [cuser] WITH PASSWORD = N'Cuser-Pa55word-3' "
                         "OLD_PASSWORD = N'" + CUSER_PW + "'") == 0)
with pt(FORCED, "cuser", "Cuser-Pa55word-3", database="cdb") as c:
    check("python-tds: the contained user's new password logs in",
          one(c, "SELECT DB_NAME()")[0] == "cdb")

# Transactions: pymssql's default (autocommit off) sends BEGIN TRAN at connect and after each
# commit() / rollback(); a ROLLBACK, or a disconnection with the transaction open, undoes the
# catalog changes [MS Learn BEGIN TRANSACTION, COMMIT, ROLLBACK, @@TRANCOUNT].
TX_PW, TX_NEW = "Tx-Pa55word-1", "Tx-Pa55word-2"
with ms(FORCED, "admin", ADMIN_PW, encryption="require", autocommit=False) as t:
    check("pymssql autocommit off: @@TRANCOUNT is 1", one(t, "SELECT @@TRANCOUNT")[0] == 1)
    t.cursor().execute("CREATE LOGIN [tx_login] WITH PASSWORD = %s", (TX_PW,))
    with ms(FORCED, "admin", ADMIN_PW, encryption="require") as other:
        check("pymssql: another session's catalog query during uncommitted changes is refused (50000)",
              ms_exec(other, "SELECT name FROM sys.server_principals") == 50000)
    check("pymssql: a login created in a transaction does not log in before COMMIT (18456)",
          ms_error(lambda: ms(FORCED, "tx_login", TX_PW, encryption="require")) == 18456)
    t.rollback()
    check("pymssql: ROLLBACK undoes CREATE LOGIN",
          rows(t, "SELECT name FROM sys.server_principals WHERE name = N'tx_login'") == [])
    t.cursor().execute("CREATE LOGIN [tx_login] WITH PASSWORD = %s", (TX_PW,))
    t.commit()
    check("pymssql: COMMIT keeps it", one(t, "SELECT @@TRANCOUNT")[0] == 1
          and rows(t, "SELECT name FROM sys.server_principals WHERE name = N'tx_login'")
          == [("tx_login",)])
    t.cursor().execute("ALTER LOGIN [tx_login] WITH PASSWORD = %s", (TX_NEW,))
# Closed with the transaction open: the password change is rolled back.
with ms(FORCED, "tx_login", TX_PW, encryption="require") as c:
    check("pymssql: a disconnection rolls back the open transaction",
          one(c, "SELECT SUSER_SNAME()")[0] == "tx_login")
    check("pymssql: COMMIT / ROLLBACK without BEGIN TRAN are 3902 / 3903",
          ms_exec(c, "COMMIT TRANSACTION") == 3902 and ms_exec(c, "ROLLBACK") == 3903)
    check("pymssql: nested BEGIN TRAN counts; ROLLBACK ends them all",
          ms_exec(c, "BEGIN TRAN; BEGIN TRANSACTION") == 0 and one(c, "SELECT @@TRANCOUNT")[0] == 2
          and ms_exec(c, "ROLLBACK TRAN") == 0 and one(c, "SELECT @@TRANCOUNT")[0] == 0)
    check("pymssql: savepoints and named transactions are refused (50000)",
          ms_exec(c, "SAVE TRANSACTION s1") == 50000 and ms_exec(c, "BEGIN TRAN t1") == 50000)

print(f"{passed} checks passed")
