//! The effective view: what the records say once only approved content counts.
//!
//! Catalogue items take effect when written (city administrators need no approval). A stationing's
//! content change takes effect once the approval policy's number of distinct approvers of the right
//! tier have approved heads that include it; since an approval covers the whole causal past of its
//! heads, the effective changes are causally closed and the record is read as of them. Content that
//! is neither effective nor covered by a rejection is the pending proposal, with an id approvers name.
//! The policy record is read the same way, with one approval by another city administrator.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ChangeHash, ReadDoc, ScalarValue, Value, ROOT};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::doc_id::{DocId, DocKind};
use crate::hall::{HallId, Level};
use crate::identity::DeviceId;
use crate::records::approval::{closure, proposal_id, Decision};
use crate::records::policy::{ApprovalPolicy, ApproverTier, ACTIONS, POLICY_PREFIX};
use crate::records::station::StationAction;
use crate::replica::{DocState, Replica};
use crate::trust::cert::{RecordKind, Role};

/// A catalogue item's view, from its record.
pub fn item_view(state: &DocState) -> Option<ItemView> {
    let fields = crate::records::item::ItemFields::from_doc(state.doc())?;
    let code_warning =
        crate::records::item_code::code_problem(fields.code.as_str(), fields.item_type.gb_code());
    Some(ItemView {
        type_label: fields.item_type.zh().to_string(),
        missing_elements: fields
            .missing_guide_elements()
            .iter()
            .map(|m| m.to_string())
            .collect(),
        code_warning,
        fields,
    })
}

/// What every stationing view of one listing shares (see [`Replica::station_context`]).
pub struct StationContext {
    policy: ApprovalPolicy,
    calendar: crate::calendar::Calendar,
    now_ms: Option<i64>,
}

/// A catalogue item as every hall sees it, with what the standards say about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemView {
    /// Every element.
    #[serde(flatten)]
    pub fields: crate::records::item::ItemFields,
    /// The type's Chinese label.
    pub type_label: String,
    /// Guide elements still missing before the item may be stationed (C4).
    pub missing_elements: Vec<String>,
    /// Why the code breaks C1/C2, when it is kept as a legacy code.
    pub code_warning: Option<String>,
}

/// Read back from its JSON (the CLI reads the node's answers typed): the item's elements sit beside
/// the view's own fields, and [`crate::records::item::ItemFields`] refuses fields it does not know,
/// so the view's are taken out first.
impl<'de> Deserialize<'de> for ItemView {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let mut take = |key: &str| map.remove(key).unwrap_or(serde_json::Value::Null);
        let type_label = serde_json::from_value(take("type_label")).map_err(D::Error::custom)?;
        let missing_elements =
            serde_json::from_value(take("missing_elements")).map_err(D::Error::custom)?;
        let code_warning =
            serde_json::from_value(take("code_warning")).map_err(D::Error::custom)?;
        let fields =
            serde_json::from_value(serde_json::Value::Object(map)).map_err(D::Error::custom)?;
        Ok(ItemView {
            fields,
            type_label,
            missing_elements,
            code_warning,
        })
    }
}

/// The state of one item's stationing at one hall.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationView {
    /// The hall.
    pub hall: String,
    /// The item.
    pub item: String,
    /// `approved`, `pending`, `rejected`, or `approved+pending` when a change awaits approval.
    pub status: String,
    /// The approved action, if any approval took effect.
    pub effective_action: Option<StationAction>,
    /// The pending proposal, if any.
    pub pending: Option<Proposal>,
    /// The reason of the latest rejection, if any.
    pub rejected_reason: Option<String>,
    /// An approved withdrawal and its publication deadline (S5).
    pub withdrawal: Option<WithdrawalView>,
    /// A rule the record breaks, e.g. S6: withdrawn without an approved withdrawal.
    pub violation: Option<String>,
}

/// An approved withdrawal and its publication (ST 8.1.2, 8.2.1; S5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalView {
    /// Reason kind.
    pub reason_kind: String,
    /// Written reason.
    pub reason: String,
    /// Legal basis.
    pub basis: String,
    /// The day the withdrawal was approved (China Standard Time).
    pub approved_on: String,
    /// Publication due: 3 working days after approval.
    pub publish_due: String,
    /// True when the due date rests on a year whose notice is not loaded (W6).
    pub provisional: bool,
    /// Published by the management department.
    pub published_by_management: bool,
    /// Published by the department.
    pub published_by_department: bool,
    /// The day it was published by both (the later side's first publication).
    pub published_on: Option<String>,
    /// Working days it was published after the due date, when it was late (S5): kept once it is
    /// published, when `overdue` clears.
    pub published_late_working_days: Option<i64>,
    /// Past due and not published by both (only known when asked with a time).
    pub overdue: bool,
}

