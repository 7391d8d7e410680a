//! [`TlsConfig`]: the extra trust roots, the client certificate and the proxy that every
//! connection of a [`Client`](crate::Client) uses — HTTP calls, transfers and the WebSocket.
//!
//! The HTTP side hands these settings to reqwest; the WebSocket side builds one rustls
//! configuration from the same settings, with the same verifier reqwest uses (the platform's
//! roots plus the extra ones), so both connections trust exactly the same servers.

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::{ExposeSecret, SecretSlice};
use url::Url;

use crate::{Error, Result};

/// TLS and proxy settings, applied to both the HTTP client the SDK builds and the WebSocket
/// that carries acknowledgements ([`ClientBuilder::tls`](crate::ClientBuilder::tls)).
///
/// * [`add_root_certificate`](TlsConfig::add_root_certificate): trust a private CA **in
///   addition to** the platform's roots (a corporate or test CA);
/// * [`identity`](TlsConfig::identity): present a client certificate (mutual TLS);
/// * [`proxy`](TlsConfig::proxy): send every connection through an HTTP proxy (the WebSocket
///   through an HTTP `CONNECT` tunnel).
///
/// Each setter checks its input at once and answers [`Error::Config`] for PEM that holds no
/// usable certificate or key, or a proxy URL that is not `http://host:port`.
///
/// ```no_run
/// use privicore::{Client, TlsConfig};
///
/// let ca_pem = std::fs::read("corporate-ca.pem").expect("the CA file");
/// let tls = TlsConfig::new()
///     .add_root_certificate(&ca_pem)?
///     .proxy("http://proxy.internal:3128")?;
/// let client = Client::builder()
///     .api_url("https://privicore.internal:9009")
///     .ws_url("wss://privicore.internal:8083")
///     .tls(tls)
///     .build()?;
/// # let _ = client;
/// # Ok::<(), privicore::Error>(())
/// ```
///
/// `Debug` never shows the private key, nor a password in the proxy URL.
#[derive(Clone, Default)]
pub struct TlsConfig {
    roots: Vec<CertificateDer<'static>>,
    identity: Option<Identity>,
    proxy: Option<Url>,
}

/// A client certificate chain and its private key, kept as the PEM they were given in (reqwest
/// reads PEM) and checked once when given.
#[derive(Clone)]
struct Identity {
    chain_pem: Vec<u8>,
    key_pem: Arc<SecretSlice<u8>>,
}

impl TlsConfig {
    /// No extra roots, no client certificate, no proxy: the same as not configuring TLS.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the certificates in `pem` (one or more `CERTIFICATE` blocks) as roots, in
    /// addition to the platform's.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `pem` holds no certificate or one that does not parse.
    pub fn add_root_certificate(mut self, pem: &[u8]) -> Result<Self> {
        let certificates = certificates("root certificate", pem)?;
        self.roots.extend(certificates);
        Ok(self)
    }

    /// Presents a client certificate: `chain_pem` holds the certificate (then any
    /// intermediates), `key_pem` its private key (PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the chain holds no certificate or the key does not parse (the
    /// message never quotes the key).
    pub fn identity(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        certificates("client certificate", chain_pem)?;
        private_key(key_pem)?;
        self.identity = Some(Identity {
            chain_pem: chain_pem.to_vec(),
            key_pem: Arc::new(SecretSlice::from(key_pem.to_vec())),
        });
        Ok(self)
    }

    /// Sends every connection through the HTTP proxy at `url` (`http://[user:password@]host:port`):
    /// HTTP calls as reqwest proxies them, the WebSocket through a `CONNECT` tunnel (with
    /// `Proxy-Authorization: Basic` when the URL has credentials).
    ///
    /// Without a proxy here, HTTP calls follow reqwest's defaults (the `HTTP_PROXY` /
    /// `HTTPS_PROXY` / `NO_PROXY` environment variables) and the WebSocket connects directly.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the URL does not parse, is not `http://`, or has no host.
    pub fn proxy(mut self, url: &str) -> Result<Self> {
        let parsed = Url::parse(url)
            .map_err(|e| Error::Config(format!("the proxy URL does not parse: {e}")))?;
        if parsed.scheme() != "http" {
            return Err(Error::Config(format!(
                "the proxy URL must use http (a CONNECT proxy), not {}",
                parsed.scheme()
            )));
        }
        if parsed.host().is_none() {
            return Err(Error::Config("the proxy URL has no host".into()));
        }
        self.proxy = Some(parsed);
        Ok(self)
    }

    /// The proxy, if one is set.
    pub(crate) fn proxy_url(&self) -> Option<&Url> {
        self.proxy.as_ref()
    }

