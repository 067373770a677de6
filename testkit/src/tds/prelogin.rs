//! PRELOGIN [MS-TDS 2.2.6.5]: option entries (token, big-endian offset and length) ended by
//! 0xFF, and the server's answer to the client's ENCRYPTION option by the table of 2.2.6.5.

use super::packet::bad;
use std::io;

/// Option tokens.
pub mod option {
    /// VERSION: UL_VERSION (4 bytes) + US_SUBBUILD (2).
    pub const VERSION: u8 = 0x00;
    /// ENCRYPTION: one byte.
    pub const ENCRYPTION: u8 = 0x01;
    /// INSTOPT: the instance name (zero-terminated); the server answers 0x00 (it matches).
    pub const INSTOPT: u8 = 0x02;
    /// THREADID: the client's thread id; the server answers it empty.
    pub const THREADID: u8 = 0x03;
    /// MARS: one byte.
    pub const MARS: u8 = 0x04;
    /// FEDAUTHREQUIRED.
    pub const FEDAUTHREQUIRED: u8 = 0x06;
    /// The terminator.
    pub const TERMINATOR: u8 = 0xFF;
}

/// ENCRYPTION values.
pub mod encrypt {
    /// Encryption available but off.
    pub const OFF: u8 = 0x00;
    /// Encryption on.
    pub const ON: u8 = 0x01;
    /// Encryption not available.
    pub const NOT_SUP: u8 = 0x02;
    /// Encryption required.
    pub const REQ: u8 = 0x03;
    /// The CLIENT_CERT bit (certificate authentication: not modelled).
    pub const CLIENT_CERT: u8 = 0x80;
}

/// How the server is configured (its "Force Encryption" / `rds.force_ssl` setting, or no
/// certificate at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerEncryption {
    /// A certificate, encryption not forced.
    Off,
    /// A certificate, encryption forced (`rds.force_ssl` = 1).
    On,
    /// No certificate.
    NotSupported,
}

/// What the connection does after PRELOGIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No TLS at all.
    Plain,
    /// TLS for LOGIN7 only; the client drops it right after.
    LoginOnly,
    /// TLS for the whole session.
    Full,
    /// The server answers, then ends the connection.
    Terminate,
}

/// The server's ENCRYPTION answer and what follows, by the table of MS-TDS 2.2.6.5.
pub fn negotiate(server: ServerEncryption, client: u8) -> (u8, Outcome) {
    use encrypt::*;
    use ServerEncryption as S;
    match (server, client) {
        (S::Off, OFF) => (OFF, Outcome::LoginOnly),
        (S::Off, ON | REQ) => (ON, Outcome::Full),
        (S::Off, _) => (NOT_SUP, Outcome::Plain),
        (S::On, OFF) => (REQ, Outcome::Full),
        (S::On, ON | REQ) => (ON, Outcome::Full),
        (S::On, _) => (REQ, Outcome::Terminate),
        (S::NotSupported, ON | REQ) => (NOT_SUP, Outcome::Terminate),
        (S::NotSupported, _) => (NOT_SUP, Outcome::Plain),
    }
}

/// The options of a PRELOGIN message, as (token, data) in order.
pub fn parse(payload: &[u8]) -> io::Result<Vec<(u8, Vec<u8>)>> {
    let mut options = Vec::new();
    let mut i = 0;
    loop {
        let token = *payload
            .get(i)
            .ok_or_else(|| bad("PRELOGIN without its terminator".into()))?;
        if token == option::TERMINATOR {
            return Ok(options);
        }
        let entry = payload
            .get(i + 1..i + 5)
            .ok_or_else(|| bad("PRELOGIN option entry cut short".into()))?;
        let offset = u16::from_be_bytes([entry[0], entry[1]]) as usize;
        let length = u16::from_be_bytes([entry[2], entry[3]]) as usize;
        let data = payload.get(offset..offset + length).ok_or_else(|| {
            bad(format!(
                "PRELOGIN option 0x{token:02x} points past the message"
            ))
        })?;
        if options.iter().any(|(t, _)| *t == token) {
            return Err(bad(format!("PRELOGIN option 0x{token:02x} given twice")));
        }
        options.push((token, data.to_vec()));
        i += 5;
    }
}