/// Content awaiting a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Short id to pass to `approve` / `reject`.
    pub id: String,
    /// The record.
    pub doc: String,
    /// The hall whose record it is (the city's, for the policy record).
    pub hall: String,
    /// The item (or, for the policy record, the actions changed).
    pub item: String,
    /// The proposed action.
    pub action: String,
    /// Who wrote the undecided changes (device ids).
    pub proposers: Vec<String>,
    /// The heads an approval would name, hex.
    pub heads: Vec<String>,
    /// Distinct counted approvers who approved these heads so far.
    pub approvals: usize,
    /// Distinct approvers the policy requires.
    pub approvals_required: usize,
    /// Who has approved so far (device ids).
    pub approved_by: Vec<String>,
    /// When it was proposed: the latest undecided change's timestamp (its signer's claim), ms
    /// since the Unix epoch.
    #[serde(default)]
    pub proposed_at_ms: i64,
    /// What approving it would change, field by field: the record as effective now against the
    /// record with the proposal, so an approver reads what it approves.
    #[serde(default)]
    pub changes: Vec<FieldChange>,
    /// Rules the proposal touches that an approver should weigh (C4, S4, S5, P3…), in words.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One field a proposal changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The record's key (`reason`, `person`, `window`…).
    pub field: String,
    /// Its effective value now; `None` when absent (a new record, or a field it never had).
    pub before: Option<String>,
    /// Its value once approved; `None` when the proposal removes it.
    pub after: Option<String>,
}

/// Keys of decisions and publications, which are not content a proposal changes.
fn is_content_key(key: &str) -> bool {
    !key.starts_with(crate::records::approval::APPROVAL_PREFIX)
        && !key.starts_with(crate::records::withdrawal::PUBLICATION_PREFIX)
}

/// What approving would change: every content key whose value with the undecided changes differs
/// from its value as of the effective ones (an empty text counts as absent: forms write the fields
/// a person left blank).
fn field_changes(state: &DocState, effective: &BTreeSet<ChangeHash>) -> Vec<FieldChange> {
    let doc = state.doc();
    let heads: Vec<ChangeHash> = effective.iter().copied().collect();
    let mut keys: BTreeSet<String> = doc.keys(ROOT).filter(|k| is_content_key(k)).collect();
    if !heads.is_empty() {
        keys.extend(doc.keys_at(ROOT, &heads).filter(|k| is_content_key(k)));
    }
    keys.into_iter()
        .filter_map(|field| {
            let before = if heads.is_empty() {
                None
            } else {
                text_at(doc, &field, Some(&heads)).filter(|v| !v.is_empty())
            };
            let after = text_at(doc, &field, None).filter(|v| !v.is_empty());
            (before != after).then_some(FieldChange {
                field,
                before,
                after,
            })
        })
        .collect()
}

/// When the latest of `changes` says it was made, ms since the Unix epoch (0 when none says).
fn latest_timestamp(state: &DocState, changes: &[ChangeHash]) -> i64 {
    changes
        .iter()
        .filter_map(|h| state.envelopes.get(h))
        .filter_map(|e| crate::change::envelope::parse_change(&e.change).ok())
        .map(|c| c.timestamp())
        .max()
        .unwrap_or(0)
}

/// The current text (or integer, as text) at a root key.
pub(crate) fn text_of(doc: &automerge::Automerge, key: &str) -> Option<String> {
    text_at(doc, key, None)
}

pub(crate) fn text_at(
    doc: &automerge::Automerge,
    key: &str,
    heads: Option<&[ChangeHash]>,
) -> Option<String> {
    let value = match heads {
        Some(h) => doc.get_at(ROOT, key, h).ok()??,
        None => doc.get(ROOT, key).ok()??,
    };
    match value.0 {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            ScalarValue::Int(n) => Some(n.to_string()),
            _ => None,
        },
        Value::Object(_) => None,
    }
}

