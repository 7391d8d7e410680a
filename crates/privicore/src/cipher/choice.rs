//! Which AES-256-GCM engine runs: the public [`Engine`] setting, the `PRIVICORE_GCM_ENGINE`
//! environment variable, and what the processor can run.
//!
//! The choice is explicit so that it can be tested: CI runs the cipher and vault tests once
//! per engine the machine supports, and asking for an engine the processor cannot run is an
//! error, never a silent fallback to another one.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use super::CipherError;

/// An AES-256-GCM implementation. Both produce the same bytes; they differ in speed and in
/// the processors they run on.
///
/// Set it on the client with [`ClientBuilder::gcm_engine`](crate::ClientBuilder::gcm_engine),
/// per call with [`encrypt_with`](super::encrypt_with) and friends, or for the whole process
/// with the environment variable `PRIVICORE_GCM_ENGINE=auto|portable|wide` ([`Engine::ENV`]),
/// which is read once.
///
/// ```
/// use privicore::cipher::Engine;
///
/// let engine: Engine = "portable".parse()?;
/// assert_eq!(engine, Engine::Portable);
/// assert_eq!(engine.to_string(), "portable");
/// assert_eq!(engine.resolve()?, Engine::Portable);
/// // `Auto` resolves to the fastest engine this processor runs.
/// assert!(Engine::Auto.resolve()?.is_available());
/// # Ok::<(), privicore::CipherError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Engine {
    /// The wide engine where the processor supports it, the portable one elsewhere.
    #[default]
    Auto,
    /// RustCrypto's `aes`, `ctr` and `ghash` (which use AES-NI and PCLMULQDQ where they
    /// exist). Runs everywhere.
    Portable,
    /// This crate's own x86-64 engine: sixteen blocks per pass with VAES and VPCLMULQDQ,
    /// keystream and GHASH together. Needs AES-NI, PCLMULQDQ, AVX2, VAES and VPCLMULQDQ.
    Wide,
}

impl Engine {
    /// The environment variable that sets the process-wide engine: `auto`, `portable` or
    /// `wide` (unset or empty means `auto`).
    pub const ENV: &'static str = "PRIVICORE_GCM_ENGINE";

    /// The name used by [`Display`](fmt::Display), [`FromStr`] and [`Engine::ENV`].
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Portable => "portable",
            Self::Wide => "wide",
        }
    }

    /// Whether this processor can run the engine (`Auto` and `Portable` always can).
    #[must_use]
    pub fn is_available(self) -> bool {
        match self {
            Self::Auto | Self::Portable => true,
            Self::Wide => wide_supported(),
        }
    }

    /// The engine that actually runs for this setting: `Auto` becomes `Wide` or `Portable`,
    /// the others stay as they are.
    ///
    /// # Errors
    ///
    /// [`CipherError::EngineUnavailable`] when the processor cannot run the engine asked for
    /// (`Wide` without VAES, VPCLMULQDQ, AVX2, AES-NI or PCLMULQDQ).
    pub fn resolve(self) -> Result<Self, CipherError> {
        match self {
            Self::Auto if wide_supported() => Ok(Self::Wide),
            Self::Auto | Self::Portable => Ok(Self::Portable),
            Self::Wide if wide_supported() => Ok(Self::Wide),
            Self::Wide => Err(CipherError::EngineUnavailable { engine: self }),
        }
    }

    /// The process-wide engine setting from [`Engine::ENV`], read once (later changes to the
    /// environment are not seen). Unset or empty means [`Engine::Auto`].
    ///
    /// # Errors
    ///
    /// [`CipherError::UnknownEngine`] when the variable holds anything but `auto`, `portable`
    /// or `wide` (or is not Unicode); every call that uses the process-wide engine then fails
    /// with it.
    pub fn from_env() -> Result<Self, CipherError> {
        static FROM_ENV: OnceLock<Result<Engine, CipherError>> = OnceLock::new();
        *FROM_ENV.get_or_init(|| match std::env::var(Self::ENV) {
            Ok(value) => Self::from_setting(Some(&value)),
            Err(std::env::VarError::NotPresent) => Ok(Self::Auto),
            Err(std::env::VarError::NotUnicode(_)) => Err(CipherError::UnknownEngine),
        })
    }

    /// Parses a setting as [`Engine::from_env`] does: absent or empty is `Auto`.
    pub(crate) fn from_setting(value: Option<&str>) -> Result<Self, CipherError> {
        match value.map(str::trim) {
            None | Some("") => Ok(Self::Auto),
            Some(name) => name.parse(),
        }
    }

    /// The engine that the calls without an explicit engine use: [`Engine::from_env`],
    /// resolved.
    pub(crate) fn process_default() -> Result<Self, CipherError> {
        Self::from_env()?.resolve()
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = CipherError;

    /// `auto`, `portable` or `wide`, in any case.
    fn from_str(text: &str) -> Result<Self, CipherError> {
        [Self::Auto, Self::Portable, Self::Wide]
            .into_iter()
            .find(|engine| text.eq_ignore_ascii_case(engine.name()))
            .ok_or(CipherError::UnknownEngine)
    }
}

fn wide_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::wide::supported();
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// Which engine the calls without an explicit engine run in this process, for diagnostics and
/// benchmark reports: `"wide"` or `"portable"` (see [`Engine`]), after [`Engine::ENV`] and the
/// processor have had their say. `"unavailable"` when [`Engine::ENV`] names an unknown engine
/// or one this processor cannot run; those calls then fail with that error.
///
/// ```
/// assert!(["wide", "portable"].contains(&privicore::cipher::engine()));
/// ```
#[must_use]
pub fn engine() -> &'static str {
    Engine::process_default().map_or("unavailable", Engine::name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_both_ways() {
        for engine in [Engine::Auto, Engine::Portable, Engine::Wide] {
            assert_eq!(engine.to_string().parse(), Ok(engine));
            assert_eq!(Engine::from_setting(Some(engine.name())), Ok(engine));
        }
        assert_eq!("WIDE".parse(), Ok(Engine::Wide));
        assert_eq!(Engine::from_setting(None), Ok(Engine::Auto));
        assert_eq!(Engine::from_setting(Some(" ")), Ok(Engine::Auto));
        for bad in ["vaes", "fast", "portable,wide", "0"] {
            assert_eq!(
                Engine::from_setting(Some(bad)),
                Err(CipherError::UnknownEngine),
                "{bad}"
            );
        }
    }

    #[test]
    fn wide_is_an_error_exactly_where_the_processor_lacks_it() {
        let supported = wide_supported();
        assert_eq!(Engine::Wide.is_available(), supported);
        let expected = if supported {
            Ok(Engine::Wide)
        } else {
            Err(CipherError::EngineUnavailable {
                engine: Engine::Wide,
            })
        };
        assert_eq!(Engine::Wide.resolve(), expected);
        assert_eq!(
            Engine::Auto.resolve(),
            Ok(if supported {
                Engine::Wide
            } else {
                Engine::Portable
            })
        );
        assert_eq!(Engine::Portable.resolve(), Ok(Engine::Portable));
        eprintln!("wide AES-GCM engine available on this machine: {supported}");
    }
}
