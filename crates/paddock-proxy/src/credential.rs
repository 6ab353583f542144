//! A run's proxy credential: the user `paddock` and a token of 128 bits from the OS CSPRNG
//! (`getrandom`), written as 32 lowercase hex digits so that it goes into a proxy URL as is.
//! With one set, the proxy serves only clients that present it: `Proxy-Authorization: Basic`
//! for HTTP and CONNECT, RFC 1929 username/password for SOCKS5. Comparisons take the same time
//! whatever the first differing byte; the token is never written to a log or a `Debug` output.

use std::fmt;
use thiserror::Error;

/// The user name of every credential (the token is what is secret).
pub const USER: &str = "paddock";

/// The token's length in bytes of randomness (hex doubles it).
const TOKEN_BYTES: usize = 16;

/// Why a credential could not be made.
#[derive(Debug, Error)]
pub enum CredentialError {
    #[error("cannot draw the proxy credential from the OS random source: {0}")]
    Random(String),
    #[error("a proxy token is {} lowercase hex digits", TOKEN_BYTES * 2)]
    Format,
}

/// The user and token a client must present; `Debug` shows neither the token nor its encoding.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    token: String,
    /// `base64(paddock:TOKEN)`, what a `Basic` header carries.
    basic: String,
}

impl Credential {
    /// A fresh credential from the OS CSPRNG.
    pub fn random() -> Result<Credential, CredentialError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| CredentialError::Random(e.to_string()))?;
        Credential::from_token(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    /// The credential for a token made elsewhere (tests use fixed ones); refuses anything but
    /// 32 lowercase hex digits.
    pub fn from_token(token: &str) -> Result<Credential, CredentialError> {
        if token.len() != TOKEN_BYTES * 2
            || !token
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(CredentialError::Format);
        }
        Ok(Credential {
            token: token.to_string(),
            basic: base64(format!("{USER}:{token}").as_bytes()),
        })
    }

    /// The token, for the proxy URL's password.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The value of a `Proxy-Authorization` header carrying this credential.
    pub fn header_value(&self) -> String {
        format!("Basic {}", self.basic)
    }

    /// True when a `Proxy-Authorization` value is `Basic` (any case) with this credential.
    pub fn accepts_header(&self, value: &str) -> bool {
        let value = value.trim();
        let Some((scheme, rest)) = value.split_once([' ', '\t']) else {
            return false;
        };
        scheme.eq_ignore_ascii_case("basic")
            && same_bytes(rest.trim().as_bytes(), self.basic.as_bytes())
    }

    /// True when a SOCKS5 username and password (RFC 1929) are this credential's.
    pub fn accepts_user_password(&self, user: &[u8], password: &[u8]) -> bool {
        // Both compared whatever the first says (`&`, not `&&`).
        same_bytes(user, USER.as_bytes()) & same_bytes(password, self.token.as_bytes())
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential {{ user: {USER:?}, token: <hidden> }}")
    }
}

/// Equality whose time depends on the lengths only (a token's length is no secret): every
/// byte is looked at, and the optimiser is kept from stopping at the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

/// Standard base64 with padding (RFC 4648 section 4), as `Basic` uses.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn the_basic_header_is_paddock_and_the_token() {
        let c = Credential::from_token(TOKEN).unwrap();
        // `printf paddock:00112233445566778899aabbccddeeff | base64`
        let want = "Basic cGFkZG9jazowMDExMjIzMzQ0NTU2Njc3ODg5OWFhYmJjY2RkZWVmZg==";
        assert_eq!(c.header_value(), want);
        assert!(c.accepts_header(want));
        assert!(
            c.accepts_header("basic  cGFkZG9jazowMDExMjIzMzQ0NTU2Njc3ODg5OWFhYmJjY2RkZWVmZg==")
        );
    }

    #[test]
    fn another_token_user_or_scheme_is_not_accepted() {
        let c = Credential::from_token(TOKEN).unwrap();
        let other = Credential::from_token("ffeeddccbbaa99887766554433221100").unwrap();
        assert!(!c.accepts_header(&other.header_value()));
        // `printf root:00112233445566778899aabbccddeeff | base64`: the right token, another user.
        assert!(!c.accepts_header("Basic cm9vdDowMDExMjIzMzQ0NTU2Njc3ODg5OWFhYmJjY2RkZWVmZg=="));
        assert!(
            !c.accepts_header("Bearer cGFkZG9jazowMDExMjIzMzQ0NTU2Njc3ODg5OWFhYmJjY2RkZWVmZg==")
        );
        assert!(!c.accepts_header("Basic"));
        assert!(!c.accepts_header(""));
        assert!(c.accepts_user_password(b"paddock", TOKEN.as_bytes()));
        assert!(!c.accepts_user_password(b"paddock", other.token().as_bytes()));
        assert!(!c.accepts_user_password(b"root", TOKEN.as_bytes()));
        assert!(!c.accepts_user_password(b"paddock", &TOKEN.as_bytes()[..31]));
    }

    #[test]
    fn random_tokens_are_url_safe_distinct_and_hidden_from_debug() {
        let a = Credential::random().unwrap();
        let b = Credential::random().unwrap();
        assert_ne!(a.token(), b.token());
        assert_eq!(a.token().len(), 32);
        assert!(a.token().bytes().all(|c| c.is_ascii_hexdigit()));
        let shown = format!("{a:?}");
        assert!(!shown.contains(a.token()), "{shown}");
        assert!(!shown.contains(&a.basic), "{shown}");
    }

    #[test]
    fn a_token_that_is_not_32_lowercase_hex_digits_is_refused() {
        for bad in [
            "",
            "00112233",
            "00112233445566778899AABBCCDDEEFF",
            "0011223344556677889@aabbccddeeff",
        ] {
            assert!(Credential::from_token(bad).is_err(), "{bad}");
        }
    }
}