/// What a governed record's decisions add up to.
pub struct Governed {
    /// Content changes approved by enough counted approvers.
    pub effective: BTreeSet<ChangeHash>,
    /// Content neither effective nor covered by a counted rejection.
    pub undecided: Vec<ChangeHash>,
    /// Counted approvers whose approvals cover every undecided change.
    pub approved_undecided: BTreeSet<DeviceId>,
    /// The latest counted rejection's reason.
    pub rejected_reason: Option<String>,
}

pub(crate) fn govern(
    state: &DocState,
    policy: ApprovalPolicy,
    counts: impl Fn(&DeviceId) -> bool,
) -> Governed {
    let mut approvers_of: BTreeMap<ChangeHash, BTreeSet<DeviceId>> = BTreeMap::new();
    let mut rejected: BTreeSet<ChangeHash> = BTreeSet::new();
    let mut rejected_reason = None;
    let mut latest_reject = i64::MIN;
    for d in state.decisions().iter().filter(|d| counts(&d.by)) {
        let covered = closure(&d.heads, &state.deps);
        match d.decision {
            Decision::Approve => {
                for h in covered {
                    approvers_of.entry(h).or_default().insert(d.by);
                }
            }
            Decision::Reject => {
                rejected.extend(covered);
                if d.at_ms >= latest_reject {
                    latest_reject = d.at_ms;
                    rejected_reason = d.reason.clone();
                }
            }
        }
    }
    let required = usize::from(policy.approvers_required);
    let effective: BTreeSet<ChangeHash> = state
        .content
        .iter()
        .filter(|h| approvers_of.get(h).is_some_and(|a| a.len() >= required))
        .copied()
        .collect();
    let undecided: Vec<ChangeHash> = state
        .content
        .iter()
        .filter(|h| !effective.contains(h) && !rejected.contains(h))
        .copied()
        .collect();
    let approved_undecided = undecided
        .iter()
        .map(|h| approvers_of.get(h).cloned().unwrap_or_default())
        .reduce(|a, b| a.intersection(&b).copied().collect())
        .unwrap_or_default();
    Governed {
        effective,
        undecided,
        approved_undecided,
        rejected_reason,
    }
}

impl Replica {
    /// The effective catalogue, by code. Opens every item: listings use [`Replica::page`] with
    /// [`item_view`] instead.
    pub fn items(&self) -> Vec<ItemView> {
        self.records_where(|id| matches!(id.kind(), DocKind::Item(_)))
            .filter_map(|(_, state)| item_view(&state))
            .collect()
    }

    /// One item, by code.
    pub fn item(&self, code: &str) -> Option<ItemView> {
        let code = crate::doc_id::ItemCode::new(code).ok()?;
        item_view(&*self.record(&DocId::item(&code))?)
    }

    /// One stationing record's view, now.
    pub fn station(&self, hall: &HallId, code: &crate::doc_id::ItemCode) -> Option<StationView> {
        let id = DocId::station(hall, code);
        let state = self.record(&id)?;
        self.station_view_of(&id, &state, &self.station_context(None))
    }

    /// What [`Replica::station_view_of`] needs that is the same for every record: computed once
    /// per listing, not once per record.
    pub fn station_context(&self, now_ms: Option<i64>) -> StationContext {
        StationContext {
            policy: self.policy_for("stationing"),
            calendar: self.calendar(),
            now_ms,
        }
    }

    /// One stationing record's view, with overdue publications flagged as of the context's time.
    pub fn station_view_of(
        &self,
        id: &DocId,
        state: &DocState,
        cx: &StationContext,
    ) -> Option<StationView> {
        let mut view = self.station_view(id, state, cx.policy)?;
        view.withdrawal = self.withdrawal_view(state, cx.policy, &cx.calendar, cx.now_ms, &view);
        Some(view)
    }

    pub(crate) fn city_hall(&self) -> Option<HallId> {
        self.trust()
            .halls()
            .values()
            .find(|h| h.level == Level::City)
            .map(|h| h.id.clone())
    }

    pub(crate) fn is_admin_at(
        &self,
        device: &DeviceId,
        hall: Option<&HallId>,
        kind: RecordKind,
    ) -> bool {
        hall.is_some_and(|hall| {
            self.trust()
                .active_certs_of(device)
                .chain(self.trust().standing_certs_of(device).map(|(c, _)| c))
                .any(|c| {
                    c.body.role == Role::Admin && &c.body.hall == hall && c.body.scope.allows(kind)
                })
        })
    }