/// The client's ENCRYPTION byte; a PRELOGIN without one is refused (every TDS 7 client sends
/// it).
pub fn client_encryption(options: &[(u8, Vec<u8>)]) -> io::Result<u8> {
    match options.iter().find(|(t, _)| *t == option::ENCRYPTION) {
        Some((_, d)) if d.len() == 1 => Ok(d[0]),
        Some(_) => Err(bad("PRELOGIN ENCRYPTION is not one byte".into())),
        None => Err(bad("PRELOGIN without ENCRYPTION".into())),
    }
}

/// The server's PRELOGIN: VERSION (`version`, sub-build 0), ENCRYPTION, INSTOPT 0, THREADID
/// empty, MARS 0 (MARS is not modelled).
pub fn response(version: [u8; 4], encryption: u8) -> Vec<u8> {
    let options: [(u8, Vec<u8>); 5] = [
        (
            option::VERSION,
            vec![version[0], version[1], version[2], version[3], 0, 0],
        ),
        (option::ENCRYPTION, vec![encryption]),
        (option::INSTOPT, vec![0]),
        (option::THREADID, vec![]),
        (option::MARS, vec![0]),
    ];
    let mut head = Vec::new();
    let mut data = Vec::new();
    let base = options.len() * 5 + 1;
    for (token, d) in &options {
        head.push(*token);
        head.extend_from_slice(&((base + data.len()) as u16).to_be_bytes());
        head.extend_from_slice(&(d.len() as u16).to_be_bytes());
        data.extend_from_slice(d);
    }
    head.push(option::TERMINATOR);
    head.extend_from_slice(&data);
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use encrypt::*;
    use ServerEncryption as S;

    #[test]
    fn the_encryption_table_of_2_2_6_5() {
        assert_eq!(negotiate(S::Off, OFF), (OFF, Outcome::LoginOnly));
        assert_eq!(negotiate(S::Off, ON), (ON, Outcome::Full));
        assert_eq!(negotiate(S::Off, REQ), (ON, Outcome::Full));
        assert_eq!(negotiate(S::Off, NOT_SUP), (NOT_SUP, Outcome::Plain));
        assert_eq!(negotiate(S::On, OFF), (REQ, Outcome::Full));
        assert_eq!(negotiate(S::On, ON), (ON, Outcome::Full));
        assert_eq!(negotiate(S::On, NOT_SUP), (REQ, Outcome::Terminate));
        assert_eq!(negotiate(S::NotSupported, OFF), (NOT_SUP, Outcome::Plain));
        assert_eq!(
            negotiate(S::NotSupported, ON),
            (NOT_SUP, Outcome::Terminate)
        );
        assert_eq!(
            negotiate(S::NotSupported, REQ),
            (NOT_SUP, Outcome::Terminate)
        );
        assert_eq!(
            negotiate(S::NotSupported, NOT_SUP),
            (NOT_SUP, Outcome::Plain)
        );
    }

    #[test]
    fn the_response_parses_back() {
        let r = response([16, 0, 0x11, 0x94], ON);
        let o = parse(&r).unwrap();
        assert_eq!(o[0], (option::VERSION, vec![16, 0, 0x11, 0x94, 0, 0]));
        assert_eq!(client_encryption(&o).unwrap(), ON);
        assert_eq!(o[3], (option::THREADID, vec![]));
    }

    #[test]
    fn broken_prelogins_are_refused() {
        assert!(parse(&[0x01, 0, 6, 0, 1]).is_err());
        assert!(parse(&[0x01, 0, 99, 0, 1, 0xFF]).is_err());
        assert!(client_encryption(&parse(&[0xFF]).unwrap()).is_err());
        let twice = [0x01, 0, 11, 0, 1, 0x01, 0, 11, 0, 1, 0xFF, 0];
        assert!(parse(&twice).is_err());
    }
}
