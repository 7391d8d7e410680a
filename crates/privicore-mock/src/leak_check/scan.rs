//! The search itself: every secret a test holds, in every form a careless log line, `Debug`
//! impl or error message could show it in.
//!
//! A secret rarely leaks verbatim only. An `Authorization: Basic` header carries the client id
//! and secret base64-encoded together; a logged form body or URL carries a password
//! percent-encoded (or with `+` for spaces); key bytes print as hex or base64. A search for
//! the plain text alone passes all of those, so each secret is searched in each of its forms.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// The four base64 alphabets and paddings a secret may be encoded with.
const BASE64: [(&str, base64::engine::GeneralPurpose); 4] = [
    ("base64", STANDARD),
    ("base64 unpadded", STANDARD_NO_PAD),
    ("base64url", URL_SAFE),
    ("base64url unpadded", URL_SAFE_NO_PAD),
];

/// The secrets to search for, each with every form it is searched in.
///
/// ```
/// use privicore_mock::leak_check::Secrets;
///
/// let mut secrets = Secrets::new();
/// secrets
///     .text("password", "open sesame")
///     .client("client", "Aladdin", "open sesame")
///     .key("vault key", &[0xfb, 0xff, 0x00, 0x10]);
/// // The HTTP Basic credentials of RFC 7617's example, as a header would show them.
/// let leaks = secrets.find("authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// assert_eq!(leaks.len(), 1);
/// assert_eq!(leaks[0].to_string(), "client (base64 of id:secret)");
/// assert!(secrets.find("nothing secret here").is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Secrets {
    entries: Vec<Entry>,
}

/// One secret: its name, its plain value (to exempt it where a run may print it), its forms.
#[derive(Debug)]
struct Entry {
    name: String,
    value: String,
    forms: Vec<Form>,
}

/// One form of a secret: how it was encoded, and the text searched for.
#[derive(Debug)]
struct Form {
    encoding: String,
    text: String,
}

/// A secret found in the searched text, and the form it was found in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// The secret's name, as given to [`Secrets`].
    pub name: String,
    /// The form found: `verbatim`, `base64`, `base64url unpadded`, `percent-encoded`,
    /// `base64 of id:secret`, `hex (upper case)`, ...
    pub encoding: String,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.encoding)
    }
}

impl Secrets {
    /// No secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A secret held as text (a password, a token, a client secret, an authorization code):
    /// searched verbatim, base64-encoded (standard and URL-safe alphabets, padded and not),
    /// percent-encoded (`%20` for a space) and form-encoded (`+` for a space). An empty
    /// secret is not added (it would be found everywhere).
    pub fn text(&mut self, name: impl Into<String>, secret: &str) -> &mut Self {
        if secret.is_empty() {
            return self;
        }
        let mut entry = Entry::new(name.into(), secret);
        entry.add_text_forms("", secret);
        self.entries.push(entry);
        self
    }

    /// An OAuth client's credentials: the secret as [`Secrets::text`], and `id:secret`, the
    /// HTTP Basic credentials, base64-encoded in the four ways.
    pub fn client(
        &mut self,
        name: impl Into<String>,
        client_id: &str,
        client_secret: &str,
    ) -> &mut Self {
        if client_secret.is_empty() {
            return self;
        }
        let mut entry = Entry::new(name.into(), client_secret);
        entry.add_text_forms("", client_secret);
        let basic = format!("{client_id}:{client_secret}");
        for (encoding, engine) in BASE64 {
            entry.add(format!("{encoding} of id:secret"), engine.encode(&basic));
        }
        self.entries.push(entry);
        self
    }

    /// Key bytes (an AES vault key, a private key): hex in lower and upper case, and base64 of
    /// the raw bytes in the four ways; the lower-case hex, the form keys are handed around
    /// in, also as [`Secrets::text`]. Empty bytes are not added.
    pub fn key(&mut self, name: impl Into<String>, bytes: &[u8]) -> &mut Self {
        if bytes.is_empty() {
            return self;
        }
        let lower = hex::encode(bytes);
        let mut entry = Entry::new(name.into(), &lower);
        entry.add("hex".into(), lower.clone());
        entry.add("hex (upper case)".into(), hex::encode_upper(bytes));
        for (encoding, engine) in BASE64 {
            entry.add(format!("{encoding} of the key bytes"), engine.encode(bytes));
        }
        entry.add_text_forms("hex text, ", &lower);
        self.entries.push(entry);
        self
    }

    /// Every secret the mock issued since [`super::start`], as [`Secrets::text`], named
    /// `issued secret #i`.
    pub fn issued(&mut self) -> &mut Self {
        for (i, secret) in super::issued().into_iter().enumerate() {
            self.text(format!("issued secret #{i}"), &secret);
        }
        self
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many forms are searched for, over all secrets.
    pub fn forms(&self) -> usize {
        self.entries.iter().map(|e| e.forms.len()).sum()
    }

    /// Every secret found in `haystack`, each once, with the first of its forms found.
    pub fn find(&self, haystack: &str) -> Vec<Leak> {
        self.find_except(haystack, None)
    }

    /// As [`Secrets::find`], but a secret whose plain value is `allowed` is not searched for
    /// (a run documented to print that one secret, in whatever form).
    pub fn find_except(&self, haystack: &str, allowed: Option<&str>) -> Vec<Leak> {
        self.entries
            .iter()
            .filter(|entry| allowed != Some(entry.value.as_str()))
            .filter_map(|entry| {
                let form = entry
                    .forms
                    .iter()
                    .find(|form| haystack.contains(&form.text))?;
                Some(Leak {
                    name: entry.name.clone(),
                    encoding: form.encoding.clone(),
                })
            })
            .collect()
    }
}

impl Entry {
    fn new(name: String, value: &str) -> Self {
        Self {
            name,
            value: value.to_owned(),
            forms: Vec::new(),
        }
    }

