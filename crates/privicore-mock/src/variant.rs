//! Named wire variants: one preset [`MockConfig`] per reading of an open point
//! (docs/protocol.md §14), so a test, the `privicore-mock` binary and the `privicore mock`
//! command can all say which wire they serve with one word.

use std::fmt;
use std::str::FromStr;

use crate::config::{
    CommandAnswer, DataAnswer, ListAnswer, MockConfig, OAuthPlacement, ReauthorizeAnswer,
    RefreshAnswer, RequestStatusMethod, UploadAnswer,
};

/// How many type-0 status texts [`Variant::StatusMessages`] sends before each data answer:
/// more than one, so a client that stops waiting after the first is caught.
pub const STATUS_MESSAGES: usize = 2;

/// A named wire: [`Variant::Probe`] (the default) is the aligned probe's reading of every
/// open point, and every other variant differs from it at exactly one point, playing another
/// reading the sources allow.
///
/// ```
/// use privicore_mock::{RequestStatusMethod, Variant};
///
/// let variant: Variant = "status-get-only".parse()?;
/// assert_eq!(variant.config().request_status_method, RequestStatusMethod::Get);
/// assert_eq!(variant.to_string(), "status-get-only");
/// assert!(Variant::all().contains(&variant));
/// # Ok::<(), privicore_mock::UnknownVariant>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Variant {
    /// `probe`: the live wire as the aligned probe (docs/protocol.md §1.1, PROBE) describes
    /// it, which is also [`MockConfig::default`]: `stream` as the full upload URI (§14.1),
    /// request-status by `POST` (§14.2), small data answered inline (§14.3, the guides: the
    /// probe does not read `output_type`), `202` with a JSON id (§14.4), reauthorize answering
    /// `200` with a new token (§14.5), lists in the `{items, meta}` envelope (§14.6), and a
    /// rotated refresh token (§10.4).
    #[default]
    Probe,
    /// `upload-stream-server`: retrieve-temporary-data-token names a stream server id, port
    /// and `auth` token, as the official "Upstream file via stream auth" page does
    /// (docs/protocol.md §14.1).
    UploadStreamServer,
    /// `upload-stream-url`: the full upload URI as `streamUrl`, the alias an earlier spec
    /// used; no source names it (docs/protocol.md §14.1).
    UploadStreamUrl,
    /// `status-get-only`: request-status answers `GET` only (`POST` is `405`), as the
    /// official register-profile page, the navigation and the legacy client send it
    /// (docs/protocol.md §5.6, §14.2).
    StatusGetOnly,
    /// `status-messages`: [`STATUS_MESSAGES`] type-0 status texts before every data answer,
    /// and the answer always a download link (no inline answers), as the official "Data
    /// download messages" page reads `output_type` (docs/protocol.md §5.5, §14.3).
    StatusMessages,
    /// `writes-200`: commands accepted with `200` and a JSON id, which the probes accept for
    /// several commands and no source rules out (docs/protocol.md §14.4).
    Writes200,
    /// `writes-200-text`: commands accepted with `200` and the bare id as `text/plain`, which
    /// the probe's id reader also takes (docs/protocol.md §14.4).
    Writes200Text,
    /// `writes-202-text`: commands accepted with `202` and the bare id as `text/plain`
    /// (docs/protocol.md §14.4).
    Writes202Text,
    /// `reauthorize-async`: reauthorize answers `202` and a command id, the new expiry taking
    /// effect when the command settles; the probe accepts it and says to await the ack
    /// (docs/protocol.md §4.2, §14.5).
    ReauthorizeAsync,
    /// `lists-bare`: the two lists answer their items as a bare JSON array, which no source
    /// excludes (docs/protocol.md §12, §14.6).
    ListsBare,
    /// `refresh-no-rotation`: refresh-access-token answers no new refresh token, which the
    /// official page allows ("a new refresh token is not guaranteed", docs/protocol.md §10.4).
    RefreshNoRotation,
    /// `refresh-same-token`: refresh-access-token repeats the refresh token it was sent
    /// (docs/protocol.md §10.4).
    RefreshSameToken,
    /// `oauth-bearer-only`: an OAuth access token is accepted only as
    /// `Authorization: Bearer`, as the token answer's `type: bearer` suggests; no source says
    /// which header the server reads (docs/protocol.md §10.5, §14.7).
    OAuthBearerOnly,
}

