#!/usr/bin/env python3
"""The catalog-view, security-statement and transaction checks of tds_standin_check.py (which
runs them through run(), after its protocol checks, against the forced-encryption stand-in).
Microsoft's documented statements (MS Learn: the sys.* catalog view pages, CREATE / ALTER LOGIN,
CREATE / ALTER USER, ALTER ROLE, ALTER SERVER ROLE, GRANT / DENY / REVOKE, CREATE TABLE,
BEGIN / COMMIT / ROLLBACK TRANSACTION) and the official rotation functions' statements as they
write them.
"""


# The views of securables the stand-in cannot create (always empty).
EMPTY_VIEWS = ("assemblies", "xml_schema_collections", "service_message_types", "service_contracts",
               "services", "remote_service_bindings", "routes", "fulltext_catalogs", "symmetric_keys",
               "certificates", "asymmetric_keys")

# The official multi-user function's database-permission query (its SQL, token for token): the
# column aliases and the view and alias of each LEFT JOIN.
OFFICIAL_COLUMNS = (
    "class", "state_desc", "perm_name", "schema_name", "obj_name", "obj_schema_name", "col_name",
    "imp_name", "imp_type", "assembly_name", "type_name", "type_schema", "schema_coll_name",
    "xml_schema", "msg_type_name", "contract_name", "svc_name", "binding_name", "route_name",
    "catalog_name", "symkey_name", "cert_name", "asymkey_name")
_SOURCES = (
    "perm.class", "perm.state_desc", "perm.permission_name", "permschem.name", "obj.name",
    "objschem.name", "col.name", "imp.name", "imp.type", "assembly.name", "types.name",
    "typeschem.name", "schema_coll.name", "xmlschem.name", "msg_type.name", "contract.name",
    "svc.name", "binding.name", "route.name", "catalog.name", "symkey.name", "cert.name",
    "asymkey.name")
_LEFT_JOINS = (
    "sys.schemas permschem ON permschem.schema_id = perm.major_id",
    "sys.objects obj ON obj.object_id = perm.major_id",
    "sys.schemas objschem ON objschem.schema_id = obj.schema_id",
    "sys.columns col ON col.object_id = perm.major_id AND col.column_id = perm.minor_id",
    "sys.database_principals imp ON imp.principal_id = perm.major_id",
    "sys.assemblies assembly ON assembly.assembly_id = perm.major_id",
    "sys.types types ON types.user_type_id = perm.major_id",
    "sys.schemas typeschem ON typeschem.schema_id = types.schema_id",
    "sys.xml_schema_collections schema_coll ON schema_coll.xml_collection_id = perm.major_id",
    "sys.schemas xmlschem ON xmlschem.schema_id = schema_coll.schema_id",
    "sys.service_message_types msg_type ON msg_type.message_type_id = perm.major_id",
    "sys.service_contracts contract ON contract.service_contract_id = perm.major_id",
    "sys.services svc ON svc.service_id = perm.major_id",
    "sys.remote_service_bindings binding ON binding.remote_service_binding_id = perm.major_id",
    "sys.routes route ON route.route_id = perm.major_id",
    "sys.fulltext_catalogs catalog ON catalog.fulltext_catalog_id = perm.major_id",
    "sys.symmetric_keys symkey ON symkey.symmetric_key_id = perm.major_id",
    "sys.certificates cert ON cert.certificate_id = perm.major_id",
    "sys.asymmetric_keys asymkey ON asymkey.asymmetric_key_id = perm.major_id")
OFFICIAL_DB_PERMISSIONS = (
    "SELECT " + ", ".join("%s = %s" % pair for pair in zip(OFFICIAL_COLUMNS, _SOURCES)) + " "
    "FROM sys.database_permissions perm "
    "JOIN sys.database_principals prin ON perm.grantee_principal_id = prin.principal_id "
    + "".join("LEFT JOIN %s " % j for j in _LEFT_JOINS) + "WHERE prin.name = %s")


