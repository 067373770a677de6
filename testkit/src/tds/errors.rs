//! SQL Server's errors as the stand-in answers them: number, state, class (severity) and the
//! message text of sys.messages [MS Learn "Database engine events and errors"; 18456 from
//! MSSQLSERVER_18456; 15151 from ALTER LOGIN / database.guide; the rest from the same list].

/// An error for an ERROR token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    /// The message number.
    pub number: i32,
    /// The state.
    pub state: u8,
    /// The class (severity).
    pub class: u8,
    /// The text.
    pub text: String,
}

/// The number of the stand-in's own "not modelled" error (the number RAISERROR uses for
/// ad hoc messages, so no client mistakes it for an engine error with a meaning).
pub const NOT_MODELLED: i32 = 50000;

fn e(number: i32, class: u8, text: String) -> SqlError {
    SqlError {
        number,
        state: 1,
        class,
        text,
    }
}

/// 18456: the only answer to a failed SQL login (the reason is in the error log only).
pub fn login_failed(user: &str) -> SqlError {
    e(18456, 14, format!("Login failed for user '{user}'."))
}

/// 4060: the database named in LOGIN7 cannot be opened.
pub fn cannot_open_database(db: &str) -> SqlError {
    e(
        4060,
        11,
        format!("Cannot open database \"{db}\" requested by the login. The login failed."),
    )
}

/// 911: USE of a database that does not exist.
pub fn no_such_database(db: &str) -> SqlError {
    e(
        911,
        16,
        format!("Database '{db}' does not exist. Make sure that the name is entered correctly."),
    )
}

/// 15151 for a login.
pub fn cannot_alter_login(name: &str) -> SqlError {
    e(
        15151,
        16,
        format!("Cannot alter the login '{name}', because it does not exist or you do not have permission."),
    )
}

/// 15247: no permission (CREATE LOGIN without ALTER ANY LOGIN).
pub fn no_permission() -> SqlError {
    e(
        15247,
        16,
        "User does not have permission to perform this action.".into(),
    )
}

/// 15025: the login exists.
pub fn principal_exists(name: &str) -> SqlError {
    e(
        15025,
        16,
        format!("The server principal '{name}' already exists."),
    )
}

/// 15116: too short (the empty password under CHECK_POLICY).
pub fn password_too_short() -> SqlError {
    e(
        15116,
        16,
        "Password validation failed. The password does not meet the operating system policy requirements because it is too short.".into(),
    )
}

/// 15117: too long (over 128 characters).
pub fn password_too_long() -> SqlError {
    e(
        15117,
        16,
        "Password validation failed. The password does not meet the operating system policy requirements because it is too long.".into(),
    )
}

/// 102.
pub fn syntax_near(token: &str) -> SqlError {
    e(102, 15, format!("Incorrect syntax near '{token}'."))
}

/// 156.
pub fn syntax_near_keyword(keyword: &str) -> SqlError {
    e(
        156,
        15,
        format!("Incorrect syntax near the keyword '{keyword}'."),
    )
}

/// 105.
pub fn unclosed_quote(rest: &str) -> SqlError {
    e(
        105,
        15,
        format!("Unclosed quotation mark after the character string '{rest}'."),
    )
}

/// 103.
pub fn identifier_too_long(name: &str) -> SqlError {
    let start: String = name.chars().take(128).collect();
    e(
        103,
        15,
        format!("The identifier that starts with '{start}' is too long. Maximum length is 128."),
    )
}

/// 137.
pub fn must_declare(variable: &str) -> SqlError {
    e(
        137,
        15,
        format!("Must declare the scalar variable \"{variable}\"."),
    )
}

/// 195.
pub fn not_a_builtin(name: &str) -> SqlError {
    e(
        195,
        15,
        format!("'{name}' is not a recognized built-in function name."),
    )
}

/// 2812.
pub fn no_such_procedure(name: &str) -> SqlError {
    e(
        2812,
        16,
        format!("Could not find stored procedure '{name}'."),
    )
}

/// The stand-in's refusal of what it does not model.
pub fn not_modelled(what: &str) -> SqlError {
    e(
        NOT_MODELLED,
        16,
        format!("Not modelled by the TDS stand-in: {what}."),
    )
}

fn e16(number: i32, text: String) -> SqlError {
    e(number, 16, text)
}

/// 207.
pub fn invalid_column(name: &str) -> SqlError {
    e16(207, format!("Invalid column name '{name}'."))
}

/// 208.
pub fn invalid_object(name: &str) -> SqlError {
    e16(208, format!("Invalid object name '{name}'."))
}

/// 209.
pub fn ambiguous_column(name: &str) -> SqlError {
    e16(209, format!("Ambiguous column name '{name}'."))
}

/// 4104.
pub fn not_bound(name: &str) -> SqlError {
    e16(
        4104,
        format!("The multi-part identifier \"{name}\" could not be bound."),
    )
}

