//! The audit record of changes to the trust anchors managed through the service
//! (`pipeline::trust_admin`): the certificates themselves live in files (the managed trust
//! folder), not in the database, but who added or removed which one is part of the audit
//! trail (`trust.add`, `trust.remove`), like every other change an administrator makes.

use time::OffsetDateTime;

use super::audit::{AuditRecord, append};
use super::dossiers::checked_actor;
use super::tx::Begin;
use super::{Archive, ArchiveError, Db, stored_time};
use crate::digest::Sha256Digest;

/// What happened to a managed trust anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustChange {
    /// Added to the managed folder (`trust.add`).
    Add,
    /// Removed from the managed folder (`trust.remove`).
    Remove,
}

impl TrustChange {
    /// The audit action.
    pub fn action(self) -> &'static str {
        match self {
            TrustChange::Add => "trust.add",
            TrustChange::Remove => "trust.remove",
        }
    }
}

/// One anchor in a [`Archive::record_trust_changes`] entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustChangeRecord {
    pub fingerprint: Sha256Digest,
    /// The certificate's subject, as `trust` shows it.
    pub subject: String,
    pub not_after: OffsetDateTime,
}

impl Archive {
    /// Appends one audit entry per anchor (`object_kind` `trust_anchor`, `object_id` the
    /// SHA-256 fingerprint), all in one transaction. Returns the sequence number of the last
    /// entry (`None` when `anchors` is empty: nothing is written).
    ///
    /// # Errors
    /// [`ArchiveError::FieldInvalid`] (actor), [`ArchiveError::Database`].
    pub async fn record_trust_changes(
        &self,
        change: TrustChange,
        anchors: &[TrustChangeRecord],
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, ArchiveError> {
        let actor = checked_actor(actor)?;
        if anchors.is_empty() {
            return Ok(None);
        }
        let now = stored_time(now);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let mut last = None;
            for anchor in anchors {
                let id = anchor.fingerprint.to_hex();
                let entry = append(&mut tx, AuditRecord {
                    actor: &actor,
                    action: change.action(),
                    object_kind: "trust_anchor",
                    object_id: &id,
                    details: serde_json::json!({
                        "subject": anchor.subject,
                        "not_after": anchor.not_after.unix_timestamp(),
                    }),
                }, now).await?;
                last = Some(entry.seq);
            }
            tx.commit().await?;
            Ok(last)
        })
    }
}