def official_grants(rows, grantee):
    """The statements the official function sends for the query's rows of the classes the
    stand-in models (database 0, object or column 1, schema 3): names unquoted, the state word
    first, WITH GRANT OPTION for GRANT_WITH_GRANT_OPTION."""
    out = []
    for r in rows:
        if r["class"] == 0:
            what = r["perm_name"]
        elif r["class"] == 1:
            what = "%s ON OBJECT::%s.%s" % (r["perm_name"], r["obj_schema_name"], r["obj_name"])
            if r["col_name"]:
                what = "%s (%s) " % (what, r["col_name"])
        elif r["class"] == 3:
            what = "%s ON SCHEMA::%s" % (r["perm_name"], r["schema_name"])
        else:
            raise ValueError("class %s is not modelled" % r["class"])
        if r["state_desc"] == "GRANT_WITH_GRANT_OPTION":
            out.append("GRANT %s TO %s WITH GRANT OPTION" % (what, grantee))
        else:
            out.append("%s %s TO %s" % (r["state_desc"], what, grantee))
    return out


def run(h):
    """Runs the checks with the helpers of the main script (module h)."""
    check, ms, pt, one, ms_error, pt_error = h.check, h.ms, h.pt, h.one, h.ms_error, h.pt_error
    FORCED, MASTER_PW, PT_PW = h.FORCED, h.MASTER_PW, h.PT_PW
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
        check("pymssql: sys.databases owner_sid (sa's 0x01 for a fixture), state_desc, is_read_only",
              rows(c, "SELECT owner_sid, state, state_desc, is_read_only FROM sys.databases "
                      "WHERE database_id = %d" % 5) == [(b"\x01", 0, "ONLINE", False)])
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
        check("pymssql: IS_SRVROLEMEMBER and HAS_PERMS_BY_NAME at server level",
              one(c, "SELECT IS_SRVROLEMEMBER('sysadmin'), IS_SRVROLEMEMBER(N'processadmin'), "
                     "IS_SRVROLEMEMBER('nope'), HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY LOGIN'), "
                     "HAS_PERMS_BY_NAME(NULL, NULL, 'CONTROL SERVER')") == (0, 1, None, 1, 0))
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
              and rows(c, "SELECT default_database_name, is_policy_checked, is_expiration_checked, "
                          "is_fixed_role FROM sys.sql_logins WHERE name = N'opt_login'")
              == [("appdb", False, False, False)])
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
        check("pymssql: CREATE TABLE [dbo].[t1] (c int) and sys.objects",
              ms_exec(c, "CREATE TABLE [dbo].[t1] (c int, d nvarchar(20))") == 0
              and rows(c, "SELECT o.name, o.type, o.type_desc, OBJECT_NAME(o.object_id), "
                          "OBJECT_SCHEMA_NAME(o.object_id), SCHEMA_NAME(o.schema_id) FROM sys.objects o "
                          "WHERE o.name = %s", "t1")
              == [("t1", "U ", "USER_TABLE", "t1", "dbo", "dbo")])
        check("pymssql: CREATE TABLE of an existing table is 2714",
              ms_exec(c, "CREATE TABLE t1 (c int)") == 2714)
        check("pymssql: GRANT on objects (OBJECT::[s].[t] and [s].[t]) shows class 1 rows",
              ms_exec(c, "GRANT SELECT ON OBJECT::[dbo].[t1] TO [app_user]") == 0
              and ms_exec(c, "DENY INSERT ON dbo.t1 TO app_user") == 0
              and sorted(rows(c, "SELECT p.class_desc, OBJECT_NAME(p.major_id), p.minor_id, "
                                 "p.permission_name, p.state_desc FROM sys.database_permissions p "
                                 "JOIN sys.database_principals u ON p.grantee_principal_id = "
                                 "u.principal_id WHERE u.name = N'app_user' AND p.class = 1"))
              == [("OBJECT_OR_COLUMN", "t1", 0, "INSERT", "DENY"),
                  ("OBJECT_OR_COLUMN", "t1", 0, "SELECT", "GRANT")])
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
        t1_cols = ("SELECT c.name, c.column_id, c.system_type_id, c.user_type_id, c.max_length, t.name, "
                   "t.schema_id FROM sys.columns c JOIN sys.objects o ON o.object_id = c.object_id "
                   "JOIN sys.types t ON t.user_type_id = c.user_type_id WHERE o.name = %s")
        check("pymssql: sys.columns of CREATE TABLE's columns, their sys.types (int 56, nvarchar 231)",
              sorted(rows(c, t1_cols, "t1")) == [("c", 1, 56, 56, 4, "int", 4),
                                                ("d", 2, 231, 231, 40, "nvarchar", 4)])
        check("pymssql: CREATE TABLE naming a column twice is 2705",
              ms_exec(c, "CREATE TABLE [dbo].[t3] (a int, A varchar(5))") == 2705
              and rows(c, "SELECT name FROM sys.objects WHERE name = N't3'") == [])
        check("pymssql: LEFT JOIN keeps a row no row matches, with NULLs (ON a AND b)",
              rows(c, "SELECT o.name, c.name FROM sys.objects o LEFT JOIN sys.columns c ON "
                      "c.object_id = o.object_id AND c.column_id = 9 WHERE o.name = N't1'")
              == [("t1", None)])
        check("pymssql: LEFT OUTER JOIN with matches is an inner join; the views of securables the "
              "stand-in cannot create are empty",
              sorted(rows(c, "SELECT c.name, a.name FROM sys.objects o LEFT OUTER JOIN sys.columns c "
                             "ON c.object_id = o.object_id LEFT JOIN sys.certificates a ON "
                             "a.certificate_id = c.column_id WHERE o.name = N't1'"))
              == [("c", None), ("d", None)]
              and all(rows(c, "SELECT name FROM sys." + v) == [] for v in EMPTY_VIEWS))
        check("pymssql: a column no view has is refused in a LEFT JOIN's ON over an empty view, "
              "and a JOIN's ON may not name a view joined after it (4104)",
              ms_exec(c, "SELECT o.name FROM sys.objects o LEFT JOIN sys.certificates a ON "
                         "a.nope = o.object_id") == 50000
              and ms_exec(c, "SELECT o.name FROM sys.objects o LEFT JOIN sys.columns c ON "
                             "c.object_id = a.certificate_id JOIN sys.certificates a ON 1 = 1") == 4104)
        # The official multi-user function's database-permission query, as written (pymssql's %s).
        official = rows(c, OFFICIAL_DB_PERMISSIONS, "app_user")
        got = sorted([dict(zip(OFFICIAL_COLUMNS, r)) for r in official],
                     key=lambda r: (r["class"], r["perm_name"]))
        def picked(r):
            return (r["class"], r["state_desc"], r["perm_name"], r["schema_name"], r["obj_name"],
                    r["obj_schema_name"], r["col_name"], r["imp_name"], r["imp_type"])
        others = [k for k in OFFICIAL_COLUMNS if k not in (
            "class", "state_desc", "perm_name", "schema_name", "obj_name", "obj_schema_name",
            "col_name", "imp_name", "imp_type")]
        # imp joins principal_id = major_id: 0 is public, 1 is dbo, as on SQL Server.
        check("pymssql: the official database-permission query (twenty LEFT JOINs) runs as written",
              [picked(r) for r in got] == [
                  (0, "GRANT", "CONNECT", None, None, None, None, "public", "R"),
                  (0, "GRANT", "CREATE TABLE", None, None, None, None, "public", "R"),
                  (1, "DENY", "INSERT", None, "t1", "dbo", None, None, None),
                  (1, "GRANT", "SELECT", None, "t1", "dbo", None, None, None),
                  (3, "GRANT", "SELECT", "dbo", None, None, None, "dbo", "S")]
              and all(r[k] is None for r in got for k in others), official)
        # Its statements, built from those rows as the official function builds them, copy the
        # permissions to a user named like its login.
        c.cursor().execute("CREATE LOGIN [perm_copy] WITH PASSWORD = N'Perm-Pa55word-1'")
        c.cursor().execute("CREATE USER [perm_copy] FOR LOGIN [perm_copy]")
        codes = [ms_exec(c, stmt) for stmt in official_grants(got, "[perm_copy]")]
        held = ("SELECT p.class, p.major_id, p.minor_id, p.permission_name, p.state FROM "
                "sys.database_permissions p JOIN sys.database_principals u ON "
                "p.grantee_principal_id = u.principal_id WHERE u.name = %s")
        check("pymssql: the official function's GRANT / DENY statements from those rows run as written",
              codes == [0] * 5 and sorted(rows(c, held, "perm_copy")) == sorted(rows(c, held, "app_user")),
              codes)
    # The plain login reaches appdb as its new user, a member of db_datareader only.
    with ms(FORCED, "app", PT_PW, encryption="require", database="appdb") as c:
        check("pymssql: the plain login is app_user in appdb", one(c, "SELECT USER_NAME()")[0] == "app_user")
        check("pymssql: IS_ROLEMEMBER and HAS_PERMS_BY_NAME for the database, a schema, an object",
              one(c, "SELECT IS_ROLEMEMBER('db_datareader'), IS_ROLEMEMBER('db_owner'), "
                     "HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY USER'), "
                     "HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE TABLE'), "
                     "HAS_PERMS_BY_NAME('dbo', 'SCHEMA', 'SELECT'), "
                     "HAS_PERMS_BY_NAME('dbo.t1', 'OBJECT', 'INSERT')") == (1, 0, 0, 1, 1, 0))
        check("pymssql: CREATE USER without ALTER ANY USER is 15247",
              ms_exec(c, "CREATE USER [x_user] FOR LOGIN [app_clone2]") == 15247)
        check("pymssql: ALTER ROLE db_owner without db_owner is 15151",
              ms_exec(c, "ALTER ROLE [db_owner] ADD MEMBER [app_user]") == 15151)
        check("pymssql: GRANT without the grant option is 4613",
              ms_exec(c, "GRANT CREATE TABLE TO [guest]") == 4613)
        check("pymssql: CREATE TABLE with CREATE TABLE but no ALTER on the schema is 2760",
              ms_exec(c, "CREATE TABLE [dbo].[t2] (c int)") == 2760)
        check("pymssql: its grant option revoked, GRANT SELECT on a table of the schema is 4613",
              ms_exec(c, "GRANT SELECT ON dbo.t1 TO guest") == 4613)
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
        check("python-tds: IS_SRVROLEMEMBER(@P1, @P2) of another login",
              one(c, "SELECT IS_SRVROLEMEMBER(%s, %s)", ("setupadmin", "pt_login"))[0] == 1)
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
        check("python-tds: OBJECT_NAME(@P1) with an INT parameter; GRANT .. WITH GRANT OPTION on a schema",
              tuple(one(c, "SELECT OBJECT_NAME(%s), OBJECT_SCHEMA_NAME(%s)",
                        (one(c, "SELECT object_id FROM sys.objects WHERE name = %s", ("t1",))[0],) * 2))
              == ("t1", "dbo")
              and pt_exec(c, "GRANT SELECT ON SCHEMA::[dbo] TO [pt_user] WITH GRANT OPTION") == 0)
        got = sorted([dict(zip(OFFICIAL_COLUMNS, r))
                      for r in rows(c, OFFICIAL_DB_PERMISSIONS, ("pt_user",))],
                     key=lambda r: r["class"])
        check("python-tds: the official database-permission query through sp_executesql",
              [(r["class"], r["state_desc"], r["perm_name"], r["schema_name"], r["imp_name"])
               for r in got] == [(0, "GRANT", "CONNECT", None, "public"),
                                 (3, "GRANT_WITH_GRANT_OPTION", "SELECT", "dbo", "dbo")]
              and all(r[k] is None for r in got for k in OFFICIAL_COLUMNS[9:]), got)
    with pt(FORCED, "pt_login", "Pt-Pa55word-1", database="appdb") as c:
        check("python-tds: SELECT on the schema WITH GRANT OPTION lets it grant SELECT on a table there",
              pt_exec(c, "GRANT SELECT ON [dbo].[t1] TO [guest]") == 0
              and rows(c, "SELECT p.grantor_principal_id FROM sys.database_permissions p WHERE "
                          "p.class = 1 AND p.grantee_principal_id = 2")
              == [(one(c, "SELECT principal_id FROM sys.database_principals WHERE name = USER_NAME()")[0],)])
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

    # python-tds with autocommit off: transaction manager requests (TM_BEGIN_XACT, then
    # TM_COMMIT_XACT / TM_ROLLBACK_XACT that begin the next transaction) [MS-TDS 2.2.6.8].
    with pt(FORCED, "admin", MASTER_PW, autocommit=False) as t:
        check("python-tds autocommit off: a transaction manager BEGIN (@@TRANCOUNT 1)",
              one(t, "SELECT @@TRANCOUNT")[0] == 1)
        t.cursor().execute("CREATE LOGIN [pt_tx] WITH PASSWORD = N'Pt-tx-Pa55word-1'")
        t.rollback()
        check("python-tds: a transaction manager ROLLBACK undoes CREATE LOGIN and begins anew",
              rows(t, "SELECT name FROM sys.server_principals WHERE name = %s", ("pt_tx",)) == []
              and one(t, "SELECT @@TRANCOUNT")[0] == 1)
        t.cursor().execute("CREATE LOGIN [pt_tx] WITH PASSWORD = N'Pt-tx-Pa55word-1'")
        t.commit()
    with pt(FORCED, "pt_tx", "Pt-tx-Pa55word-1") as c:
        check("python-tds: a transaction manager COMMIT keeps it",
              one(c, "SELECT SUSER_SNAME()")[0] == "pt_tx")
