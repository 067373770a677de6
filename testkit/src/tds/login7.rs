//! LOGIN7 [MS-TDS 2.2.6.4]: a 94-byte fixed part (length, TDS version, packet size, ...,
//! then offset/length pairs into the message for UTF-16LE strings) and the strings. The
//! password is obfuscated, not encrypted: each byte's nibbles swapped, then XOR 0xA5.

use super::packet::bad;
use std::io;

/// The fixed part's length.
const FIXED: usize = 94;

/// What the stand-in reads from LOGIN7.
#[derive(Debug, PartialEq, Eq)]
pub struct Login7 {
    /// The TDS version the client asks for, as LOGIN7 carries it (little-endian DWORD, e.g.
    /// 0x74000004 for 7.4).
    pub tds_version: u32,
    /// The packet size the client asks for (0: the server's).
    pub packet_size: u32,
    /// OptionFlags2's fIntSecurity: integrated (Windows) authentication.
    pub integrated_security: bool,
    /// The host name.
    pub host_name: String,
    /// The login name.
    pub user_name: String,
    /// The password, de-obfuscated.
    pub password: String,
    /// The application name.
    pub app_name: String,
    /// The server name the client connected to.
    pub server_name: String,
    /// The language.
    pub language: String,
    /// The initial database (empty: the login's default).
    pub database: String,
    /// Whether the client asks to change the password at login (ibChangePassword, 7.2+).
    pub change_password: bool,
    /// Whether SSPI data is present.
    pub sspi: bool,
}

/// Un-obfuscates a LOGIN7 password [MS-TDS 2.2.6.4, "before submitting a password..."].
pub fn deobfuscate(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| (b ^ 0xA5).rotate_left(4)).collect()
}

/// Obfuscates a password as a client does (the tests').
pub fn obfuscate(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| b.rotate_left(4) ^ 0xA5).collect()
}

/// UTF-16LE to a string, refusing invalid UTF-16.
pub fn utf16(bytes: &[u8]) -> io::Result<String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(bad("UTF-16 string of odd length".into()));
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| bad("invalid UTF-16".into()))
}

/// Parses a LOGIN7 message.
pub fn parse(m: &[u8]) -> io::Result<Login7> {
    if m.len() < FIXED {
        return Err(bad(format!(
            "LOGIN7 of {} bytes is shorter than its fixed part",
            m.len()
        )));
    }
    let u32_at = |i: usize| u32::from_le_bytes([m[i], m[i + 1], m[i + 2], m[i + 3]]);
    let u16_at = |i: usize| u16::from_le_bytes([m[i], m[i + 1]]) as usize;
    let length = u32_at(0) as usize;
    if length != m.len() {
        return Err(bad(format!(
            "LOGIN7 says {length} bytes, the message has {}",
            m.len()
        )));
    }
    let tds_version = u32_at(4);
    let field = |at: usize| -> io::Result<&[u8]> {
        let (offset, chars) = (u16_at(at), u16_at(at + 2));
        if chars == 0 {
            return Ok(&[]);
        }
        m.get(offset..offset + 2 * chars)
            .filter(|_| offset >= FIXED)
            .ok_or_else(|| bad(format!("LOGIN7 field at {at} points outside the message")))
    };
    let string = |at: usize| -> io::Result<String> { utf16(field(at)?) };
    let change_password = tds_version >= 0x7200_0000 && u16_at(88) > 0;
    Ok(Login7 {
        tds_version,
        packet_size: u32_at(8),
        integrated_security: m[25] & 0x80 != 0,
        host_name: string(36)?,
        user_name: string(40)?,
        password: utf16(&deobfuscate(field(44)?))?,
        app_name: string(48)?,
        server_name: string(52)?,
        language: string(64)?,
        database: string(68)?,
        sspi: u16_at(80) > 0,
        change_password,
    })
}

/// A LOGIN7 message as a TDS 7.4 client builds one (the tests').
pub fn build(user: &str, password: &str, database: &str) -> Vec<u8> {
    let enc = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let strings: [(usize, Vec<u8>); 9] = [
        (36, enc("host")),
        (40, enc(user)),
        (44, obfuscate(&enc(password))),
        (48, enc("app")),
        (52, enc("server")),
        (60, enc("lib")),
        (64, Vec::new()),
        (68, enc(database)),
        (86, Vec::new()),
    ];
    let mut fixed = vec![0u8; FIXED];
    let mut data = Vec::new();
    for (at, bytes) in &strings {
        let offset = (FIXED + data.len()) as u16;
        fixed[*at..*at + 2].copy_from_slice(&offset.to_le_bytes());
        fixed[*at + 2..*at + 4].copy_from_slice(&((bytes.len() / 2) as u16).to_le_bytes());
        data.extend_from_slice(bytes);
    }
    fixed[4..8].copy_from_slice(&0x7400_0004u32.to_le_bytes());
    fixed[8..12].copy_from_slice(&4096u32.to_le_bytes());
    fixed.extend_from_slice(&data);
    let total = fixed.len() as u32;
    fixed[0..4].copy_from_slice(&total.to_le_bytes());
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obfuscation_swaps_nibbles_then_xors() {
        // 'a' = 0x61 -> 0x16 ^ 0xA5 = 0xB3; 0x00 -> 0xA5.
        assert_eq!(obfuscate(&[0x61, 0x00]), [0xB3, 0xA5]);
        assert_eq!(deobfuscate(&[0xB3, 0xA5]), [0x61, 0x00]);
    }

    #[test]
    fn a_login_parses_back() {
        let l = parse(&build("app_user", "Pa55'word€", "master")).unwrap();
        assert_eq!(l.user_name, "app_user");
        assert_eq!(l.password, "Pa55'word€");
        assert_eq!(l.database, "master");
        assert_eq!(l.tds_version, 0x7400_0004);
        assert_eq!(l.packet_size, 4096);
        assert!(!l.change_password && !l.sspi && !l.integrated_security);
    }

    #[test]
    fn broken_logins_are_refused() {
        let good = build("u", "p", "");
        assert!(parse(&good[..50]).is_err());
        let mut wrong_length = good.clone();
        wrong_length[0] ^= 1;
        assert!(parse(&wrong_length).is_err());
        let mut outside = good.clone();
        outside[42..44].copy_from_slice(&500u16.to_le_bytes());
        assert!(parse(&outside).is_err());
        let mut odd_surrogate = good;
        let at = u16::from_le_bytes([odd_surrogate[40], odd_surrogate[41]]) as usize;
        odd_surrogate[at..at + 2].copy_from_slice(&0xD800u16.to_le_bytes());
        assert!(parse(&odd_surrogate).is_err());
    }
}
