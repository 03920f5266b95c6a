//! Executing user commands against the engine.

use super::response::*;
use hallsync_model::calendar::{Date, YearCalendar, LIMIT_DAYS_MAX};
use hallsync_model::effective::{item_view, ItemView, StationView};
use hallsync_model::page::PageRequest;
use hallsync_model::records::calendar_doc::{calendar_doc, writes as calendar_writes};
use hallsync_model::records::item_table;
use hallsync_model::records::policy::{
    ApprovalPolicy, ApproverTier, ACTIONS, APPROVERS_REQUIRED_MAX, POLICY_PREFIX,
};
use hallsync_model::trust::cert::RecordKind;
use hallsync_model::{Approval, Decision, DocId, Replica, Role, ScalarValue, SignedChange};
use hallsync_model::{DocKind, HallId, Level};
use serde_json::{json, Value};

use super::{now_ms, Command, Engine, NetView};
use crate::error::NodeError;

/// Most envelopes one import bundle may hold.
pub const BUNDLE_CHANGES_MAX: usize = 1_000_000;

/// A page request over records: the cursor must be a record id, as a previous page printed it.
fn record_page(after: Option<String>, limit: Option<usize>) -> Result<PageRequest, NodeError> {
    if let Some(cursor) = &after {
        cursor.parse::<DocId>().map_err(|_| bad_cursor(cursor))?;
    }
    Ok(PageRequest { after, limit })
}

/// A page request over the quarantine: the cursor is an envelope digest (64 hex digits).
fn quarantine_page(after: Option<String>, limit: Option<usize>) -> Result<PageRequest, NodeError> {
    if let Some(cursor) = &after {
        let ok = hex::decode(cursor).is_ok_and(|d| d.len() == 32);
        if !ok {
            return Err(bad_cursor(cursor));
        }
    }
    Ok(PageRequest { after, limit })
}

fn bad_cursor(cursor: &str) -> NodeError {
    NodeError::NotAllowed(format!(
        "`{cursor}` is not a page cursor: pass the `next` a previous page printed, or leave --after out to start at the first page"
    ))
}

