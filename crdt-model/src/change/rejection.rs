//! Why a received change was not applied: the reasons shown in `hallsync quarantine`.

use serde::{Deserialize, Serialize};

/// The reason a change sits in quarantine. Each names the rule it broke and what would fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rejection {
    /// The bytes are not a well-formed change, or the change does things records never do.
    #[error("malformed change: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The signature does not verify for the named author.
    #[error(
        "bad signature: the envelope is not signed by the author it names (forged or corrupted)"
    )]
    BadSignature,
    /// The automerge actor of the change is not the signing key.
    #[error("actor mismatch: the change's automerge actor is not the signer's key (a change re-signed by someone else)")]
    ActorMismatch,
    /// No valid certificate is known for the author yet.
    #[error("unknown key: author {author} holds no valid certificate in this network (yet); it is retried when certificates arrive")]
    UnknownAuthor {
        /// Short id of the author.
        author: String,
    },
    /// The author's certificates do not allow this write (yet: a certificate that arrives later
    /// may, so it is retried).
    #[error("out of scope: {reason}")]
    OutOfScope {
        /// Which rule the write breaks.
        reason: String,
    },
    /// The change breaks a rule whoever signs it and whatever arrives later: a field, key or value
    /// the record does not take, or a domain rule judged on the record's own causal past. Final:
    /// never retried.
    #[error("invalid ({}): {reason}", rule.id())]
    Invalid {
        /// The rule broken.
        rule: Rule,
        /// What is wrong.
        reason: String,
    },
    /// An approval by someone who is not an administrator of the supervising tier.
    #[error("not an approver: {author} is not an administrator of the tier that supervises hall {hall} (village → township, township → district, district → city, city → city)")]
    NotApprover {
        /// Short id of the author.
        author: String,
        /// The hall whose record it tried to approve.
        hall: String,
    },
    /// An approval of a proposal its own author made (maker-checker).
    #[error("self-approval: {author} approved changes it wrote itself; maker-checker requires another person to approve")]
    SelfApproval {
        /// Short id of the author.
        author: String,
    },
    /// An approval naming heads that are not in its own causal past.
    #[error("approval of unknown changes: it names heads that it did not depend on")]
    ApprovalOfUnknown,
    /// The author's certificate was revoked and the revocation does not keep this change.
    #[error("revoked: {author}'s certificate was revoked ({reason}, revocation {revocation}) and this change is not among those it keeps")]
    Revoked {
        /// Short id of the author.
        author: String,
        /// The revocation.
        revocation: String,
        /// Its reason.
        reason: String,
    },
    /// The change's timestamp lies outside the validity period of every certificate that would allow it.
    #[error("expired: {author}'s certificate is not valid at the time this change claims; ask for a new certificate")]
    Expired {
        /// Short id of the author.
        author: String,
    },
    /// Changes it depends on have not arrived (or were themselves refused).
    #[error("missing dependency: {missing} change(s) it builds on are not here; it is retried when they arrive")]
    MissingDependency {
        /// How many dependencies are missing.
        missing: usize,
    },
    /// Two different changes with the same actor and sequence number.
    #[error("equivocation: two different changes carry actor {actor} and sequence number {seq}; neither is applied, both are shown to administrators")]
    Equivocation {
        /// Short hex of the actor.
        actor: String,
        /// The sequence number.
        seq: u64,
    },
    /// A local edit that writes every value as it already is: there is nothing to sign.
    #[error("nothing to change: every value is already as given")]
    Unchanged,
    /// The document is valid but belongs to another network.
    #[error("wrong document: {reason}")]
    WrongDocument {
        /// Why.
        reason: String,
    },
}

/// A rule whose breach is final (see [`Rejection::Invalid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The shape of a record: its fields, keys and value kinds, one kind of write per change.
    Shape,
    /// A case moves only along its state machine (YC 6).
    CaseStates,
    /// S4: a withdrawal is approved only with its written reason and legal basis.
    S4,
    /// S7: a department is stationed only with its plan, letter of authorisation and filing.
    S7,
    /// S8: a department withdraws only with its application and archives handover.
    S8,
    /// K11: a case between two halls is for an item whose cross-region scope reaches.
    K11,
}

impl Rule {
    /// The rule's id, as docs/RULES.md names it.
    pub fn id(self) -> &'static str {
        match self {
            Rule::Shape => "record shape",
            Rule::CaseStates => "YC 6",
            Rule::S4 => "S4",
            Rule::S7 => "S7",
            Rule::S8 => "S8",
            Rule::K11 => "K11",
        }
    }
}

impl Rejection {
    /// A change of a shape the record does not take.
    pub fn shape(reason: String) -> Rejection {
        Rejection::Invalid {
            rule: Rule::Shape,
            reason,
        }
    }

    /// True when later arrivals (certificates, dependencies) could make the change valid, so it is
    /// retried; false when nothing can (a bad signature stays bad).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Rejection::UnknownAuthor { .. }
                | Rejection::MissingDependency { .. }
                | Rejection::OutOfScope { .. }
                | Rejection::NotApprover { .. }
                | Rejection::Revoked { .. }
        )
    }

    /// A short machine-readable name for JSON and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed { .. } => "malformed",
            Rejection::BadSignature => "bad_signature",
            Rejection::ActorMismatch => "actor_mismatch",
            Rejection::UnknownAuthor { .. } => "unknown_author",
            Rejection::OutOfScope { .. } => "out_of_scope",
            Rejection::Invalid { .. } => "invalid",
            Rejection::NotApprover { .. } => "not_approver",
            Rejection::SelfApproval { .. } => "self_approval",
            Rejection::ApprovalOfUnknown => "approval_of_unknown",
            Rejection::MissingDependency { .. } => "missing_dependency",
            Rejection::Revoked { .. } => "revoked",
            Rejection::Expired { .. } => "expired",
            Rejection::Equivocation { .. } => "equivocation",
            Rejection::WrongDocument { .. } => "wrong_document",
            Rejection::Unchanged => "unchanged",
        }
    }
}