/// 245.
pub fn conversion(value: &str, ty: &str) -> SqlError {
    e16(
        245,
        format!(
            "Conversion failed when converting the nvarchar value '{value}' to data type {ty}."
        ),
    )
}

/// 916: USE of a database the login has no user in (and guest may not connect to).
pub fn cannot_access_database(login: &str, db: &str) -> SqlError {
    e(916, 14, format!("The server principal \"{login}\" is not able to access the database \"{db}\" under the current security context."))
}

/// 15010: DEFAULT_DATABASE names no database.
pub fn no_such_default_db(db: &str) -> SqlError {
    e16(15010, format!("The database '{db}' does not exist. Supply a valid database name. To see available databases, use sys.databases."))
}

/// 15122.
pub fn expiration_needs_policy() -> SqlError {
    e16(
        15122,
        "The CHECK_EXPIRATION option cannot be used when CHECK_POLICY is OFF.".into(),
    )
}

/// 15023.
pub fn user_exists(name: &str) -> SqlError {
    e16(
        15023,
        format!("User, group, or role '{name}' already exists in the current database."),
    )
}

/// 15007.
pub fn not_a_login(name: &str) -> SqlError {
    e16(
        15007,
        format!("'{name}' is not a valid login or you do not have permission."),
    )
}

/// 15063.
pub fn login_has_user() -> SqlError {
    e16(
        15063,
        "The login already has an account under a different user name.".into(),
    )
}

/// 33233.
pub fn password_user_needs_containment() -> SqlError {
    e16(
        33233,
        "You can only create a user with a password in a contained database.".into(),
    )
}

/// 15151 for a user.
pub fn cannot_alter_user(name: &str) -> SqlError {
    e16(15151, format!("Cannot alter the user '{name}', because it does not exist or you do not have permission."))
}

/// 15151 for a database role.
pub fn cannot_alter_role(name: &str) -> SqlError {
    e16(15151, format!("Cannot alter the role '{name}', because it does not exist or you do not have permission."))
}

/// 15151 for a server role.
pub fn cannot_alter_server_role(name: &str) -> SqlError {
    e16(15151, format!("Cannot alter the server role '{name}', because it does not exist or you do not have permission."))
}

/// 15151 for a new member.
pub fn cannot_add_principal(name: &str) -> SqlError {
    e16(15151, format!("Cannot add the principal '{name}', because it does not exist or you do not have permission."))
}

/// 15151 for a grantee user.
pub fn cannot_find_user(name: &str) -> SqlError {
    e16(15151, format!("Cannot find the user '{name}', because it does not exist or you do not have permission."))
}

/// 15151 for a grantee login.
pub fn cannot_find_login(name: &str) -> SqlError {
    e16(15151, format!("Cannot find the login '{name}', because it does not exist or you do not have permission."))
}

/// 15151 for a schema.
pub fn cannot_find_schema(name: &str) -> SqlError {
    e16(15151, format!("Cannot find the schema '{name}', because it does not exist or you do not have permission."))
}

/// 15151 for an object (no objects are modelled).
pub fn cannot_find_object(name: &str) -> SqlError {
    e16(15151, format!("Cannot find the object '{name}', because it does not exist or you do not have permission."))
}

/// 15405 (class 11).
pub fn special_principal(name: &str) -> SqlError {
    e(
        15405,
        11,
        format!("Cannot use the special principal '{name}'."),
    )
}

/// 15081.
pub fn public_membership() -> SqlError {
    e16(
        15081,
        "Membership of the public role cannot be changed.".into(),
    )
}

/// 4613.
pub fn grantor_lacks() -> SqlError {
    e16(4613, "Grantor does not have GRANT permission.".into())
}

/// 4621.
pub fn server_scope_in_master() -> SqlError {
    e16(
        4621,
        "Permissions at the server scope can only be granted when the current database is master"
            .into(),
    )
}

/// 4611.
pub fn cascade_needed() -> SqlError {
    e16(
        4611,
        "To revoke or deny grantable privileges, specify the CASCADE option.".into(),
    )
}

/// 3902.
pub fn commit_without_begin() -> SqlError {
    e16(
        3902,
        "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.".into(),
    )
}

/// 3903.
pub fn rollback_without_begin() -> SqlError {
    e16(
        3903,
        "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.".into(),
    )
}

/// 262.
pub fn create_table_denied(db: &str) -> SqlError {
    e(
        262,
        14,
        format!("CREATE TABLE permission denied in database '{db}'."),
    )
}

/// 2760.
pub fn schema_denied(schema: &str) -> SqlError {
    e16(2760, format!("The specified schema name \"{schema}\" either does not exist or you do not have permission to use it."))
}

/// 2714.
pub fn object_exists(name: &str) -> SqlError {
    e16(
        2714,
        format!("There is already an object named '{name}' in the database."),
    )
}

/// 2705.
pub fn duplicate_column(column: &str, table: &str) -> SqlError {
    e16(
        2705,
        format!("Column names in each table must be unique. Column name '{column}' in table '{table}' is specified more than once."),
    )
}