    /// Adds a form, unless an earlier one has the same text (a secret of letters and digits
    /// percent-encodes to itself; base64 without `+` or `/` is the same in both alphabets).
    fn add(&mut self, encoding: String, text: String) {
        if !self.forms.iter().any(|form| form.text == text) {
            self.forms.push(Form { encoding, text });
        }
    }

    /// Verbatim, base64 four ways, percent- and form-encoded; `prefix` starts each encoding's
    /// name.
    fn add_text_forms(&mut self, prefix: &str, secret: &str) {
        self.add(format!("{prefix}verbatim"), secret.to_owned());
        for (encoding, engine) in BASE64 {
            self.add(format!("{prefix}{encoding}"), engine.encode(secret));
        }
        self.add(format!("{prefix}percent-encoded"), percent_encode(secret));
        self.add(format!("{prefix}form-encoded"), form_encode(secret));
    }
}

/// RFC 3986 percent-encoding: unreserved bytes as they are, every other byte `%XX`.
fn percent_encode(text: &str) -> String {
    encode_bytes(
        text,
        |b| b.is_ascii_alphanumeric() || b"-._~".contains(&b),
        None,
    )
}

/// `application/x-www-form-urlencoded`, as form bodies and query strings are written: `+`
/// for a space, `*-._` and alphanumerics as they are, every other byte `%XX`.
fn form_encode(text: &str) -> String {
    encode_bytes(
        text,
        |b| b.is_ascii_alphanumeric() || b"*-._".contains(&b),
        Some('+'),
    )
}

fn encode_bytes(text: &str, keep: impl Fn(u8) -> bool, space: Option<char>) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        match (b, space) {
            (b' ', Some(plus)) => out.push(plus),
            _ if keep(b) => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forms found in `haystack` for one secret added by `add`.
    fn found(add: impl FnOnce(&mut Secrets), haystack: &str) -> Vec<String> {
        let mut secrets = Secrets::new();
        add(&mut secrets);
        secrets
            .find(haystack)
            .into_iter()
            .map(|leak| leak.encoding)
            .collect()
    }

    #[test]
    fn text_is_found_verbatim_and_in_each_encoding() {
        // 0xfb 0xff in the secret make `+` and `/` in standard base64, `-` and `_` in the
        // URL-safe alphabet, so the four base64 forms all differ.
        let secret = "pass word/+?\u{fb}";
        let add = |s: &mut Secrets| {
            s.text("pw", secret);
        };
        let cases = [
            ("x pass word/+?\u{fb} x", "verbatim"),
            ("x cGFzcyB3b3JkLys/w7s= x", "base64"),
            ("x cGFzcyB3b3JkLys/w7s x", "base64 unpadded"),
            ("x cGFzcyB3b3JkLys_w7s= x", "base64url"),
            ("x cGFzcyB3b3JkLys_w7s x", "base64url unpadded"),
            ("x pass%20word%2F%2B%3F%C3%BB x", "percent-encoded"),
            ("x pass+word%2F%2B%3F%C3%BB x", "form-encoded"),
        ];
        for (haystack, encoding) in cases {
            assert_eq!(found(add, haystack), vec![encoding], "in `{haystack}`");
        }
        assert!(found(add, "pass word/+ cGFzcyB3b3JkLys").is_empty());
    }

    #[test]
    fn client_credentials_are_found_as_http_basic() {
        // RFC 7617's example: `Aladdin:open sesame`.
        let add = |s: &mut Secrets| {
            s.client("client", "Aladdin", "open sesame");
        };
        assert_eq!(
            found(add, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            vec!["base64 of id:secret"]
        );
        assert_eq!(
            found(add, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ"),
            vec!["base64 unpadded of id:secret"]
        );
        assert_eq!(found(add, "open+sesame"), vec!["form-encoded"]);
        assert!(
            found(add, "Aladdin").is_empty(),
            "the id alone is no secret"
        );
    }

    #[test]
    fn keys_are_found_as_hex_and_base64_of_their_bytes() {
        let add = |s: &mut Secrets| {
            s.key("key", &[0xfb, 0xff, 0x0a, 0xbc]);
        };
        let cases = [
            ("fbff0abc", "hex"),
            ("FBFF0ABC", "hex (upper case)"),
            ("+/8KvA==", "base64 of the key bytes"),
            ("+/8KvA", "base64 unpadded of the key bytes"),
            ("-_8KvA==", "base64url of the key bytes"),
            ("-_8KvA", "base64url unpadded of the key bytes"),
            ("ZmJmZjBhYmM=", "hex text, base64"),
        ];
        for (haystack, encoding) in cases {
            assert_eq!(found(add, haystack), vec![encoding], "in `{haystack}`");
        }
        assert!(found(add, "fbff0ab").is_empty());
    }

    #[test]
    fn an_allowed_secret_is_not_reported_and_empty_ones_are_not_added() {
        let mut secrets = Secrets::new();
        secrets
            .text("a", "alpha-secret")
            .text("b", "bravo-secret")
            .text("empty", "");
        secrets.key("no key", &[]).client("no client", "id", "");
        assert_eq!(secrets.len(), 2);
        let haystack = "alpha-secret bravo-secret";
        let names = |leaks: Vec<Leak>| leaks.into_iter().map(|l| l.name).collect::<Vec<_>>();
        assert_eq!(names(secrets.find(haystack)), vec!["a", "b"]);
        assert_eq!(
            names(secrets.find_except(haystack, Some("alpha-secret"))),
            vec!["b"]
        );
    }
}
