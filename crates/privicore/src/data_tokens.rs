//! Listing, deleting and classifying data tokens. (Storing and retrieving go through the
//! vault, which encrypts and decrypts on the way.)

use futures::stream::BoxStream;

use privicore_api::types;

use crate::types::{DataTokenItem, DataTokenList};

use crate::paging::{DEFAULT_PER_PAGE, Paginator};
use crate::{Result, Session};

/// The data tokens of a session.
#[derive(Clone, Debug)]
pub struct DataTokens {
    session: Session,
}

impl DataTokens {
    pub(crate) fn new(session: Session) -> Self {
        Self { session }
    }

    /// The session the generated data-token operations (`generated/data_token.rs`) run on.
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// Lists the session's data tokens, page by page.
    ///
    /// ```no_run
    /// # async fn run(session: privicore::Session) -> privicore::Result<()> {
    /// use futures::TryStreamExt;
    ///
    /// let mut tokens = session.data_tokens().list().context("invoices/2026-Q1").per_page(100).stream();
    /// while let Some(token) = tokens.try_next().await? {
    ///     println!("{}", token.token);
    /// }
    ///
    /// // Page by page, eight pages in flight at once.
    /// let mut pages = session.data_tokens().list().into_paginator().window(8).pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("page {}: {} tokens of {:?}", page.number(), page.len(), page.total());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListDataTokens {
        ListDataTokens {
            session: self.session.clone(),
            per_page: DEFAULT_PER_PAGE,
            filters: Filters::default(),
        }
    }

    /// Deletes a data token and waits until the deletion is acknowledged.
    ///
    /// # Errors
    ///
    /// [`Error::Api`](crate::Error::Api) with status 404 for an unknown token;
    /// [`Error::CommandRejected`](crate::Error::CommandRejected) when the server refuses.
    pub async fn delete(&self, token: &str) -> Result<()> {
        let body = types::DeleteDataBody {
            token: token.to_owned(),
        };
        self.session
            .command("delete_data", |raw| {
                raw.delete_data().body(body.clone()).send()
            })
            .await
            .map(drop)
    }

    /// Sets a data token's information-security risk metadata (all three fields are required
    /// by the official documentation).
    ///
    /// # Errors
    ///
    /// As [`DataTokens::delete`].
    pub async fn set_risk_meta(
        &self,
        token: &str,
        classification: &str,
        label: &str,
        handling: &str,
    ) -> Result<()> {
        let body = types::ConfigureRiskMetaBody {
            token: token.to_owned(),
            classification: classification.to_owned(),
            label: label.to_owned(),
            handling: handling.to_owned(),
        };
        self.session
            .command("configure_risk_meta", |raw| {
                raw.configure_risk_meta().body(body.clone()).send()
            })
            .await
            .map(drop)
    }
}

#[derive(Clone, Debug, Default)]
struct Filters {
    context: Option<String>,
    file_name: Option<String>,
    extension: Option<String>,
    data_type: Option<String>,
    token: Option<String>,
}

/// A data-token listing: page size, filters, then [`stream`](ListDataTokens::stream),
/// [`collect`](ListDataTokens::collect), or [`into_paginator`](ListDataTokens::into_paginator)
/// for pages and the fetch window.
#[derive(Clone, Debug)]
#[must_use]
pub struct ListDataTokens {
    session: Session,
    per_page: u64,
    filters: Filters,
}

impl ListDataTokens {
    /// Items per page (default 100; at least 1).
    pub fn per_page(mut self, per_page: u64) -> Self {
        self.per_page = per_page.max(1);
        self
    }

    /// Only tokens with this context (`filters[context]`).
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.filters.context = Some(context.into());
        self
    }

    /// Only tokens with this file name (`filters[meta.file.fileName]`).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.filters.file_name = Some(name.into());
        self
    }

    /// Only tokens with this extension (`filters[meta.file.extension]`).
    pub fn extension(mut self, extension: impl Into<String>) -> Self {
        self.filters.extension = Some(extension.into());
        self
    }

    /// Only tokens with this data type (`filters[meta.data.type]`).
    pub fn data_type(mut self, data_type: impl Into<String>) -> Self {
        self.filters.data_type = Some(data_type.into());
        self
    }

    /// Only this token (`filters[token]`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.filters.token = Some(token.into());
        self
    }

    /// The listing as a [`Paginator`] (operation `list_data_tokens`), for its pages or a
    /// [`window`](Paginator::window) other than the default.
    pub fn into_paginator(self) -> Paginator<DataTokenItem> {
        const OP: &str = "list_data_tokens";
        let Self {
            session,
            per_page,
            filters,
        } = self;
        Paginator::for_operation(OP, move |page, per_page| {
            let session = session.clone();
            let filters = filters.clone();
            async move {
                let raw_list = session
                    .read(OP, |raw| {
                        let mut request = raw.list_data_tokens().page(page).per_page(per_page);
                        if let Some(v) = &filters.context {
                            request = request.filters_context(v.as_str());
                        }
                        if let Some(v) = &filters.file_name {
                            request = request.filters_meta_file_file_name(v.as_str());
                        }
                        if let Some(v) = &filters.extension {
                            request = request.filters_meta_file_extension(v.as_str());
                        }
                        if let Some(v) = &filters.data_type {
                            request = request.filters_meta_data_type(v.as_str());
                        }
                        if let Some(v) = &filters.token {
                            request = request.filters_token(v.as_str());
                        }
                        request.send()
                    })
                    .await?;
                let list: DataTokenList = crate::handler_support::mirror(OP, &raw_list)?;
                // A negative count is the bare-array answer's "not told".
                Ok((list.items, u64::try_from(list.meta.count).ok()))
            }
        })
        .per_page(per_page)
    }

    /// Every matching token, in order, a few pages fetched at once once the total is known
    /// ([`Paginator::items`] with the default window).
    pub fn stream(self) -> BoxStream<'static, Result<DataTokenItem>> {
        self.into_paginator().items()
    }

    /// Every matching token, collected.
    ///
    /// # Errors
    ///
    /// The first [`Error`](crate::Error) of any page.
    pub async fn collect(self) -> Result<Vec<DataTokenItem>> {
        self.into_paginator().collect().await
    }
}
