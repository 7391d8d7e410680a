//! Profile provisioning and key registration, in the order the protocol settles: register
//! the profile (no token exists yet, so its outcome is polled), authenticate (which works
//! before a key is registered), then register the signed public key.

use secrecy::SecretString;

use privicore_api::types;

use crate::keys::{KeyPair, SignedPublicKey};
use crate::{Client, Error, Result, Session};

impl Client {
    /// Takes a new username and password to a profile ready for use: registers the profile,
    /// logs in, and registers `key_pair`'s signed public key, awaiting every acknowledgement.
    ///
    /// ```no_run
    /// # async fn run(client: privicore::Client) -> privicore::Result<()> {
    /// use privicore::KeyPair;
    /// use secrecy::SecretString;
    ///
    /// let keys = KeyPair::generate();
    /// let session = client
    ///     .provision("bob@example.com", SecretString::from("a long passphrase"), &keys)
    ///     .await?;
    /// assert_eq!(session.public_key().await?, keys.signed_public_key());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 409 when the username is taken; any error of the three steps.
    pub async fn provision(
        &self,
        username: &str,
        password: SecretString,
        key_pair: &KeyPair,
    ) -> Result<Session> {
        self.register_profile(username, &password).await?;
        let session = self.login(username, password).await?;
        session
            .register_public_key(&key_pair.signed_public_key())
            .await?;
        Ok(session)
    }
}

impl Session {
    /// Registers (or replaces) the profile's signed public key and waits for the
    /// acknowledgement.
    ///
    /// # Errors
    ///
    /// [`Error::CommandRejected`] when the server refuses the key; any [`Error`] of the call.
    pub async fn register_public_key(&self, key: &SignedPublicKey) -> Result<()> {
        let body = types::RegisterPublicKeyBody {
            public_key: key
                .as_str()
                .parse()
                .map_err(|_| Error::Key("the signed public key is not 200 characters".into()))?,
        };
        self.command("register_public_key", |raw| {
            raw.register_public_key().body(body.clone()).send()
        })
        .await
        .map(drop)
    }

    /// The profile's registered public key, verified (version tag and BLAKE2b-512 hash).
    ///
    /// # Errors
    ///
    /// [`Error::Key`] when the server's key is malformed; any [`Error`] of the call.
    pub async fn public_key(&self) -> Result<SignedPublicKey> {
        let key = self
            .read("retrieve_public_key", |raw| {
                raw.retrieve_public_key().send()
            })
            .await?;
        SignedPublicKey::parse(&key.public_key)
            .map_err(|e| Error::Key(format!("the profile's public key: {e}")))
    }

    /// The engine's (CAB) public key, verified.
    ///
    /// # Errors
    ///
    /// As [`Session::public_key`].
    pub async fn cab_public_key(&self) -> Result<SignedPublicKey> {
        let key = self
            .read("retrieve_cab_public_key", |raw| {
                raw.retrieve_cab_public_key().send()
            })
            .await?;
        SignedPublicKey::parse(&key.public_key)
            .map_err(|e| Error::Key(format!("the engine's public key: {e}")))
    }
}