    /// How a hall's governed record (stationing, staff filing, department) stands under the policy
    /// for `action`: its decisions counted for the tier the policy names, for `kind`.
    pub(crate) fn governed(
        &self,
        state: &DocState,
        hall: &HallId,
        action: &str,
        kind: RecordKind,
    ) -> (Governed, ApprovalPolicy) {
        let policy = self.policy_for(action);
        let tier = match policy.approver_tier {
            ApproverTier::Supervisor => self.trust().supervisor_of(hall),
            ApproverTier::City => self.city_hall(),
        };
        (
            govern(state, policy, |who| {
                self.is_admin_at(who, tier.as_ref(), kind)
            }),
            policy,
        )
    }

    /// How `doc`'s decisions stand under the policy that governs it — the one governance function
    /// every view uses (items, pending, audit): stationings and departments under the stationing
    /// policy, staff filings under the staff policy, the policy record under one city
    /// administrator. `None` for records no approval governs (catalogue, calendar, trust, cases).
    pub fn governance(&self, doc: &DocId, state: &DocState) -> Option<(Governed, ApprovalPolicy)> {
        match doc.kind() {
            DocKind::Station(hall, _) | DocKind::Department(hall, _) => {
                Some(self.governed(state, hall, "stationing", RecordKind::Stationing))
            }
            DocKind::Staff(hall, _) => Some(self.governed(state, hall, "staff", RecordKind::Staff)),
            DocKind::Policy => {
                let city = self.city_hall();
                let policy = ApprovalPolicy {
                    approvers_required: 1,
                    approver_tier: ApproverTier::City,
                };
                let g = govern(state, policy, |who| {
                    self.is_admin_at(who, city.as_ref(), RecordKind::Policy)
                });
                Some((g, policy))
            }
            _ => None,
        }
    }

    /// The policy in effect for `action`: the approved policy record, or the default.
    pub fn policy_for(&self, action: &str) -> ApprovalPolicy {
        self.policies().get(action).copied().unwrap_or_default()
    }

    /// Every action's policy in effect.
    pub fn policies(&self) -> BTreeMap<String, ApprovalPolicy> {
        let Some(state) = self.record(&DocId::policy()) else {
            return BTreeMap::new();
        };
        let state = &*state;
        let Some((g, _)) = self.governance(&DocId::policy(), state) else {
            return BTreeMap::new();
        };
        let heads: Vec<ChangeHash> = g.effective.iter().copied().collect();
        if heads.is_empty() {
            return BTreeMap::new();
        }
        ACTIONS
            .iter()
            .filter_map(|action| {
                let text = text_at(
                    state.doc(),
                    &format!("{POLICY_PREFIX}{action}"),
                    Some(&heads),
                )?;
                ApprovalPolicy::parse(&text).map(|p| (action.to_string(), p))
            })
            .collect()
    }

    /// Every stationing record, by hall then item.
    pub fn stations(&self) -> Vec<StationView> {
        self.stations_at(None)
    }

    /// Every stationing record, with overdue publications flagged as of `now_ms` when given.
    pub fn stations_at(&self, now_ms: Option<i64>) -> Vec<StationView> {
        let cx = self.station_context(now_ms);
        self.records_where(|id| matches!(id.kind(), DocKind::Station(..)))
            .filter_map(|(id, state)| self.station_view_of(id, &state, &cx))
            .collect()
    }

    /// When the latest approval of a withdrawal in `state` was signed, counting only the
    /// administrators of the tier `policy` names for `hall`: the day a stationing's withdrawal (S5)
    /// or a department's (S8) took effect.
    pub(crate) fn withdrawal_approved_at(
        &self,
        state: &DocState,
        hall: &HallId,
        policy: ApprovalPolicy,
    ) -> Option<i64> {
        let tier = match policy.approver_tier {
            ApproverTier::Supervisor => self.trust().supervisor_of(hall),
            ApproverTier::City => self.city_hall(),
        };
        state
            .decisions()
            .iter()
            .filter(|d| {
                d.decision == Decision::Approve
                    && self.is_admin_at(&d.by, tier.as_ref(), RecordKind::Stationing)
                    && text_at(state.doc(), "action", Some(&d.heads)).as_deref() == Some("withdraw")
            })
            .map(|d| d.at_ms)
            .max()
    }