/// Every variant, [`Variant::Probe`] first.
const ALL: [Variant; 13] = [
    Variant::Probe,
    Variant::UploadStreamServer,
    Variant::UploadStreamUrl,
    Variant::StatusGetOnly,
    Variant::StatusMessages,
    Variant::Writes200,
    Variant::Writes200Text,
    Variant::Writes202Text,
    Variant::ReauthorizeAsync,
    Variant::ListsBare,
    Variant::RefreshNoRotation,
    Variant::RefreshSameToken,
    Variant::OAuthBearerOnly,
];

impl Variant {
    /// Every variant, [`Variant::Probe`] first.
    pub fn all() -> &'static [Variant] {
        &ALL
    }

    /// The variant's name, as `--variant` takes it (e.g. `status-get-only`).
    pub fn name(self) -> &'static str {
        match self {
            Variant::Probe => "probe",
            Variant::UploadStreamServer => "upload-stream-server",
            Variant::UploadStreamUrl => "upload-stream-url",
            Variant::StatusGetOnly => "status-get-only",
            Variant::StatusMessages => "status-messages",
            Variant::Writes200 => "writes-200",
            Variant::Writes200Text => "writes-200-text",
            Variant::Writes202Text => "writes-202-text",
            Variant::ReauthorizeAsync => "reauthorize-async",
            Variant::ListsBare => "lists-bare",
            Variant::RefreshNoRotation => "refresh-no-rotation",
            Variant::RefreshSameToken => "refresh-same-token",
            Variant::OAuthBearerOnly => "oauth-bearer-only",
        }
    }

    /// The section of docs/protocol.md that records the point this variant reads
    /// differently from the probe (`"§14"` for [`Variant::Probe`], which reads them all).
    pub fn section(self) -> &'static str {
        match self {
            Variant::Probe => "§14",
            Variant::UploadStreamServer | Variant::UploadStreamUrl => "§14.1",
            Variant::StatusGetOnly => "§14.2",
            Variant::StatusMessages => "§14.3",
            Variant::Writes200 | Variant::Writes200Text | Variant::Writes202Text => "§14.4",
            Variant::ReauthorizeAsync => "§14.5",
            Variant::ListsBare => "§14.6",
            Variant::RefreshNoRotation | Variant::RefreshSameToken => "§10.4",
            Variant::OAuthBearerOnly => "§14.7",
        }
    }

    /// One line on what the variant serves, for `--help`.
    pub fn summary(self) -> &'static str {
        match self {
            Variant::Probe => "the aligned probe's wire (the default)",
            Variant::UploadStreamServer => "upload target as stream_server_id, port and auth",
            Variant::UploadStreamUrl => "upload target as a streamUrl field",
            Variant::StatusGetOnly => "request-status by GET only (POST is 405)",
            Variant::StatusMessages => "status texts before every data answer, no inline data",
            Variant::Writes200 => "commands accepted with 200 and a JSON id",
            Variant::Writes200Text => "commands accepted with 200 and a bare text/plain id",
            Variant::Writes202Text => "commands accepted with 202 and a bare text/plain id",
            Variant::ReauthorizeAsync => "reauthorize answers 202 and settles by command",
            Variant::ListsBare => "lists answer a bare JSON array",
            Variant::RefreshNoRotation => "OAuth refresh answers no new refresh token",
            Variant::RefreshSameToken => "OAuth refresh repeats the refresh token",
            Variant::OAuthBearerOnly => {
                "OAuth access tokens accepted as Authorization: Bearer only"
            }
        }
    }

    /// The settings this variant serves.
    pub fn config(self) -> MockConfig {
        let mut wire = MockConfig::default();
        match self {
            Variant::Probe => {}
            Variant::UploadStreamServer => wire.upload_answer = UploadAnswer::StreamServer,
            Variant::UploadStreamUrl => wire.upload_answer = UploadAnswer::StreamUrlAlias,
            Variant::StatusGetOnly => wire.request_status_method = RequestStatusMethod::Get,
            Variant::StatusMessages => {
                wire.data_answer = DataAnswer::StatusThenLink {
                    status_messages: STATUS_MESSAGES,
                }
            }
            Variant::Writes200 => wire.command_answer = CommandAnswer::Ok,
            Variant::Writes200Text => wire.command_answer = CommandAnswer::OkPlainText,
            Variant::Writes202Text => wire.command_answer = CommandAnswer::AcceptedPlainText,
            Variant::ReauthorizeAsync => wire.reauthorize_answer = ReauthorizeAnswer::Command,
            Variant::ListsBare => wire.list_answer = ListAnswer::BareArray,
            Variant::RefreshNoRotation => wire.refresh_answer = RefreshAnswer::WithoutRefreshToken,
            Variant::RefreshSameToken => wire.refresh_answer = RefreshAnswer::SameRefreshToken,
            Variant::OAuthBearerOnly => wire.oauth_placement = OAuthPlacement::BearerOnly,
        }
        wire
    }

    /// Every variant's name, comma-separated, for messages.
    pub fn names() -> String {
        ALL.map(Variant::name).join(", ")
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = UnknownVariant;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ALL.into_iter()
            .find(|v| v.name() == name)
            .ok_or_else(|| UnknownVariant {
                name: name.to_owned(),
            })
    }
}

