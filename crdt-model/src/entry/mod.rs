//! Entry rules: what is checked when a person proposes something, as pure functions over the
//! replica's view.
//!
//! The node's commands and the simulator's workload call the same functions, so the simulator
//! produces only traffic the product can produce, and a rule changed here changes both. Each
//! function returns what to write (or the rule broken, as [`EntryError`]); signing and storing is
//! the caller's. Rules that a receiver can check from a record's own causal past are also checked on
//! receipt (S4 in the approval rules); the ones here depend on other records (the catalogue, the
//! trust tree) and so are checked where the proposal is made.

pub mod applicant;
pub mod case;
pub mod department;
pub mod staff;
pub mod station;

/// A proposal that breaks an entry rule. Each variant names its rule (DOMAIN-REFERENCE ids, see
/// docs/RULES.md) and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The item is not in the catalogue this node holds.
    #[error("item {item} is not in the catalogue this node holds; create it or wait for it to sync (C3)")]
    UnknownItem {
        /// The item code.
        item: String,
    },
    /// C4: the item's guide is incomplete.
    #[error("C4 (ST 5.2.2): item {item}'s guide lacks {missing} — complete the catalogue item before stationing it")]
    GuideIncomplete {
        /// The item code.
        item: String,
        /// The missing elements, in words.
        missing: String,
    },
    /// Adjust or withdraw of an item that is not stationed.
    #[error("item {item} is not stationed at hall {hall} (no approved stationing): nothing to {action} (ST 5.3.4, 8.1.1)")]
    NotStationed {
        /// The item code.
        item: String,
        /// The hall.
        hall: String,
        /// adjust or withdraw.
        action: &'static str,
    },
    /// S4: a withdrawal without its reason or legal basis.
    #[error("S4 (ST 8.1.1): a withdrawal needs --reason and --basis (its legal basis)")]
    WithdrawalUnexplained,
    /// A value outside its list.
    #[error("`{value}` is not a {what}: use {allowed}")]
    NotInList {
        /// What kind of value.
        what: &'static str,
        /// What was given.
        value: String,
        /// The values allowed.
        allowed: String,
    },
    /// K11: the hall that would handle a case does not exist in this network.
    #[error(
        "K11 (DG 5.3.8): hall {hall} is not a hall of this network; give the handling hall's id"
    )]
    UnknownHall {
        /// The hall given.
        hall: String,
    },
    /// K11: the item is not stationed at the handling hall.
    #[error("K11 (DG 5.3.8): item {item} is not stationed at handling hall {hall}; a case goes to a hall that handles the item")]
    NotHandledThere {
        /// The item code.
        item: String,
        /// The handling hall.
        hall: String,
    },
    /// K11: the item's cross-region scope does not reach from the accepting to the handling hall.
    #[error("K11 (DG 5.3.8–5.3.9): item {item} has cross-region scope {scope}; a case from hall {accepting} to hall {handling} is outside it")]
    OutsideCrossRegionScope {
        /// The item code.
        item: String,
        /// Its scope.
        scope: String,
        /// The accepting hall.
        accepting: String,
        /// The handling hall.
        handling: String,
    },
    /// A case number that is not 1 to 40 ASCII letters, digits or '-'.
    #[error("case number `{case_no}`: use 1 to 40 ASCII letters, digits or '-'")]
    BadCaseNumber {
        /// What was given (cut).
        case_no: String,
    },
    /// The case exists already.
    #[error("case {case} already exists")]
    CaseExists {
        /// The case's record id.
        case: String,
    },
    /// A staff filing that breaks its own rules (P1, P2, shapes, ST 9.1), or that does not exist.
    #[error("{reason}")]
    Filing {
        /// What is wrong, naming the rule.
        reason: String,
    },
    /// P4: the departure would leave the window with nobody on duty.
    #[error("P4 先进后出 (ST 6.3.3): nobody else is on duty at window {window} on {on}; the replacement must be on duty before {person} leaves")]
    WindowLeftEmpty {
        /// The window.
        window: String,
        /// Who would leave.
        person: String,
        /// The day.
        on: String,
    },
    /// S8: staff filed or put on duty for a department withdrawn from the hall.
    #[error("S8 (ST 7): department {department} has withdrawn from hall {hall}: file or put on duty staff of a department stationed there")]
    DepartmentWithdrawn {
        /// The department.
        department: String,
        /// The hall.
        hall: String,
    },
    /// ST 6.2.1: staff filed for a department id with no approved stationing at the hall.
    #[error("ST 6.2.1: department {department} is not stationed at hall {hall}: give the id of a department whose stationing is approved there (`hallsync dept list`)")]
    DepartmentNotStationed {
        /// The department id given.
        department: String,
        /// The hall.
        hall: String,
    },
    /// S8: a department withdrawn while items it implements are still stationed at the hall.
    #[error("S8 (ST 7): department {department} still has stationed items [{items}] at hall {hall}; withdraw them first")]
    DepartmentHasItems {
        /// The department's name.
        department: String,
        /// The hall.
        hall: String,
        /// The items, comma-separated.
        items: String,
    },
    /// A department filing that breaks S7 or S8, or is of the wrong shape.
    #[error("{reason}")]
    DepartmentFiling {
        /// What is wrong, naming the rule.
        reason: String,
    },
    /// The applicant's id is not a valid resident identity number.
    #[error("the applicant's id {reason} (GB 11643: 18 characters, 17 digits and a check character 0–9 or X)")]
    BadApplicantId {
        /// What is wrong.
        reason: String,
    },
    /// No device of a party hall has announced a sealing key, so its personal data could not be
    /// sealed to it (D3).
    #[error("hall {hall} has no sealing key announced yet, so the applicant's data cannot be sealed to it (D3): its node announces one once it runs with its certificate; sync with it and try again")]
    NoSealingKey {
        /// The hall.
        hall: String,
    },
    /// Sealing failed (too much personal data).
    #[error("the applicant's data cannot be sealed: {reason}")]
    Seal {
        /// Why.
        reason: String,
    },
    /// A case's personal data cannot be erased (D1).
    #[error("case {case}'s personal data cannot be erased: {reason}")]
    Erasure {
        /// The case.
        case: String,
        /// Why, naming the rule.
        reason: String,
    },
}