    fn withdrawal_view(
        &self,
        state: &DocState,
        policy: ApprovalPolicy,
        calendar: &crate::calendar::Calendar,
        now_ms: Option<i64>,
        view: &StationView,
    ) -> Option<WithdrawalView> {
        use crate::records::withdrawal::{
            Publication, Publisher, PUBLICATION_PREFIX, PUBLISH_WORKING_DAYS,
        };
        if view.effective_action != Some(StationAction::Withdraw) {
            return None;
        }
        let hall = HallId::new(&view.hall).ok()?;
        let approved_at = self.withdrawal_approved_at(state, &hall, policy)?;
        let approved_on = crate::calendar::Date::from_unix_ms(approved_at);
        let deadline = calendar.add_working_days(approved_on, PUBLISH_WORKING_DAYS);
        let publications: Vec<Publication> = state
            .doc()
            .keys(ROOT)
            .filter(|k| k.starts_with(PUBLICATION_PREFIX))
            .filter_map(|k| text_at(state.doc(), &k, None))
            .filter_map(|v| Publication::parse(&v))
            .collect();
        let by = |p: Publisher| publications.iter().any(|x| x.by == p);
        let (management, department) = (by(Publisher::Management), by(Publisher::Department));
        // S5: the day it was published by both — each side's first publication, the later of the
        // two — and how many working days after the due date that was: lateness stays on record.
        let first = |p: Publisher| {
            publications
                .iter()
                .filter(|x| x.by == p)
                .map(|x| x.at_ms)
                .min()
        };
        let published_on = first(Publisher::Management)
            .zip(first(Publisher::Department))
            .map(|(a, b)| crate::calendar::Date::from_unix_ms(a.max(b)));
        let published_late_working_days = published_on
            .map(|on| calendar.working_days_between(deadline.due, on))
            .filter(|late| *late > 0);
        let overdue = now_ms.is_some_and(|now| {
            !(management && department) && crate::calendar::Date::from_unix_ms(now) > deadline.due
        });
        let at = |k: &str| text_at(state.doc(), k, None).unwrap_or_default();
        Some(WithdrawalView {
            reason_kind: at("reason_kind"),
            reason: at("reason"),
            basis: at("basis"),
            approved_on: approved_on.to_string(),
            publish_due: deadline.due.to_string(),
            provisional: deadline.provisional,
            published_by_management: management,
            published_by_department: department,
            published_on: published_on.map(|d| d.to_string()),
            published_late_working_days,
            overdue,
        })
    }

    /// The policy record's pending change, if any.
    pub fn policy_proposal(&self) -> Option<Proposal> {
        let doc = DocId::policy();
        let state = self.record(&doc)?;
        let state = &*state;
        let city = self.city_hall();
        let (g, policy) = self.governance(&doc, state)?;
        let actions = ACTIONS.join(",");
        proposal(
            &doc,
            state,
            &g,
            policy,
            city.map(|c| c.to_string()).unwrap_or_default(),
            actions,
            "policy".into(),
        )
    }

    /// The proposals `approver` may decide: undecided content it may approve, not its own, not yet
    /// approved by it.
    pub fn pending_for(&self, approver: &DeviceId) -> Vec<Proposal> {
        let mut out = Vec::new();
        let mut request = crate::page::PageRequest {
            after: None,
            limit: Some(crate::page::PAGE_LIMIT_MAX),
        };
        loop {
            let page = self.pending_page(approver, &request);
            out.extend(page.entries);
            match page.next {
                Some(next) => request.after = Some(next),
                None => return out,
            }
        }
    }