    /// `builder` with these settings.
    pub(crate) fn apply_to_http(
        &self,
        mut builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder> {
        let roots = self
            .roots
            .iter()
            .map(|der| reqwest::Certificate::from_der(der))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Config(format!("a root certificate is unusable: {e}")))?;
        builder = builder.tls_certs_merge(roots);
        if let Some(identity) = &self.identity {
            // reqwest reads the chain and the key from one PEM buffer; it is wiped after use.
            let mut pem = zeroize::Zeroizing::new(identity.chain_pem.clone());
            pem.push(b'\n');
            pem.extend_from_slice(identity.key_pem.expose_secret());
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|_| Error::Config("the client certificate or key is unusable".into()))?;
            builder = builder.identity(identity);
        }
        if let Some(proxy) = &self.proxy {
            let proxy = reqwest::Proxy::all(proxy.as_str())
                .map_err(|_| Error::Config("the proxy URL is unusable".into()))?;
            builder = builder.proxy(proxy);
        }
        Ok(builder)
    }

    /// The rustls configuration of the WebSocket: the platform's roots plus the extra ones,
    /// verified the way reqwest verifies (`rustls-platform-verifier`), with the client
    /// certificate when there is one.
    pub(crate) fn websocket_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        let unusable = |what: &str, e: rustls::Error| {
            Error::Config(format!("cannot set up TLS for the WebSocket: {what}: {e}"))
        };
        // The provider reqwest and tokio-tungstenite already use: no second crypto library.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
            self.roots.iter().cloned(),
            provider.clone(),
        )
        .map_err(|e| unusable("the trusted roots", e))?;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| unusable("the protocol versions", e))?
            .dangerous()
            // Not dangerous: this is the full platform verifier, the one reqwest uses.
            .with_custom_certificate_verifier(Arc::new(verifier));
        let config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => {
                let chain = certificates("client certificate", &identity.chain_pem)?;
                let key = private_key(identity.key_pem.expose_secret())?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| unusable("the client certificate", e))?
            }
        };
        Ok(Arc::new(config))
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proxy = self.proxy.as_ref().map(|url| {
            let mut shown = url.clone();
            if url.password().is_some() {
                let _ = shown.set_password(Some("REDACTED"));
            }
            shown.to_string()
        });
        f.debug_struct("TlsConfig")
            .field("extra_roots", &self.roots.len())
            .field(
                "identity",
                &self
                    .identity
                    .as_ref()
                    .map(|_| "[certificate; key REDACTED]"),
            )
            .field("proxy", &proxy)
            .finish()
    }
}

/// Every certificate in `pem`; at least one.
fn certificates(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Config(format!("the {what} PEM does not parse: {e}")))?;
    if certificates.is_empty() {
        return Err(Error::Config(format!(
            "the {what} PEM holds no CERTIFICATE block"
        )));
    }
    Ok(certificates)
}

/// The private key in `pem`. The error never quotes the key.
fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|_| {
        Error::Config(
            "the client key PEM holds no usable private key (PKCS#8, PKCS#1 or SEC1)".into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &[u8] = include_bytes!("../tests/tls/ca.pem");
    const CLIENT: &[u8] = include_bytes!("../tests/tls/client.pem");
    const CLIENT_KEY: &[u8] = include_bytes!("../tests/tls/client.key");

    #[test]
    fn unusable_input_is_a_config_error() {
        let no_certificate = TlsConfig::new().add_root_certificate(b"not pem");
        assert!(matches!(no_certificate, Err(Error::Config(_))));
        let key_as_certificate = TlsConfig::new().add_root_certificate(CLIENT_KEY);
        assert!(matches!(key_as_certificate, Err(Error::Config(_))));
        let certificate_as_key = TlsConfig::new().identity(CLIENT, CLIENT);
        assert!(matches!(certificate_as_key, Err(Error::Config(_))));
        for proxy in ["socks5://h:1", "https://h:1", "not a url"] {
            let error = TlsConfig::new().proxy(proxy).expect_err(proxy);
            assert!(matches!(error, Error::Config(_)), "{proxy}: {error:?}");
        }
    }

    #[test]
    fn debug_shows_neither_the_key_nor_the_proxy_password() {
        let tls = TlsConfig::new()
            .add_root_certificate(CA)
            .expect("the test CA parses")
            .identity(CLIENT, CLIENT_KEY)
            .expect("the test client identity parses")
            .proxy("http://user:hunter2@proxy.test:3128")
            .expect("a proxy URL");
        let shown = format!("{tls:?}");
        let key_body = std::str::from_utf8(CLIENT_KEY)
            .expect("PEM is text")
            .lines()
            .nth(1)
            .expect("a key line");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains(key_body), "{shown}");
        assert!(shown.contains("extra_roots: 1"), "{shown}");
        assert!(shown.contains("proxy.test:3128"), "{shown}");
    }

    #[test]
    fn both_sides_accept_the_settings() {
        let tls = TlsConfig::new()
            .add_root_certificate(CA)
            .expect("the test CA parses")
            .identity(CLIENT, CLIENT_KEY)
            .expect("the test client identity parses")
            .proxy("http://proxy.test:3128")
            .expect("a proxy URL");
        tls.apply_to_http(reqwest::Client::builder())
            .expect("reqwest takes them")
            .build()
            .expect("the HTTP client builds");
        let config = tls.websocket_config().expect("rustls takes them");
        assert!(config.client_auth_cert_resolver.has_certs());
    }
}
