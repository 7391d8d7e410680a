//! Where the four listeners of a running server are.

/// The base URLs of the four listeners, without a trailing slash.
#[derive(Clone, Debug)]
pub(crate) struct Urls {
    pub api: String,
    pub ws: String,
    pub stream: String,
    /// The stream listener's port, answered as `stream_server_port`
    /// ([`UploadAnswer::StreamServer`](crate::UploadAnswer::StreamServer)).
    pub stream_port: u16,
    pub download: String,
}