    /// A page of the proposals `approver` may decide (see [`Replica::pending_for`]).
    pub fn pending_page(
        &self,
        approver: &DeviceId,
        request: &crate::page::PageRequest,
    ) -> crate::page::Page<Proposal> {
        let me = approver.to_string();
        let city = self.city_hall();
        let station_policy = self.policy_for("stationing");
        let staff_policy = self.policy_for("staff");
        let tier_of = |policy: ApprovalPolicy, hall: &HallId| match policy.approver_tier {
            ApproverTier::Supervisor => self.trust().supervisor_of(hall),
            ApproverTier::City => city.clone(),
        };
        self.page(
            request,
            |id| {
                matches!(
                    id.kind(),
                    DocKind::Station(..)
                        | DocKind::Staff(..)
                        | DocKind::Department(..)
                        | DocKind::Policy
                )
            },
            |id, state| {
                let proposal = match id.kind() {
                    DocKind::Station(hall, _) => self
                        .station_view(id, state, station_policy)?
                        .pending
                        .filter(|_| {
                            let tier = tier_of(station_policy, hall);
                            self.is_admin_at(approver, tier.as_ref(), RecordKind::Stationing)
                        }),
                    DocKind::Policy => self
                        .policy_proposal()
                        .filter(|_| self.is_admin_at(approver, city.as_ref(), RecordKind::Policy)),
                    DocKind::Staff(hall, _) => {
                        let tier = tier_of(staff_policy, hall);
                        if !self.is_admin_at(approver, tier.as_ref(), RecordKind::Staff) {
                            return None;
                        }
                        let (g, policy) = self.governed(state, hall, "staff", RecordKind::Staff);
                        let person = text_at(state.doc(), "person", None).unwrap_or_default();
                        proposal(
                            id,
                            state,
                            &g,
                            policy,
                            hall.to_string(),
                            person,
                            "staff".into(),
                        )
                    }
                    DocKind::Department(hall, _) => {
                        let tier = tier_of(station_policy, hall);
                        if !self.is_admin_at(approver, tier.as_ref(), RecordKind::Stationing) {
                            return None;
                        }
                        let (g, policy) =
                            self.governed(state, hall, "stationing", RecordKind::Stationing);
                        let name = text_at(state.doc(), "name", None).unwrap_or_default();
                        let action = text_at(state.doc(), "action", None).unwrap_or_default();
                        proposal(id, state, &g, policy, hall.to_string(), name, action)
                    }
                    _ => None,
                }?;
                if proposal.proposers.contains(&me) || proposal.approved_by.contains(&me) {
                    return None;
                }
                let mut proposal = proposal;
                proposal.warnings = self.proposal_warnings(id, state, &proposal);
                Some(proposal)
            },
        )
    }

    /// The rules an approver should weigh before deciding `proposal` of record `id`: what the
    /// records held say of it, in words naming the rule (the same checks the views apply).
    fn proposal_warnings(&self, id: &DocId, state: &DocState, proposal: &Proposal) -> Vec<String> {
        let mut out = Vec::new();
        match id.kind() {
            DocKind::Station(_, code) => {
                if StationAction::parse(&proposal.action) == Some(StationAction::Withdraw) {
                    let missing: Vec<&str> = [
                        ("reason", "撤离理由 reason"),
                        ("basis", "法律依据 legal basis"),
                    ]
                    .into_iter()
                    .filter(|(k, _)| {
                        text_at(state.doc(), k, None).is_none_or(|v| v.trim().is_empty())
                    })
                    .map(|(_, label)| label)
                    .collect();
                    if !missing.is_empty() {
                        out.push(format!(
                            "S4 (ST 8.1.1): a withdrawal needs a written reason and its legal basis; this one lacks {}",
                            missing.join(", ")
                        ));
                    }
                    out.push(format!(
                        "S5 (ST 8.1.2): once approved, the hall's management and the department each publish the withdrawal within {} working days",
                        crate::records::withdrawal::PUBLISH_WORKING_DAYS
                    ));
                } else {
                    match self.item(code.as_str()) {
                        None => out.push(format!(
                            "C4 (ST 5.2.2): item {code} is not in the catalogue held here, so its guide cannot be checked"
                        )),
                        Some(item) if !item.missing_elements.is_empty() => out.push(format!(
                            "C4 (ST 5.2.2): the item's guide lacks {}; it may not be stationed until the city completes it",
                            item.missing_elements.join(", ")
                        )),
                        Some(_) => {}
                    }
                }
            }
            DocKind::Staff(hall, _) => {
                out.extend(
                    self.roster(Some(hall))
                        .into_iter()
                        .filter(|v| v.pending.as_ref().is_some_and(|p| p.id == proposal.id))
                        .flat_map(|v| v.warnings),
                );
            }
            _ => {}
        }
        out
    }

