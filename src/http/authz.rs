//! Who may do what: the one table of permissions by role, and the token scope each needs.
//!
//! Every handler names the [`Permission`] it exercises (`caller.require(..)`); object-level
//! rules (an official sees only the documents assigned to them, signs only with their own
//! keys; a job is read by whoever started it) are checked by the handler against the object
//! it loaded, through the helpers here, never by trusting an id the client sent.

use crate::archive::accounts::{Role, Scope};

/// One kind of action on the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Receive a dossier, list and read dossiers, move them through their steps.
    DossierWrite,
    DossierRead,
    /// Upload documents, edit their metadata, run OCR, ask an official to sign.
    DocumentWrite,
    /// Read documents and their versions (officials: only those assigned to them).
    DocumentRead,
    /// Sign with one's own keys; see one's queue.
    Sign,
    /// Search the archive.
    Search,
    /// Export dossiers as BagIt packages.
    Export,
    /// Office statistics.
    Stats,
    /// Verify the audit trail.
    AuditVerify,
    /// Users, API tokens of others, signing keys, trust anchors, procedure catalogue, metrics.
    Admin,
    /// One's own API tokens.
    OwnTokens,
}

impl Permission {
    /// Short English name, used in the 403 message.
    pub fn action(self) -> &'static str {
        match self {
            Permission::DossierWrite => "receive or change dossiers",
            Permission::DossierRead => "read dossiers",
            Permission::DocumentWrite => "upload or edit documents",
            Permission::DocumentRead => "read documents",
            Permission::Sign => "sign documents",
            Permission::Search => "search the archive",
            Permission::Export => "export dossiers",
            Permission::Stats => "read statistics",
            Permission::AuditVerify => "verify the audit trail",
            Permission::Admin => "administer the service",
            Permission::OwnTokens => "manage API tokens",
        }
    }

    /// The API token scope this permission needs.
    pub fn scope(self) -> Scope {
        match self {
            Permission::DossierRead
            | Permission::DocumentRead
            | Permission::Search
            | Permission::Export
            | Permission::Stats
            | Permission::AuditVerify => Scope::Read,
            Permission::DossierWrite | Permission::DocumentWrite => Scope::Write,
            Permission::Sign => Scope::Sign,
            Permission::Admin | Permission::OwnTokens => Scope::Admin,
        }
    }
}

/// The role table (issue #7): clerks receive and digitize, officials sign, archivists read
/// and export without editing, admins run the service but do not read dossiers.
pub fn role_allows(role: Role, permission: Permission) -> bool {
    use Permission as P;
    match role {
        Role::Clerk => matches!(
            permission,
            P::DossierWrite
                | P::DossierRead
                | P::DocumentWrite
                | P::DocumentRead
                | P::Search
                | P::OwnTokens
        ),
        Role::Official => matches!(permission, P::Sign | P::DocumentRead | P::OwnTokens),
        Role::Archivist => matches!(
            permission,
            P::DossierRead
                | P::DocumentRead
                | P::Search
                | P::Export
                | P::Stats
                | P::AuditVerify
                | P::OwnTokens
        ),
        Role::Admin => matches!(
            permission,
            P::Admin | P::Stats | P::AuditVerify | P::OwnTokens
        ),
    }
}

/// Officials read only what they were asked to sign (or signed); other readers read all.
pub fn reads_only_assigned(role: Role) -> bool {
    role == Role::Official
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archivists_never_write_and_admins_never_read_documents() {
        for write in [
            Permission::DossierWrite,
            Permission::DocumentWrite,
            Permission::Sign,
        ] {
            assert!(!role_allows(Role::Archivist, write));
        }
        for read in [
            Permission::DocumentRead,
            Permission::DossierRead,
            Permission::Search,
        ] {
            assert!(!role_allows(Role::Admin, read));
        }
        assert!(role_allows(Role::Official, Permission::Sign));
        assert!(!role_allows(Role::Clerk, Permission::Sign));
        assert!(!role_allows(Role::Official, Permission::Search));
    }
}
