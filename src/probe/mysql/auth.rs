//! The password answers of the authentication plugins readygate speaks: `mysql_native_password`
//! (SHA-1 challenge, MySQL before 8 and MariaDB's default), `caching_sha2_password` (SHA-256
//! challenge, MySQL 8's default; its full authentication sends the password itself, which only
//! ever happens over TLS) and `mysql_clear_password` (over TLS only).

use ring::digest::{digest, Context, SHA1_FOR_LEGACY_USE_ONLY as SHA1, SHA256};

/// What answering a plugin's challenge takes.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Bytes(Vec<u8>),
    /// The plugin sends the password as it is: refused without TLS.
    NeedsTls,
    /// A plugin readygate does not speak (ed25519, GSSAPI, PAM dialog…).
    Unsupported,
}

/// The answer to `plugin`'s challenge `nonce` with `password`.
pub fn answer(plugin: &str, password: &[u8], nonce: &[u8], tls: bool) -> Answer {
    // The nonce may come with a trailing NUL (auth switch requests).
    let nonce = nonce.strip_suffix(&[0]).unwrap_or(nonce);
    match plugin {
        "mysql_native_password" => Answer::Bytes(native(password, nonce)),
        "caching_sha2_password" => Answer::Bytes(caching_sha2(password, nonce)),
        "mysql_clear_password" if tls => Answer::Bytes(cleartext(password)),
        "mysql_clear_password" => Answer::NeedsTls,
        _ => Answer::Unsupported,
    }
}

/// The password and a NUL, as the cleartext plugin and caching_sha2's full authentication send it.
pub fn cleartext(password: &[u8]) -> Vec<u8> {
    let mut out = password.to_vec();
    out.push(0);
    out
}

/// SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))); empty for an empty password.
fn native(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = digest(&SHA1, password);
    let stage2 = digest(&SHA1, stage1.as_ref());
    let mut ctx = Context::new(&SHA1);
    ctx.update(nonce);
    ctx.update(stage2.as_ref());
    xor(stage1.as_ref(), ctx.finish().as_ref())
}

/// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce).
fn caching_sha2(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = digest(&SHA256, password);
    let stage2 = digest(&SHA256, stage1.as_ref());
    let mut ctx = Context::new(&SHA256);
    ctx.update(stage2.as_ref());
    ctx.update(nonce);
    xor(stage1.as_ref(), ctx.finish().as_ref())
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn native_matches_the_servers_check() {
        // The server stores SHA1(SHA1(password)) and checks SHA1(answer XOR SHA1(nonce + stored))
        // against it: run that check here.
        let nonce = b"0123456789abcdefghij";
        let Answer::Bytes(a) = answer("mysql_native_password", b"s3cret", nonce, false) else {
            panic!()
        };
        let stored = digest(&SHA1, digest(&SHA1, b"s3cret").as_ref());
        let mut ctx = Context::new(&SHA1);
        ctx.update(nonce);
        ctx.update(stored.as_ref());
        let stage1 = xor(&a, ctx.finish().as_ref());
        assert_eq!(hex(digest(&SHA1, &stage1).as_ref()), hex(stored.as_ref()));
        assert_eq!(
            answer("mysql_native_password", b"", nonce, false),
            Answer::Bytes(vec![])
        );
    }

    #[test]
    fn sha2_and_plugins() {
        let nonce = b"0123456789abcdefghij\0";
        let Answer::Bytes(a) = answer("caching_sha2_password", b"pw", nonce, false) else {
            panic!()
        };
        // Same check as the server's: XOR back with SHA256(stored + nonce) gives SHA256(pw).
        let stored = digest(&SHA256, digest(&SHA256, b"pw").as_ref());
        let mut ctx = Context::new(&SHA256);
        ctx.update(stored.as_ref());
        ctx.update(&nonce[..20]);
        assert_eq!(
            xor(&a, ctx.finish().as_ref()),
            digest(&SHA256, b"pw").as_ref()
        );
        assert_eq!(
            answer("mysql_clear_password", b"pw", nonce, false),
            Answer::NeedsTls
        );
        assert_eq!(
            answer("mysql_clear_password", b"pw", nonce, true),
            Answer::Bytes(b"pw\0".to_vec())
        );
        assert_eq!(
            answer("client_ed25519", b"pw", nonce, true),
            Answer::Unsupported
        );
    }
}