    /// One hash over the heads of every record held: equal digests mean equal data.
    pub fn state_digest(&self) -> String {
        let mut hasher = Sha256::new();
        for id in self.records() {
            hasher.update(id.as_str().as_bytes());
            hasher.update([0]);
            for head in self.heads_of(id).unwrap_or_default() {
                hasher.update(head.0);
            }
            hasher.update([1]);
        }
        hex::encode(&hasher.finalize()[..16])
    }

    fn station_view(
        &self,
        id: &DocId,
        state: &DocState,
        policy: ApprovalPolicy,
    ) -> Option<StationView> {
        let DocKind::Station(hall, item) = id.kind() else {
            return None;
        };
        let tier = match policy.approver_tier {
            ApproverTier::Supervisor => self.trust().supervisor_of(hall),
            ApproverTier::City => self.city_hall(),
        };
        let g = govern(state, policy, |who| {
            self.is_admin_at(who, tier.as_ref(), RecordKind::Stationing)
        });
        let heads: Vec<ChangeHash> = g.effective.iter().copied().collect();
        let effective_action = if heads.is_empty() {
            None
        } else {
            text_at(state.doc(), "action", Some(&heads))
                .as_deref()
                .and_then(StationAction::parse)
        };
        let pending = proposal(
            id,
            state,
            &g,
            policy,
            hall.to_string(),
            item.to_string(),
            text_at(state.doc(), "action", None).unwrap_or_default(),
        );
        let current = text_at(state.doc(), "action", None);
        let violation = (current.as_deref() == Some("withdraw")
            && text_at(state.doc(), "executed_at", None).is_some()
            && effective_action != Some(StationAction::Withdraw))
        .then(|| "S6 (ST 8.2.2): recorded as withdrawn without an approved withdrawal; report it to the same-level government".to_string());
        let status = match (&effective_action, &pending, &g.rejected_reason) {
            (Some(StationAction::Withdraw), None, _) => "withdrawn",
            (Some(_), Some(_), _) => "approved+pending",
            (Some(_), None, _) => "approved",
            (None, Some(_), _) => "pending",
            (None, None, Some(_)) => "rejected",
            (None, None, None) => "empty",
        };
        Some(StationView {
            hall: hall.to_string(),
            item: item.to_string(),
            status: status.to_string(),
            effective_action,
            pending,
            rejected_reason: g.rejected_reason,
            withdrawal: None,
            violation,
        })
    }
}

pub(crate) fn proposal(
    id: &DocId,
    state: &DocState,
    g: &Governed,
    policy: ApprovalPolicy,
    hall: String,
    item: String,
    action: String,
) -> Option<Proposal> {
    if g.undecided.is_empty() {
        return None;
    }
    let heads = state.heads();
    let proposers: Vec<String> = g
        .undecided
        .iter()
        .filter_map(|h| state.authors.get(h))
        .map(|d| d.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Some(Proposal {
        id: proposal_id(id.as_str(), &heads),
        doc: id.to_string(),
        hall,
        item,
        action,
        proposers,
        heads: heads.iter().map(|h| h.to_string()).collect(),
        approvals: g.approved_undecided.len(),
        approvals_required: usize::from(policy.approvers_required),
        approved_by: g.approved_undecided.iter().map(|d| d.to_string()).collect(),
        proposed_at_ms: latest_timestamp(state, &g.undecided),
        changes: field_changes(state, &g.effective),
        warnings: Vec::new(),
    })
}

impl Replica {
    /// The working-day calendar in effect: built-in years replaced by the signed records held.
    pub fn calendar(&self) -> crate::calendar::Calendar {
        let mut calendar = crate::calendar::Calendar::builtin();
        for (id, state) in self.records_where(|id| matches!(id.kind(), DocKind::Calendar(_))) {
            let DocKind::Calendar(year) = id.kind() else {
                continue;
            };
            let read = |key: &str| text_of(state.doc(), key).unwrap_or_default();
            let parsed =
                crate::calendar::YearCalendar::parse_dates(&read("off_days")).and_then(|off| {
                    crate::calendar::YearCalendar::new(
                        *year,
                        off,
                        crate::calendar::YearCalendar::parse_dates(&read("make_up_workdays"))?,
                        read("source"),
                    )
                });
            // Concurrent edits could leave a day in both lists; such a year keeps the built-in.
            if let Ok(y) = parsed {
                calendar.set_year(y);
            }
        }
        calendar
    }
}
