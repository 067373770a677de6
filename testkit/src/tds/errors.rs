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
