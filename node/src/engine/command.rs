//! The commands a user can give, as they travel over the control API (JSON, tagged by `cmd`).
//!
//! The CLI sends these to a running node, or executes them on the store directly when none runs:
//! one code path either way.

use serde::{Deserialize, Serialize};

/// One user command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Identity, peers, counts and the state digest.
    Status,
    /// The effective catalogue and stationings, optionally of one hall: a page of them (items come
    /// before stationings, in record order).
    Items {
        /// Only this hall's stationings.
        hall: Option<String>,
        /// Only items whose code, name or department contains this text.
        #[serde(default)]
        search: Option<String>,
        /// The cursor: the previous page's `next`.
        #[serde(default)]
        after: Option<String>,
        /// Entries in the page (default 200, at most 1000).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// A page of the stationings of one hall (this node's when absent), without the catalogue.
    Stationings {
        /// The hall.
        #[serde(default)]
        hall: Option<String>,
        /// The cursor: the previous page's `next`.
        #[serde(default)]
        after: Option<String>,
        /// Entries in the page.
        #[serde(default)]
        limit: Option<usize>,
    },
    /// A page of the proposals this node's administrator may decide.
    Pending {
        /// The cursor: the previous page's `next`.
        #[serde(default)]
        after: Option<String>,
        /// Entries in the page.
        #[serde(default)]
        limit: Option<usize>,
    },
    /// A page of the changes received but not applied, with reasons.
    Quarantine {
        /// The cursor: the previous page's `next`.
        #[serde(default)]
        after: Option<String>,
        /// Entries in the page.
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Creates or adjusts a catalogue item with all its elements (city administrator).
    ItemCreate(hallsync_model::records::item::ItemFields),
    /// Proposes stationing an item at a hall (an operator of that hall).
    StationPropose(super::stationing::StationRequest),
    /// Records the publication of an approved withdrawal (S5).
    StationPublish {
        /// The item code.
        item: String,
        /// The hall; this node's hall when absent.
        hall: Option<String>,
        /// management or department.
        by: String,
        /// Where it was published.
        channels: String,
    },
    /// Files a window-staff member (ST 6.2.1); approved by the supervising tier.
    StaffFile {
        /// The hall; this node's when absent.
        hall: Option<String>,
        /// The filing.
        fields: hallsync_model::records::staff::StaffFields,
    },
    /// Records training, duty or departure of a filed person.
    StaffStep(super::staff::StaffStep),
    /// The staff roster.
    StaffList {
        /// Only this hall.
        hall: Option<String>,
    },
    /// Proposes a department's stationing or withdrawal at a hall (S7, S8).
    Department {
        /// The hall; this node's when absent.
        hall: Option<String>,
        /// The filing.
        fields: hallsync_model::records::department::DepartmentFields,
    },
    /// The departments stationed.
    DepartmentList {
        /// Only this hall.
        hall: Option<String>,
    },
    /// Opens a case at this hall (收件).
    CaseOpen {
        /// The item.
        item: String,
        /// The handling hall (办理地).
        handling: String,
        /// The case number.
        case_no: String,
        /// The applicant's id: sealed to the parties, with a keyed hash only they can compute.
        applicant_id: String,
        /// The applicant's name (sealed with the id).
        #[serde(default)]
        applicant_name: Option<String>,
    },
    /// Moves a case to its next state.
    CaseStep {
        /// The case record id, case/ACCEPTING/HANDLING/NO.
        case: String,
        /// The state to enter.
        to: String,
        /// Materials missing (correction) or deferred (容缺).
        #[serde(default)]
        materials: Vec<String>,
        /// Reason or outcome.
        #[serde(default)]
        note: String,
        /// 容缺受理: the day deferred materials are due (K5).
        #[serde(default)]
        supply_by: Option<String>,
        /// Issue mode: window or mail.
        #[serde(default)]
        mode: Option<String>,
    },
    /// Erases an archived case's personal data now (D1), at one of its parties.
    CaseErase {
        /// The case record id, case/ACCEPTING/HANDLING/NO.
        case: String,
    },
    /// A page of the cases held, with deadlines; at a party, with the applicant opened (each
    /// display logged, see [`crate::engine::access_log`]).
    Cases {
        /// Only overdue ones.
        #[serde(default)]
        overdue: bool,
        /// Who asks, for the access log (the console names its session); the CLI leaves it out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// Only the cases of this applicant (GB 11643 id): a party's lookup by the keyed reference.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        applicant_id: Option<String>,
        /// Only cases in this state (received, accepted, decided, …).
        #[serde(default)]
        state: Option<String>,
        /// The cursor: the previous page's `next`.
        #[serde(default)]
        after: Option<String>,
        /// Entries in the page.
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Approves a pending proposal.
    Approve {
        /// The proposal id from `pending`.
        id: String,
    },
    /// Rejects a pending proposal.
    Reject {
        /// The proposal id from `pending`.
        id: String,
        /// Why (required).
        reason: String,
    },
    /// Issues a certificate and an invitation token (administrator).
    Invite(super::membership::InviteRequest),
    /// Proposes an approval policy for an action (city administrator; another must approve it).
    PolicySet {
        /// The action governed, e.g. stationing.
        action: String,
        /// Distinct approvers required.
        approvers_required: u8,
        /// supervisor or city.
        approver_tier: String,
    },
    /// The approval policies in effect, and a pending change of them.
    PolicyShow,
    /// The working-day calendar of a year.
    CalendarShow {
        /// The year.
        year: i32,
    },
    /// Publishes a year's holiday arrangement (city administrator).
    CalendarSet {
        /// The year.
        year: i32,
        /// Official days off, YYYY-MM-DD, space or comma separated.
        off_days: String,
        /// Weekend days that are working days.
        make_up_workdays: String,
        /// The State Council notice it comes from.
        source: String,
    },
    /// The due date of a limit in working days (W2: the start day is not counted).
    CalendarDue {
        /// The start day, YYYY-MM-DD.
        from: String,
        /// The limit in working days.
        days: u32,
    },
    /// Revokes a device's certificates, or one certificate (administrator of a higher hall).
    Revoke {
        /// The device whose certificates to revoke.
        device: Option<String>,
        /// One certificate to revoke.
        cert: Option<String>,
        /// Why (required).
        reason: String,
    },
    /// Replaces this device's key (only with the node stopped).
    RotateKey,
    /// Explains one record: every change, its signer's certificates, approvals, and why.
    Audit {
        /// The record id: trust, item/CODE or station/HALL/CODE.
        record: String,
    },
    /// Writes a backup of this node (config, key, a consistent copy of the store) to `out`, an
    /// absolute path that must not exist (see [`crate::backup`]).
    Backup {
        /// Where.
        out: String,
    },
    /// Adds an address to dial to the config (`network.peers`); a running node dials it at once.
    PeerAdd {
        /// The full address, with `/p2p/`.
        addr: String,
    },
    /// Removes an address, or every address of a peer id, from the config; a running node stops
    /// dialling it and closes its connections.
    PeerRemove {
        /// The address or the peer id.
        target: String,
    },
    /// Takes the node off the network or back (a running node only).
    Net {
        /// True to go online.
        online: bool,
    },
    /// Imports catalogue items from a table (header row first); nothing is imported if any row is bad.
    CatalogueImport {
        /// The table's rows, as read from CSV or XLSX by the CLI.
        rows: Vec<Vec<String>>,
        /// Only check and report.
        dry_run: bool,
        /// One part of a larger import: parts are staged in memory, and the last applies them all
        /// in one transaction, so an import is whole or absent whatever stops it. Without it, the
        /// rows are imported at once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        part: Option<ImportPart>,
    },
    /// A page of the effective records of one kind as a table (the header row first on the first
    /// page), for export.
    Records {
        /// items or stationing.
        kind: String,
        /// The cursor: the previous page's `next`.
        #[serde(default)]
        after: Option<String>,
        /// Rows in the page.
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Imports a bundle of signed changes (sneakernet, or a test acting as a peer).
    BundleImport {
        /// Hex of a postcard-encoded list of envelopes.
        bundle: String,
    },
    /// Rebuilds every record from its signed changes and reports any difference from what is held.
    StoreCheck,
    /// Exports every applied change as a bundle.
    BundleExport,
    /// Stops a running node.
    Shutdown,
    /// The halls at and below this node's hall, as a tree.
    Halls,
    /// The latest displays of personal data on this node (D2).
    AccessLog {
        /// How many entries (default 100).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// A one-time sign-in link to the administrators' console (a running node only: the control
    /// server answers it, see [`crate::console`]).
    ConsoleLink,
}

impl Command {
    /// The first page of the catalogue and stationings (of `hall`, when given).
    pub fn items(hall: Option<String>) -> Command {
        Command::Items {
            hall,
            search: None,
            after: None,
            limit: None,
        }
    }

    /// The first page of the proposals this administrator may decide.
    pub fn pending() -> Command {
        Command::Pending {
            after: None,
            limit: None,
        }
    }

    /// The first page of the quarantine.
    pub fn quarantine() -> Command {
        Command::Quarantine {
            after: None,
            limit: None,
        }
    }

    /// The first page of the cases (only overdue ones, when asked).
    pub fn cases(overdue: bool) -> Command {
        Command::Cases {
            overdue,
            by: None,
            applicant_id: None,
            state: None,
            after: None,
            limit: None,
        }
    }

    /// The same listing command at another page; `None` for commands that are not listings.
    pub fn at_page(&self, after: Option<String>) -> Option<Command> {
        let mut next = self.clone();
        match &mut next {
            Command::Items { after: a, .. }
            | Command::Stationings { after: a, .. }
            | Command::Pending { after: a, .. }
            | Command::Quarantine { after: a, .. }
            | Command::Cases { after: a, .. }
            | Command::Records { after: a, .. } => *a = after,
            _ => return None,
        }
        Some(next)
    }
}

/// Which part of a staged catalogue import a [`Command::CatalogueImport`] carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPart {
    /// The import's id, chosen by the client (at most 64 characters).
    pub import: String,
    /// The part's number, from 0, in order.
    pub index: u32,
    /// True for the last part: the import is applied now.
    pub last: bool,
}
