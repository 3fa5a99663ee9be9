//! Key pairs: checking an OpenSSH public key line before EC2 sees it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::decode::Ctx;
use super::fields;
use super::yaml::{Node, Value};
use crate::model::KeyPairSpec;

/// Decodes `key_pairs.<name>`.
pub fn key_pair(ctx: &mut Ctx, name: &str, key: &Node, node: &Node) -> Option<KeyPairSpec> {
    let what = format!("key pair `{name}`");
    let e = ctx.object(node, &fields::KEY_PAIR, &what, key)?;
    let v = e.value("public_key")?;
    let Some(Value::Str(raw)) = v.value() else {
        ctx.str(v)?;
        return None;
    };
    // A pasted private key is told as such, whatever else is wrong with it;
    // and a key written as a `|` block ends with a line break that is no
    // part of it.
    let text = raw.trim();
    if !text.contains("PRIVATE KEY") && !ctx.single_line(v, text, "a public key") {
        return None;
    }
    match check_public_key(text) {
        Ok(()) => Some(KeyPairSpec {
            renamed_from: ctx.renamed_from(&e, "key pair"),
            public_key: text.to_string(),
            at: ctx.loc(key.start),
        }),
        Err((message, hint)) => {
            ctx.error(v, message, Some(hint.into()));
            None
        }
    }
}

/// Checks `<type> <base64> [comment]`, the type being one EC2 imports and the
/// base64 blob being a key of that type.
fn check_public_key(text: &str) -> Result<(), (String, &'static str)> {
    const MAKE_ONE: &str =
        "generate one with `ssh-keygen -t ed25519` and paste the `.pub` file's line";
    if text.contains("PRIVATE KEY") {
        return Err((
            "this is a private key, not a public key".into(),
            "paste the `.pub` file's line instead, and treat this private key as leaked: it is in the repository",
        ));
    }
    if text.contains('\n') {
        return Err(("a public key is a single line".into(), MAKE_ONE));
    }
    let mut parts = text.split_whitespace();
    let (Some(kind), Some(data)) = (parts.next(), parts.next()) else {
        return Err((
            "not an OpenSSH public key: expected `<type> <base64 data> [comment]`".into(),
            MAKE_ONE,
        ));
    };
    if !matches!(kind, "ssh-ed25519" | "ssh-rsa") {
        let known = kind.starts_with("ecdsa-")
            || kind.starts_with("sk-")
            || kind == "ssh-dss"
            || kind.contains("-cert-v01@");
        return Err(if known {
            (
                format!("EC2 imports only ED25519 and RSA keys, not `{kind}`"),
                MAKE_ONE,
            )
        } else {
            (
                format!("not an OpenSSH public key: unknown key type `{kind}`"),
                MAKE_ONE,
            )
        });
    }
    let Ok(blob) = STANDARD.decode(data) else {
        return Err((
            "the key's base64 data is invalid".into(),
            "copy the whole line again; it may be cut short",
        ));
    };
    // The blob starts with its own type as a length-prefixed string.
    let inner = blob
        .get(..4)
        .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
        .and_then(|len| blob.get(4..4 + len));
    if inner != Some(kind.as_bytes()) {
        return Err((
            format!("the key data is not a `{kind}` key"),
            "copy the whole line again; it may be cut short or mixed up",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g ops@example.com";

    #[test]
    fn accepts_ed25519_and_rsa() {
        assert_eq!(check_public_key(ED25519), Ok(()));
        let rsa = format!(
            "ssh-rsa {}",
            STANDARD.encode(b"\0\0\0\x07ssh-rsa\0\0\0\x03\x01\0\x01")
        );
        assert_eq!(check_public_key(&rsa), Ok(()));
    }

    #[test]
    fn rejects_others() {
        let err = |s: &str| check_public_key(s).unwrap_err().0;
        assert!(err("ecdsa-sha2-nistp256 AAAA").contains("only ED25519 and RSA"));
        assert!(err("ssh-ed25519 !!!").contains("base64"));
        assert!(
            err("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ==").contains("not a `ssh-ed25519` key")
        );
        assert!(err("-----BEGIN OPENSSH PRIVATE KEY-----").contains("private key"));
        assert!(err("hello").contains("not an OpenSSH public key"));
    }
}