/// `store check`: every record rebuilt from its signed changes, compared with what `replica` holds.
/// A running node runs it on a snapshot of its replica in a thread of its own, so it keeps
/// answering meanwhile (`run`).
pub fn store_check(replica: &Replica) -> Value {
    let started = std::time::Instant::now();
    let differences = replica.differences(&replica.rebuilt());
    encode(&StoreCheck {
        ok: differences.is_empty() && replica.unreadable_records() == 0,
        records: replica.record_count(),
        quarantined: replica.quarantine().len(),
        unreadable_records: replica.unreadable_records(),
        differences,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One entry of an `items` page.
enum Listed {
    Item(ItemView),
    Station(StationView),
}

/// Most rows of a catalogue import staged in parts.
pub const STAGED_ROWS_MAX: usize = 200_000;

/// A catalogue import received in parts, waiting for its last.
pub struct StagedImport {
    id: String,
    next: u32,
    items: Vec<hallsync_model::records::item::ItemFields>,
}

/// Rows of an import written into its transaction together: small enough that the records of one
/// slice stay a few megabytes in memory.
const IMPORT_SLICE_ROWS: usize = 1_000;

impl Engine {
    /// Runs one command; `net` describes the running node (empty when executed directly).
    ///
    /// The returned JSON is the stable `--json` output of the matching CLI command.
    ///
    /// # Errors
    /// Whatever the command refuses, as a [`NodeError`] that says why and what to do.
    pub fn execute(&mut self, command: Command, net: &NetView) -> Result<Value, NodeError> {
        match command {
            Command::Status => self.status(net),
            Command::Items { hall, search, after, limit } => {
                self.items(hall.as_deref(), search.as_deref(), true, &record_page(after, limit)?)
            }
            Command::Stationings { hall, after, limit } => {
                let hall = hall.unwrap_or_else(|| self.config.node.hall.clone());
                self.items(Some(&hall), None, false, &record_page(after, limit)?)
            }
            Command::Pending { after, limit } => {
                let me = self.key.device_id();
                let page = self.replica()?.pending_page(&me, &record_page(after, limit)?);
                Ok(encode(&PendingPage { pending: page.entries, next: page.next }))
            }
            Command::Quarantine { after, limit } => self.quarantine_page(&quarantine_page(after, limit)?),
            Command::ItemCreate(fields) => {
                fields.validate()?;
                let doc = DocId::item(&fields.code);
                let envelope = self.author(&doc, &fields.writes())?;
                Ok(changed(&envelope))
            }
            Command::StationPropose(request) => self.station(request),
            Command::StationPublish { item, hall, by, channels } => {
                self.station_publish(&item, hall.as_deref(), &by, &channels)
            }
            Command::CaseOpen { item, handling, case_no, applicant_id, applicant_name } => self
                .case_open(
                    &item,
                    &handling,
                    &case_no,
                    &applicant_id,
                    applicant_name.as_deref().unwrap_or(""),
                ),
            Command::CaseStep { case, to, materials, note, supply_by, mode } => {
                self.case_step(&case, &to, materials, note, supply_by, mode)
            }
            Command::CaseErase { case } => self.case_erase(&case),
            Command::Cases { overdue, by, applicant_id, state, after, limit } => {
                let by = by.unwrap_or_else(|| {
                    if net.running { "control API" } else { "cli" }.to_string()
                });
                let filter = super::cases::CaseFilter {
                    overdue_only: overdue,
                    state: state.as_deref(),
                    applicant_id: applicant_id.as_deref(),
                };
                self.case_list(&filter, &by, &record_page(after, limit)?)
            }
            Command::Department { hall, fields } => self.department(hall.as_deref(), fields),
            Command::DepartmentList { hall } => self.department_list(hall.as_deref()),
            Command::StaffFile { hall, fields } => self.staff_file(hall.as_deref(), fields),
            Command::StaffStep(step) => self.staff_step(step),
            Command::StaffList { hall } => self.staff_list(hall.as_deref()),
            Command::Approve { id } => self.decide(&id, Decision::Approve, None),
            Command::Reject { id, reason } => self.decide(&id, Decision::Reject, Some(reason)),
            Command::Invite(request) => {
                let addrs = self.invite_addrs(net);
                let token = self.invite(&request, addrs)?;
                Ok(encode(&InviteToken { token }))
            }
            Command::PolicySet { action, approvers_required, approver_tier } => {
                self.policy_set(&action, approvers_required, &approver_tier)
            }
            Command::PolicyShow => self.policy_show(),
            Command::CalendarShow { year } => {
                let calendar = self.replica()?.calendar();
                let y = calendar
                    .years()
                    .get(&year)
                    .ok_or_else(|| NodeError::NotFound(format!("no calendar for {year}: publish one with `hallsync calendar set`")))?;
                Ok(json!(y))
            }
            Command::CalendarSet { year, off_days, make_up_workdays, source } => {
                let parse = |t: &str| YearCalendar::parse_dates(t).map_err(|e| NodeError::NotAllowed(e.to_string()));
                let y = YearCalendar::new(year, parse(&off_days)?, parse(&make_up_workdays)?, source)
                    .map_err(|e| NodeError::NotAllowed(e.to_string()))?;
                let envelope = self.author(&calendar_doc(year), &calendar_writes(&y))?;
                Ok(changed(&envelope))
            }
            Command::CalendarDue { from, days } => {
                let start: Date = from.parse().map_err(|e: hallsync_model::calendar::DateError| NodeError::NotAllowed(e.to_string()))?;
                if days > LIMIT_DAYS_MAX {
                    return Err(NodeError::NotAllowed(format!("at most {LIMIT_DAYS_MAX} working days")));
                }
                let calendar = self.replica()?.calendar();
                let deadline = calendar.add_working_days(start, days);
                if let Some(year) = deadline.unknown_year {
                    let known: Vec<String> = calendar.years().keys().map(i32::to_string).collect();
                    return Err(NodeError::NotAllowed(format!(
                        "W1: the count runs through {year}, which this node's calendar does not hold (it holds {}); load that year's arrangement with `calendar set`, or count within the years held",
                        known.join(", ")
                    )));
                }
                let today = Date::from_unix_ms(now_ms());
                Ok(encode(&DueReport {
                    from: start.to_string(),
                    days,
                    due: deadline.due.to_string(),
                    provisional: deadline.provisional,
                    working_days_left: calendar.working_days_between(today, deadline.due),
                }))
            }
            Command::CatalogueImport { rows, dry_run, part } => {
                self.catalogue_import(&rows, dry_run, part)
            }
            Command::Records { kind, after, limit } => {
                self.records(&kind, &record_page(after, limit)?)
            }
            Command::Revoke { device, cert, reason } => self.revoke(device.as_deref(), cert.as_deref(), &reason),
            Command::RotateKey if net.running => Err(NodeError::NotAllowed(
                "rotate the key with the node stopped (`hallsync stop`), so no change is signed by the old key meanwhile".into(),
            )),
            Command::RotateKey => self.rotate_key(),
            Command::Audit { record } => {
                let doc: DocId = record.parse()?;
                let report = self
                    .replica()?
                    .audit(&doc)
                    .ok_or_else(|| NodeError::NotFound(format!("record {doc} is not held here")))?;
                Ok(serde_json::to_value(report).unwrap_or_default())
            }
            Command::Backup { out } => {
                // The store is quiescent once the write behind is done: this loop is its only
                // writer and is busy here until the copy ends.
                self.finish_writing()?;
                let header = crate::backup::write(
                    &self.dir,
                    &self.config.node.hall,
                    &self.key.device_id().to_string(),
                    std::path::Path::new(&out),
                )?;
                Ok(encode(&BackupWritten {
                    file: out,
                    store_bytes: header.store_bytes,
                    created_ms: header.created_ms,
                }))
            }
            Command::PeerAdd { addr } => self.peer_add(&addr),
            Command::PeerRemove { target } => self.peer_remove(&target),
            Command::Halls => self.hall_tree(),
            Command::AccessLog { limit } => Ok(encode(&self.access_log(limit.unwrap_or(100))?)),
            Command::Net { .. } | Command::Shutdown | Command::ConsoleLink => Err(NodeError::NotAllowed(
                "no node is running on this data directory; start it with `hallsync run`".into(),
            )),
            Command::BundleImport { bundle } => {
                let changes = decode_bundle(&bundle)?;
                let report = self.ingest(changes)?;
                Ok(encode(&BundleImported {
                    applied: report.applied.len(),
                    quarantined: report.quarantined.len(),
                    refused: report.refused.len(),
                    duplicates: report.duplicates,
                }))
            }
            Command::StoreCheck => Ok(store_check(self.replica()?)),
            Command::BundleExport => {
                let replica = self.replica()?;
                let all: Vec<SignedChange> = replica
                    .records_where(|_| true)
                    .flat_map(|(_, d)| d.applied_envelopes().cloned().collect::<Vec<_>>())
                    .collect();
                Ok(encode(&BundleExported { changes: all.len(), bundle: encode_bundle(&all) }))
            }
        }
    }

    /// Where invitees should dial: the running node's addresses, or, when none runs, the configured
    /// listen addresses that name a fixed port (port 0 is only known once the node runs).
    /// The addresses an invitation token carries: the announced ones first (what peers should
    /// dial), then those the node listens on (or would, when it is not running).
    fn invite_addrs(&self, net: &NetView) -> Vec<String> {
        let peer = crate::network::peer::keypair(&self.key)
            .map(|k| libp2p::PeerId::from_public_key(&k.public()).to_string());
        let Ok(peer) = peer else { return Vec::new() };
        let announced = self
            .config
            .network
            .announce
            .iter()
            .map(|a| format!("{a}/p2p/{peer}"));
        let listening: Vec<String> = if net.listen_addrs.is_empty() {
            self.config
                .network
                .listen
                .iter()
                .filter(|a| {
                    !a.ends_with("/tcp/0") && !a.contains("/0.0.0.0/") && !a.contains("/::/")
                })
                .map(|a| format!("{a}/p2p/{peer}"))
                .collect()
        } else {
            net.listen_addrs
                .iter()
                .filter(|a| !a.contains("/0.0.0.0/") && !a.contains("/::/"))
                .cloned()
                .collect()
        };
        let mut out: Vec<String> = announced.chain(listening).collect();
        out.dedup();
        // Loopback addresses reach the invitee's own host: worth carrying only when the inviter
        // has no other (a test or a demo on one machine).
        let loopback = |a: &String| a.starts_with("/ip4/127.") || a.starts_with("/ip6/::1/");
        if out.iter().any(|a| !loopback(a)) {
            out.retain(|a| !loopback(a));
        }
        out
    }

    fn catalogue_import(
        &mut self,
        rows: &[Vec<String>],
        dry_run: bool,
        part: Option<crate::engine::command::ImportPart>,
    ) -> Result<Value, NodeError> {
        let items = match item_table::parse_table(rows) {
            Ok(items) => items,
            Err(errors) => {
                return Ok(encode(&ImportReport {
                    ok: false,
                    dry_run,
                    staged: None,
                    imported: 0,
                    unchanged: 0,
                    rows: rows.len().saturating_sub(1),
                    errors,
                }));
            }
        };
        let replica = self.replica()?;
        let me = self.key.device_id();
        let city_admin = replica.trust().active_certs_of(&me).any(|c| {
            c.body.role == Role::Admin
                && c.body.scope.allows(RecordKind::Catalogue)
                && replica
                    .trust()
                    .halls()
                    .get(&c.body.hall)
                    .is_some_and(|h| h.level == Level::City)
        });
        if !city_admin {
            return Err(NodeError::NotAllowed(
                "only a city administrator with the catalogue in scope imports the catalogue (C3, 四级四同)".into(),
            ));
        }
        if dry_run {
            return Ok(encode(&ImportReport {
                ok: true,
                dry_run: true,
                staged: None,
                imported: 0,
                unchanged: 0,
                rows: items.len(),
                errors: Vec::new(),
            }));
        }
        let items = match part {
            None => items,
            Some(part) => match self.stage(part, items)? {
                Some(all) => all,
                None => {
                    let staged = self.staged.as_ref().map_or(0, |s| s.items.len());
                    return Ok(encode(&ImportReport {
                        ok: true,
                        dry_run: false,
                        staged: Some(staged),
                        imported: 0,
                        unchanged: 0,
                        rows: staged,
                        errors: Vec::new(),
                    }));
                }
            },
        };
        // One transaction for the whole import, so a crash or a refused row leaves it absent,
        // never half done; slices are written into it as they are made, so at most a slice of
        // records is open at a time.
        self.finish_writing()?;
        let batch = self.store.begin_batch()?;
        let done = self.import_into(&batch, &items);
        let committed = done.and_then(|counts| batch.commit().map(|()| counts));
        let (written, unchanged) = match committed {
            Ok(counts) => counts,
            Err(e) => {
                // The replica let records rest that the store never kept: read it again from
                // the store, which holds nothing of the import.
                self.load_replica()?;
                return Err(e);
            }
        };
        Ok(encode(&ImportReport {
            ok: true,
            dry_run: false,
            staged: None,
            imported: written,
            unchanged,
            rows: items.len(),
            errors: Vec::new(),
        }))
    }

    /// Stages one part of an import; returns every staged item once the last part arrived.
    ///
    /// # Errors
    /// A part out of order (the node restarted, or another import began), too many rows, or an
    /// item code in two parts.
    fn stage(
        &mut self,
        part: crate::engine::command::ImportPart,
        items: Vec<hallsync_model::records::item::ItemFields>,
    ) -> Result<Option<Vec<hallsync_model::records::item::ItemFields>>, NodeError> {
        if part.import.is_empty() || part.import.len() > 64 {
            return Err(NodeError::NotAllowed(
                "an import id is 1 to 64 characters".into(),
            ));
        }
        if part.index == 0 {
            // A new import replaces one left unfinished (its client stopped).
            self.staged = Some(StagedImport {
                id: part.import.clone(),
                next: 0,
                items: Vec::new(),
            });
        }
        let fits = self
            .staged
            .as_ref()
            .is_some_and(|s| s.id == part.import && s.next == part.index);
        if !fits {
            self.staged = None;
            return Err(NodeError::NotAllowed(format!(
                "part {} of import {} does not follow what this node has staged (it restarted, or another import began): nothing of it was imported; run the import again",
                part.index, part.import
            )));
        }
        let Some(staged) = self.staged.as_mut() else {
            return Ok(None);
        };
        if staged.items.len() + items.len() > STAGED_ROWS_MAX {
            self.staged = None;
            return Err(NodeError::NotAllowed(format!(
                "an import holds at most {STAGED_ROWS_MAX} rows; split the table"
            )));
        }
        staged.items.extend(items);
        staged.next += 1;
        if !part.last {
            return Ok(None);
        }
        let Some(staged) = self.staged.take() else {
            return Ok(None);
        };
        let mut codes = std::collections::BTreeSet::new();
        if let Some(twice) = staged.items.iter().find(|i| !codes.insert(&i.code)) {
            return Err(NodeError::NotAllowed(format!(
                "item {} is in two parts of the import: nothing was imported",
                twice.code
            )));
        }
        Ok(Some(staged.items))
    }

    /// Makes, applies and writes into `batch` the changes of an import, a slice at a time;
    /// returns how many rows were written and how many were unchanged.
    fn import_into(
        &mut self,
        batch: &crate::store::Batch,
        items: &[hallsync_model::records::item::ItemFields],
    ) -> Result<(usize, usize), NodeError> {
        let mut written = 0;
        let mut unchanged = 0;
        let (key, epoch, now) = (self.key.clone(), self.epoch, now_ms());
        for slice in items.chunks(IMPORT_SLICE_ROWS) {
            // Each item is its own record (the table check refuses a code twice), so the changes
            // are made and signed on both cores, then applied here one by one, in table order.
            let replica = self.replica()?;
            let prepare = |part: &[hallsync_model::records::item::ItemFields]| {
                part.iter()
                    .map(|item| {
                        replica.prepare(&key, epoch, &DocId::item(&item.code), now, &item.writes())
                    })
                    .collect::<Vec<_>>()
            };
            let (first, second) = slice.split_at(slice.len() / 2);
            let prepared = std::thread::scope(|scope| {
                let other = scope.spawn(|| prepare(second));
                let mut all = prepare(first);
                // A panic in the other thread is a bug in the model: surfaced, not hidden.
                all.extend(
                    other
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
                all
            });
            let replica = self.replica_mut()?;
            let mut refused = None;
            for made in prepared {
                match made.and_then(|p| replica.apply_prepared(p)) {
                    Ok(_) => written += 1,
                    Err(hallsync_model::Rejection::Unchanged) => unchanged += 1,
                    Err(e) => {
                        refused = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = refused {
                return Err(e.into());
            }
            let (unsettled, settling) = replica.take_unsettled();
            batch.write(&unsettled)?;
            replica.settle_written(settling);
        }
        Ok((written, unchanged))
    }

    /// A page of rows of one record kind, the header first on the first page. Staff and
    /// departments come whole (first in, then out is applied across a hall's records).
    fn records(&self, kind: &str, request: &PageRequest) -> Result<Value, NodeError> {
        let replica = self.replica()?;
        let first = request.after.is_none();
        let header = |h: Vec<String>| first.then_some(h).into_iter();
        let mut next = None;
        let rows: Vec<Vec<String>> = match kind {
            "items" => {
                let page = replica.page(
                    request,
                    |id| matches!(id.kind(), DocKind::Item(_)),
                    |_, state| item_view(state).map(|i| item_table::to_row(&i.fields)),
                );
                next = page.next;
                header(item_table::header_row()).chain(page.entries).collect()
            }
            "stationing" => {
                let cx = replica.station_context(Some(now_ms()));
                let page = replica.page(
                    request,
                    |id| matches!(id.kind(), DocKind::Station(..)),
                    |id, state| {
                        let s = replica.station_view_of(id, state, &cx)?;
                        Some(vec![
                            s.hall,
                            s.item,
                            s.status,
                            s.effective_action.map(|a| a.as_str().to_string()).unwrap_or_default(),
                            s.pending.map(|p| p.id).unwrap_or_default(),
                            s.rejected_reason.unwrap_or_default(),
                        ])
                    },
                );
                next = page.next;
                header(
                    ["大厅 hall", "事项编码 item", "状态 status", "生效 effective", "待审批 pending", "驳回原因 rejected"]
                        .map(String::from)
                        .to_vec(),
                )
                .chain(page.entries)
                .collect()
            }
            "staff" if !first => Vec::new(),
            "departments" if !first => Vec::new(),
            "staff" => std::iter::once(
                ["大厅 hall", "人员 person", "姓名 name", "工号 job no", "部门 department", "窗口 window", "岗位 role", "状态 state", "上岗 on duty", "离岗 left", "提示 notes"]
                    .map(String::from)
                    .to_vec(),
            )
            .chain(replica.roster(None).into_iter().filter_map(|v| {
                let f = v.filing?;
                let notes = v.held.into_iter().chain(v.warnings).collect::<Vec<_>>().join("; ");
                Some(vec![
                    v.hall,
                    f.person,
                    f.name,
                    f.job_no,
                    f.department,
                    f.window,
                    f.role,
                    v.state,
                    f.on_duty_from.unwrap_or_default(),
                    f.left_on.unwrap_or_default(),
                    notes,
                ])
            }))
            .collect(),
            "departments" => std::iter::once(
                ["大厅 hall", "部门 dept", "名称 name", "信用代码 uscc", "状态 status", "进驻方案 plan", "授权委托书 letter", "备案 filing", "撤离申请 application", "档案移交 archives"]
                    .map(String::from)
                    .to_vec(),
            )
            .chain(replica.departments(None).into_iter().filter_map(|d| {
                let f = d.filing?;
                Some(vec![d.hall, f.dept, f.name, f.uscc, d.status.to_string(), f.plan, f.authorization_letter, f.filing, f.application, f.archives_handover])
            }))
            .collect(),
            "cases" => {
                let calendar = replica.calendar();
                let now = Some(now_ms());
                let page = replica.page(
                    request,
                    |id| matches!(id.kind(), DocKind::Case(..)),
                    |id, state| replica.case_view(id, state, &calendar, now),
                );
                next = page.next;
                header(
                    ["案件 case", "收件地 accepting", "办理地 handling", "事项 item", "状态 state", "受理 accepted", "截止 due", "逾期 overdue"]
                        .map(String::from)
                        .to_vec(),
                )
            .chain(page.entries.into_iter().map(|c| {
                vec![
                    c.case_no,
                    c.accepting,
                    c.handling,
                    c.item,
                    c.state.to_string(),
                    c.accepted_on.unwrap_or_default(),
                    c.due.unwrap_or_default(),
                    if c.overdue { "是".into() } else { "否".into() },
                ]
            }))
            .collect()
            }
            other => {
                return Err(NodeError::NotAllowed(format!(
                    "`{other}` is not a record kind: use items, stationing, staff, departments or cases"
                )))
            }
        };
        Ok(json!({ "kind": kind, "rows": rows, "next": next }))
    }

    /// This node's hall and every hall below it, depth first, each after its parent.
    fn hall_tree(&self) -> Result<Value, NodeError> {
        let replica = self.replica()?;
        let halls = replica.trust().halls();
        let mut rows = Vec::new();
        let mut stack = vec![(HallId::new(&self.config.node.hall)?, 0usize)];
        // A tree of certified halls has no cycles; the bound guards against a corrupt one.
        while let Some((id, depth)) = stack.pop() {
            if rows.len() > halls.len() {
                break;
            }
            let Some(info) = halls.get(&id) else { continue };
            rows.push(HallRow {
                id: id.to_string(),
                name: info.name.clone(),
                level: info.level.label().to_string(),
                parent: info.parent.as_ref().map(|p| p.to_string()),
                depth,
            });
            let mut children: Vec<_> = halls
                .values()
                .filter(|h| h.parent.as_ref() == Some(&id))
                .map(|h| h.id.clone())
                .collect();
            children.reverse();
            stack.extend(children.into_iter().map(|c| (c, depth + 1)));
        }
        Ok(encode(&HallTree { halls: rows }))
    }

    fn status(&self, net: &NetView) -> Result<Value, NodeError> {
        let me = self.key.device_id();
        let membership = self.replica.as_ref().map(|replica| Membership {
            network_id: replica.trust().genesis().network_id().to_string(),
            roles: replica
                .trust()
                .valid_certs_of(&me)
                .map(|c| RoleAt {
                    hall: c.body.hall.to_string(),
                    role: c.body.role.as_str().into(),
                })
                .collect(),
            documents: replica.record_count(),
            quarantined: replica.quarantine().len(),
            quarantine_bytes: replica.quarantine_bytes(),
            quarantine_evicted: replica.quarantine_evicted(),
            refused_changes: replica.refusals().total(),
            equivocations: replica.equivocations().count(),
            revoked_certificates: replica.trust().revoked().len(),
            state_digest: replica.state_digest(),
            open_records: replica.open_records(),
            open_records_max: self.config.limits.open_records_max,
            unreadable_records: replica.unreadable_records(),
            seal_key: replica.trust().seal_key_of(&me).map(|k| k.id()),
            missing_parts: replica.missing_parts().count(),
        });
        Ok(encode(&StatusReport {
            device_id: me.to_string(),
            hall: self.config.node.hall.clone(),
            hall_name: self.config.node.name.clone(),
            level: self.config.node.level.clone(),
            epoch: self.epoch,
            running: net.running,
            online: net.online,
            connected_peers: net.connected_peers.clone(),
            listen_addrs: net.listen_addrs.clone(),
            admission_refusals: net.admission_refusals,
            peers: net.peers.clone(),
            configured_peers: self.config.network.peers.clone(),
            metrics_addr: net.metrics_addr.clone(),
            reach: net.reach.clone(),
            announced: self
                .invite_addrs(&NetView::default())
                .into_iter()
                .take(self.config.network.announce.len())
                .collect(),
            stored_records: self.store.record_count()?,
            unreadable_rows: self.store.unreadable_rows(),
            joined: membership.is_some(),
            membership,
        }))
    }

    /// A page of the catalogue (items matching `search`), then of the stationings (of `hall`).
    fn items(
        &self,
        hall: Option<&str>,
        search: Option<&str>,
        with_items: bool,
        request: &PageRequest,
    ) -> Result<Value, NodeError> {
        let replica = self.replica()?;
        let cx = replica.station_context(Some(now_ms()));
        let needle = search.map(str::to_lowercase);
        let page = replica.page(
            request,
            |id| match id.kind() {
                DocKind::Item(_) => with_items,
                DocKind::Station(h, _) => hall.is_none_or(|want| h.as_str() == want),
                _ => false,
            },
            |id, state| match id.kind() {
                DocKind::Item(_) => item_view(state)
                    .filter(|i| {
                        needle.as_ref().is_none_or(|n| {
                            [i.fields.code.as_str(), &i.fields.name, &i.fields.department]
                                .iter()
                                .any(|f| f.to_lowercase().contains(n.as_str()))
                        })
                    })
                    .map(Listed::Item),
                _ => replica.station_view_of(id, state, &cx).map(Listed::Station),
            },
        );
        let mut items = Vec::new();
        let mut effective = Vec::new();
        let mut pending = Vec::new();
        for entry in page.entries {
            match entry {
                Listed::Item(i) => items.push(i),
                Listed::Station(s) if s.effective_action.is_some() => effective.push(s),
                Listed::Station(s) => pending.push(s),
            }
        }
        Ok(encode(&ItemsPage {
            items,
            stationed: effective,
            not_effective: pending,
            next: page.next,
        }))
    }

    /// A page of the quarantine, by envelope digest.
    fn quarantine_page(&self, request: &PageRequest) -> Result<Value, NodeError> {
        let replica = self.replica()?;
        let after = request
            .after
            .as_deref()
            .and_then(|a| hex::decode(a).ok())
            .and_then(|a| <[u8; 32]>::try_from(a).ok());
        let lower = match &after {
            Some(d) => std::ops::Bound::Excluded(d),
            None => std::ops::Bound::Unbounded,
        };
        let limit = request.limit();
        let mut rows = replica
            .quarantine()
            .range::<[u8; 32], _>((lower, std::ops::Bound::Unbounded));
        let mut entries = Vec::new();
        let mut next = None;
        for (digest, e) in rows.by_ref() {
            entries.push(QuarantineRow {
                id: hex::encode(&digest[..8]),
                doc: e.doc.to_string(),
                author: e.author.to_string(),
                reason_code: e.reason.code().into(),
                reason: e.reason.to_string(),
            });
            if entries.len() == limit {
                next = Some(hex::encode(digest));
                break;
            }
        }
        if rows.next().is_none() {
            next = None;
        }
        let refusals = replica.refusals();
        let refused = refusals
            .recent
            .iter()
            .rev()
            .map(|r| RefusedRow {
                doc: r.doc.to_string(),
                author: r.author.to_string(),
                reason_code: r.reason.code().into(),
                reason: r.reason.to_string(),
            })
            .collect();
        Ok(encode(&QuarantinePage {
            quarantined: entries,
            total: replica.quarantine().len(),
            bytes: replica.quarantine_bytes(),
            evicted: replica.quarantine_evicted(),
            next,
            refused,
            refused_counts: refusals
                .counts
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
            refused_total: refusals.total(),
        }))
    }

    fn decide(
        &mut self,
        id: &str,
        decision: Decision,
        reason: Option<String>,
    ) -> Result<Value, NodeError> {
        let me = self.key.device_id();
        let replica = self.replica()?;
        let proposal = find_proposal(replica, id)?;
        if proposal.proposers.contains(&me.to_string()) {
            return Err(NodeError::NotAllowed(
                "you wrote this proposal; maker-checker requires another administrator to decide it".into(),
            ));
        }
        if !replica.pending_for(&me).iter().any(|p| p.id == proposal.id) {
            return Err(NodeError::NotAllowed(format!(
                "this device may not decide proposal {id}: it is not an administrator of the tier the approval policy names for hall {}, or it already approved it",
                proposal.hall
            )));
        }
        if decision == Decision::Reject && reason.as_ref().is_none_or(|r| r.trim().is_empty()) {
            return Err(NodeError::NotAllowed("a rejection needs --reason".into()));
        }
        let approval = Approval {
            decision,
            heads: proposal.heads.clone(),
            reason,
            at_ms: now_ms(),
        };
        let doc: DocId = proposal.doc.parse()?;
        let key = approval.key(&me);
        let envelope = self.author(&doc, &[(key, ScalarValue::Str(approval.to_value().into()))])?;
        let mut out = Written::of(&envelope);
        out.proposal = Some(proposal);
        out.decision = Some(decision);
        Ok(encode(&out))
    }

    fn policy_set(
        &mut self,
        action: &str,
        approvers_required: u8,
        approver_tier: &str,
    ) -> Result<Value, NodeError> {
        if !ACTIONS.contains(&action) {
            return Err(NodeError::NotAllowed(format!(
                "unknown action `{action}`: use one of {}",
                ACTIONS.join(", ")
            )));
        }
        let tier = match approver_tier {
            "supervisor" => ApproverTier::Supervisor,
            "city" => ApproverTier::City,
            other => {
                return Err(NodeError::NotAllowed(format!(
                    "unknown approver tier `{other}`: use supervisor or city"
                )))
            }
        };
        let policy = ApprovalPolicy {
            approvers_required,
            approver_tier: tier,
        };
        if ApprovalPolicy::parse(&policy.to_value()).is_none() {
            return Err(NodeError::NotAllowed(format!(
                "approvers_required must be between 1 and {APPROVERS_REQUIRED_MAX}"
            )));
        }
        let envelope = self.author(
            &DocId::policy(),
            &[(
                format!("{POLICY_PREFIX}{action}"),
                ScalarValue::Str(policy.to_value().into()),
            )],
        )?;
        let mut out = Written::of(&envelope);
        out.proposal = self.replica()?.policy_proposal();
        Ok(encode(&out))
    }

    fn policy_show(&self) -> Result<Value, NodeError> {
        let replica = self.replica()?;
        let effective = ACTIONS
            .iter()
            .map(|a| (a.to_string(), replica.policy_for(a)))
            .collect();
        Ok(encode(&PolicyReport {
            effective,
            pending: replica.policy_proposal(),
        }))
    }
}

fn find_proposal(replica: &Replica, id: &str) -> Result<hallsync_model::Proposal, NodeError> {
    replica
        .stations()
        .into_iter()
        .filter_map(|s| s.pending)
        .chain(replica.policy_proposal())
        .chain(replica.roster(None).into_iter().filter_map(|s| s.pending))
        .chain(
            replica
                .departments(None)
                .into_iter()
                .filter_map(|d| d.pending),
        )
        .find(|p| p.id == id)
        .ok_or_else(|| {
            NodeError::NotFound(format!(
                "no pending proposal with id {id}; list them with `hallsync pending`"
            ))
        })
}

pub(crate) fn changed(envelope: &SignedChange) -> Value {
    encode(&Written::of(envelope))
}

/// Encodes envelopes as a bundle (hex of postcard).
pub fn encode_bundle(changes: &[SignedChange]) -> String {
    hex::encode(hallsync_model::encoding::postcard_bytes(changes))
}

/// Decodes a bundle.
///
/// # Errors
/// [`NodeError::BadToken`]-like [`NodeError::NotAllowed`] for a malformed bundle.
pub fn decode_bundle(text: &str) -> Result<Vec<SignedChange>, NodeError> {
    let bytes = hex::decode(text.trim())
        .map_err(|e| NodeError::NotAllowed(format!("the bundle is not hex: {e}")))?;
    let changes: Vec<SignedChange> = postcard::from_bytes(&bytes)
        .map_err(|e| NodeError::NotAllowed(format!("the bundle does not decode: {e}")))?;
    if changes.len() > BUNDLE_CHANGES_MAX {
        return Err(NodeError::NotAllowed(format!(
            "the bundle holds {} changes; at most {BUNDLE_CHANGES_MAX}",
            changes.len()
        )));
    }
    Ok(changes)
}
