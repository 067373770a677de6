//! Whether an account's stored authentication string (`mysql.user.authentication_string`) is
//! the one a password gives, for every plugin this adapter sets passwords with. This is how a
//! change made of several statements (one per `user@host` account) is proved account by account:
//! a login proves only the account that matches the function's own address.
//!
//! - `mysql_native_password`: `*` and the upper-case hex of SHA1(SHA1(password));
//! - MariaDB `ed25519`: the base64 public key (computed the same way as the hash that is set);
//! - MySQL `caching_sha2_password` (`$A$RRR$` + 20-byte salt + 43 characters) and
//!   `sha256_password` (`$5$` + salt + `$` + 43 characters): SHA-256-crypt of the password with
//!   the stored salt, `RRR` being the rounds in thousands, in hex.

use sha2::{Digest, Sha256};

use crate::sql::{ed25519_auth_string, native_password_hash};
use crate::statements::Plugin;
use rotation_core::SecretValue;

/// True when `stored` is what `password` gives under `plugin`; false for any other value or a
/// stored string this code cannot read.
pub fn stored_matches(plugin: Plugin, stored: &[u8], password: &SecretValue) -> bool {
    match plugin {
        Plugin::Native => stored.eq_ignore_ascii_case(native_password_hash(password).as_bytes()),
        Plugin::Ed25519 => stored == ed25519_auth_string(password).as_bytes(),
        Plugin::CachingSha2 => caching_sha2(stored)
            .is_some_and(|(rounds, salt, digest)| crypt(password, salt, rounds) == digest),
        Plugin::Sha256 => sha256_password(stored)
            .is_some_and(|(salt, digest)| crypt(password, salt, 5000) == digest),
    }
}

/// Length of the encoded digest.
const DIGEST_CHARS: usize = 43;
/// Length of MySQL's salts.
const SALT_BYTES: usize = 20;

/// `$A$RRR$` + salt + digest: (rounds, salt, digest).
fn caching_sha2(stored: &[u8]) -> Option<(u32, &[u8], &[u8])> {
    let rest = stored.strip_prefix(b"$A$")?;
    let (count, rest) = (rest.get(..3)?, rest.get(3..)?);
    let thousands = u32::from_str_radix(std::str::from_utf8(count).ok()?, 16).ok()?;
    let rest = rest.strip_prefix(b"$")?;
    if rest.len() != SALT_BYTES + DIGEST_CHARS || thousands == 0 {
        return None;
    }
    let (salt, digest) = rest.split_at(SALT_BYTES);
    Some((thousands * 1000, salt, digest))
}

/// `$5$` + salt + `$` + digest: (salt, digest). The salt may itself hold any byte but `$`.
fn sha256_password(stored: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = stored.strip_prefix(b"$5$")?;
    let split = rest.len().checked_sub(DIGEST_CHARS + 1)?;
    let (salt, tail) = rest.split_at(split);
    let digest = tail.strip_prefix(b"$")?;
    Some((salt, digest))
}

/// SHA-256-crypt (Drepper's "Unix crypt using SHA-256", the scheme glibc's `$5$` uses) of
/// `password` with `salt` (any length: MySQL uses 20 bytes where glibc stops at 16) and
/// `rounds`, in the crypt base64 alphabet.
pub(crate) fn crypt(password: &SecretValue, salt: &[u8], rounds: u32) -> Vec<u8> {
    let p = password.expose().as_bytes();
    let b = Sha256::new()
        .chain_update(p)
        .chain_update(salt)
        .chain_update(p)
        .finalize();
    let mut a = Sha256::new().chain_update(p).chain_update(salt);
    a.update(repeated(&b, p.len()));
    let mut n = p.len();
    while n > 0 {
        if n & 1 == 1 {
            a.update(b);
        } else {
            a.update(p);
        }
        n >>= 1;
    }
    let a = a.finalize();
    let mut dp = Sha256::new();
    for _ in 0..p.len() {
        dp.update(p);
    }
    let p_seq = repeated(&dp.finalize(), p.len());
    let mut ds = Sha256::new();
    for _ in 0..16 + usize::from(a[0]) {
        ds.update(salt);
    }
    let s_seq = repeated(&ds.finalize(), salt.len());
    let mut c = a;
    for i in 0..rounds {
        let mut round = Sha256::new();
        if i % 2 == 1 {
            round.update(&p_seq);
        } else {
            round.update(c);
        }
        if i % 3 != 0 {
            round.update(&s_seq);
        }
        if i % 7 != 0 {
            round.update(&p_seq);
        }
        if i % 2 == 1 {
            round.update(c);
        } else {
            round.update(&p_seq);
        }
        c = round.finalize();
    }
    encode(&c)
}

