//! Full-text search over documents (issue #6). The index is filled by `reindex`, called in
//! every write transaction of `documents`; the search index itself comes next.

use sqlx::{Postgres, Sqlite, Transaction};

use super::ArchiveError;
use super::tx::Tx;

/// The statements of the search index, on an open transaction of either backend.
pub(super) trait SearchTx: Tx {}

impl SearchTx for Transaction<'_, Postgres> {}
impl SearchTx for Transaction<'_, Sqlite> {}

/// Refreshes the search entry of `document_id` from its newest version.
pub(super) async fn reindex<T: SearchTx>(
    _tx: &mut T,
    _document_id: i64,
) -> Result<(), ArchiveError> {
    Ok(())
}