/// A name that is not a [`Variant`]'s; its message lists the valid names.
///
/// ```
/// let error = "status-post".parse::<privicore_mock::Variant>().unwrap_err();
/// assert!(error.to_string().starts_with("unknown wire variant `status-post`; valid: probe, "));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown wire variant `{name}`; valid: {}", Variant::names())]
pub struct UnknownVariant {
    /// The name given.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings in which `a` and `b` differ, by field name.
    fn differing(a: MockConfig, b: MockConfig) -> Vec<&'static str> {
        let MockConfig {
            upload_answer,
            request_status_method,
            data_answer,
            command_answer,
            reauthorize_answer,
            list_answer,
            refresh_answer,
            oauth_placement,
        } = a;
        let mut fields = Vec::new();
        let mut differs = |name, same: bool| {
            if !same {
                fields.push(name);
            }
        };
        differs("upload_answer", upload_answer == b.upload_answer);
        differs(
            "request_status_method",
            request_status_method == b.request_status_method,
        );
        differs("data_answer", data_answer == b.data_answer);
        differs("command_answer", command_answer == b.command_answer);
        differs(
            "reauthorize_answer",
            reauthorize_answer == b.reauthorize_answer,
        );
        differs("list_answer", list_answer == b.list_answer);
        differs("refresh_answer", refresh_answer == b.refresh_answer);
        differs("oauth_placement", oauth_placement == b.oauth_placement);
        fields
    }

    #[test]
    fn the_probe_is_the_default() {
        assert_eq!(Variant::default(), Variant::Probe);
        assert_eq!(Variant::Probe.config(), MockConfig::default());
        assert_eq!(Variant::all()[0], Variant::Probe);
    }

    #[test]
    fn names_parse_back_and_are_distinct() {
        let mut names = std::collections::HashSet::new();
        for &variant in Variant::all() {
            assert_eq!(variant.name().parse::<Variant>(), Ok(variant));
            assert_eq!(variant.to_string(), variant.name());
            assert!(names.insert(variant.name()), "{variant} named twice");
            assert_eq!(MockConfig::variant(variant), variant.config());
        }
        assert_eq!(
            "Probe".parse::<Variant>(),
            Err(UnknownVariant {
                name: "Probe".into()
            }),
            "names are exact"
        );
    }

    /// Each variant plays one other reading of the point its section records, and nothing
    /// else: the setting that section is about (written out here, not taken from the code
    /// under test) is the only one that differs from the probe's.
    #[test]
    fn each_variant_changes_only_the_setting_of_its_section() {
        let setting_of = |section: &str| match section {
            "§14.1" => "upload_answer",
            "§14.2" => "request_status_method",
            "§14.3" => "data_answer",
            "§14.4" => "command_answer",
            "§14.5" => "reauthorize_answer",
            "§14.6" => "list_answer",
            "§10.4" => "refresh_answer",
            "§14.7" => "oauth_placement",
            other => panic!("no setting for {other}"),
        };
        let mut configs = Vec::new();
        for &variant in &Variant::all()[1..] {
            let changed = differing(variant.config(), MockConfig::default());
            assert_eq!(changed, [setting_of(variant.section())], "{variant}");
            assert!(
                !configs.contains(&variant.config()),
                "{variant} repeats another"
            );
            configs.push(variant.config());
        }
    }

    /// The presets, each spelt out against its name: a preset swapped for another reading
    /// of the same point is caught here.
    #[test]
    fn each_preset_is_the_reading_its_name_says() {
        use Variant as V;
        let wire = |v: V| v.config();
        assert_eq!(
            wire(V::UploadStreamServer).upload_answer,
            UploadAnswer::StreamServer
        );
        assert_eq!(
            wire(V::UploadStreamUrl).upload_answer,
            UploadAnswer::StreamUrlAlias
        );
        assert_eq!(
            wire(V::StatusGetOnly).request_status_method,
            RequestStatusMethod::Get
        );
        assert_eq!(
            wire(V::StatusMessages).data_answer,
            DataAnswer::StatusThenLink { status_messages: 2 }
        );
        assert_eq!(wire(V::Writes200).command_answer, CommandAnswer::Ok);
        assert_eq!(
            wire(V::Writes200Text).command_answer,
            CommandAnswer::OkPlainText
        );
        assert_eq!(
            wire(V::Writes202Text).command_answer,
            CommandAnswer::AcceptedPlainText
        );
        assert_eq!(
            wire(V::ReauthorizeAsync).reauthorize_answer,
            ReauthorizeAnswer::Command
        );
        assert_eq!(wire(V::ListsBare).list_answer, ListAnswer::BareArray);
        assert_eq!(
            wire(V::RefreshNoRotation).refresh_answer,
            RefreshAnswer::WithoutRefreshToken
        );
        assert_eq!(
            wire(V::RefreshSameToken).refresh_answer,
            RefreshAnswer::SameRefreshToken
        );
        assert_eq!(
            wire(V::OAuthBearerOnly).oauth_placement,
            OAuthPlacement::BearerOnly
        );
        // And the probe's own readings (docs/protocol.md §14, the probe's column).
        let probe = MockConfig::default();
        assert_eq!(probe.upload_answer, UploadAnswer::StreamUri);
        assert_eq!(probe.request_status_method, RequestStatusMethod::Post);
        assert_eq!(probe.data_answer, DataAnswer::InlineOrLink);
        assert_eq!(probe.command_answer, CommandAnswer::Accepted);
        assert_eq!(probe.reauthorize_answer, ReauthorizeAnswer::NewToken);
        assert_eq!(probe.list_answer, ListAnswer::Envelope);
        assert_eq!(probe.refresh_answer, RefreshAnswer::Rotated);
        assert_eq!(probe.oauth_placement, OAuthPlacement::DptHeaderOnly);
    }

    #[test]
    fn an_unknown_name_lists_every_valid_one() {
        let error = "lists-enveloped".parse::<Variant>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown wire variant `lists-enveloped`; valid: probe, upload-stream-server, \
             upload-stream-url, status-get-only, status-messages, writes-200, writes-200-text, \
             writes-202-text, reauthorize-async, lists-bare, refresh-no-rotation, \
             refresh-same-token, oauth-bearer-only"
        );
    }
}