/// `digest` repeated and cut to `len` bytes.
fn repeated(digest: &[u8], len: usize) -> Vec<u8> {
    digest.iter().copied().cycle().take(len).collect()
}

/// The crypt base64 encoding of a SHA-256-crypt digest, in the scheme's byte order.
fn encode(c: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(DIGEST_CHARS);
    let mut push = |b2: u8, b1: u8, b0: u8, n: usize| {
        let mut w = (u32::from(b2) << 16) | (u32::from(b1) << 8) | u32::from(b0);
        for _ in 0..n {
            out.push(ALPHABET[(w & 0x3f) as usize]);
            w >>= 6;
        }
    };
    let at = |i: usize| c.get(i).copied().unwrap_or(0);
    for k in 0..10 {
        // Triplets (0,10,20), (21,1,11), (12,22,2), ... rotate through the digest.
        let (x, y, z) = match k % 3 {
            0 => (k, k + 10, k + 20),
            1 => (k + 20, k, k + 10),
            _ => (k + 10, k + 20, k),
        };
        push(at(x), at(y), at(z), 4);
    }
    push(0, at(31), at(30), 3);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> SecretValue {
        SecretValue::new(s)
    }

    #[test]
    fn sha256_crypt_matches_the_reference_vectors() {
        // Drepper's specification vectors, as glibc's crypt() prints them.
        for (password, salt, rounds, digest) in [
            ("Hello world!", "saltstring", 5000, "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
            ("Hello world!", "saltstringsaltst", 10000, "3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"),
            ("This is just a test", "toolongsaltstrin", 5000, "Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"),
            (
                "a very much longer text to encrypt.  This one even stretches over morethan one line.",
                "anotherlongsalts",
                1400,
                "Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1",
            ),
            ("", "x", 5000, "yHbtfs4Y8t6X1xcJemNX.4JQRfUTafA2qQenWGLBee2"),
        ] {
            let got = crypt(&pw(password), salt.as_bytes(), rounds);
            assert_eq!(std::str::from_utf8(&got).unwrap(), digest, "{salt}");
        }
    }

    #[test]
    fn caching_sha2_strings_with_twenty_byte_salts() {
        // A MySQL 8 caching_sha2_password string for "hashcat" (the public example of the
        // format in hashcat's list, mode 7401, converted from its hex form).
        let salt = hex("F9CC98CE08892924F50A213B6BC571A2C11778C5");
        let mut stored = b"$A$005$".to_vec();
        stored.extend_from_slice(&salt);
        stored.extend_from_slice(b"bTy95Y99eAME1dwEkHOA1ndHGBWz.1bxSSRkuTXFGV/");
        assert!(stored_matches(Plugin::CachingSha2, &stored, &pw("hashcat")));
        assert!(!stored_matches(
            Plugin::CachingSha2,
            &stored,
            &pw("hashcaT")
        ));
        // Made here, with the same salt: round trip and tampering.
        let mut mine = b"$A$00A$".to_vec();
        mine.extend_from_slice(&salt);
        mine.extend(crypt(&pw("p'w"), &salt, 10_000));
        assert!(stored_matches(Plugin::CachingSha2, &mine, &pw("p'w")));
        let mut five = b"$5$".to_vec();
        five.extend_from_slice(b"abcdefghij0123456789$");
        five.extend(crypt(&pw("x"), b"abcdefghij0123456789", 5000));
        assert!(stored_matches(Plugin::Sha256, &five, &pw("x")));
        for broken in [
            &b""[..],
            b"$A$",
            b"$A$xyz$",
            b"$A$005$short",
            b"$5$nodollar",
        ] {
            assert!(!stored_matches(Plugin::CachingSha2, broken, &pw("x")));
            assert!(!stored_matches(Plugin::Sha256, broken, &pw("x")));
        }
    }

    #[test]
    fn native_and_ed25519_strings() {
        let p = pw("password");
        assert!(stored_matches(
            Plugin::Native,
            b"*2470c0c06dee42fd1618bb99005adca2ec9d1e19",
            &p
        ));
        assert!(!stored_matches(Plugin::Native, b"*2470C0", &p));
        assert!(stored_matches(
            Plugin::Ed25519,
            b"iGRouygp5VwPhO1Nw3XHv2nRNSJmY6g6Clsn5zqjRqU",
            &pw("pw2")
        ));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
