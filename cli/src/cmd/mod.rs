//! One function per subcommand family; most just build a [`Command`] and print what comes back.

mod demo;
mod out_path;
mod run;
mod service;
mod table;

use anyhow::{Context, Result};
use hallsync_config::NodeSection;
use hallsync_model::records::department::DepartmentFields;
use hallsync_model::records::item::MaterialForm;
use hallsync_model::records::staff::StaffFields;
use hallsync_node::engine::{InviteRequest, StaffStep, StationRequest};
use hallsync_node::{engine, Command, DataDir, Engine};
use serde_json::json;

use crate::args::{
    BundleCmd, CalendarCmd, CaseCmd, CatalogueCmd, Cli, Cmd, DeptCmd, ItemArgs, ItemCmd, PeerCmd,
    PolicyCmd, ServiceCmd, StaffCmd, StationCmd, StoreCmd,
};
use crate::output::print;
use hallsync::client::execute;
use hallsync_model::records::item::{ItemFields, Material};
use hallsync_model::ItemCode;

/// Turns `item create`'s flags into the item's fields; checks come from the core.
fn item_fields(a: ItemArgs) -> Result<ItemFields> {
    let mut item = ItemFields::minimal(
        ItemCode::new(&a.code)?,
        a.name,
        a.item_type,
        a.department,
        a.promised_days,
    );
    item.legacy_code = a.legacy_code;
    item.statutory_days = a.statutory_days;
    item.legal_basis_setting = a.legal_basis_setting;
    item.legal_basis_implementing = a.legal_basis_implementing;
    item.conditions = a.conditions;
    item.process = a.process;
    item.is_fee = a.fee_standard.is_some();
    item.fee_standard = a.fee_standard.unwrap_or_default();
    item.fee_basis = a.fee_basis;
    item.cross_region = a.cross_region;
    item.guide = a.guide;
    for text in &a.materials {
        item.materials.push(parse_material(text)?);
    }
    Ok(item)
}

/// `ID:NAME:FORM:COUNT[:required][:deferrable]`.
fn parse_material(text: &str) -> Result<Material> {
    let parts: Vec<&str> = text.split(':').collect();
    let [id, name, form, count, flags @ ..] = parts.as_slice() else {
        anyhow::bail!("--material `{text}`: use ID:NAME:FORM:COUNT[:required][:deferrable]");
    };
    let count = count
        .parse()
        .with_context(|| format!("--material `{text}`: COUNT must be a number"))?;
    if let Some(bad) = flags
        .iter()
        .find(|f| !matches!(**f, "required" | "deferrable"))
    {
        anyhow::bail!("--material `{text}`: unknown flag `{bad}` (use required, deferrable)");
    }
    Ok(Material {
        id: id.to_string(),
        name: name.to_string(),
        form: MaterialForm::parse(form).with_context(|| {
            format!(
                "--material `{text}`: FORM `{form}` is not one of: {}",
                MaterialForm::codes()
            )
        })?,
        count,
        required: flags.contains(&"required"),
        deferrable: flags.contains(&"deferrable"),
    })
}

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<()> {
    let json = cli.json;
    let (kind, dir, command) = match cli.command {
        Cmd::Init(a) => {
            let outcome = engine::init(
                &DataDir::new(&a.data.data),
                NodeSection {
                    hall: a.hall,
                    level: a.level,
                    name: a.name,
                    parent: a.parent,
                },
                a.listen,
                a.announce,
                a.genesis,
            )?;
            if json {
                print("init", &serde_json::to_value(&outcome)?, true)?;
            } else {
                outln!("设备编号 device id: {}", outcome.device_id);
                if let Some(n) = &outcome.network_id {
                    outln!("新网络 new network: {n}");
                }
            }
            return Ok(());
        }
        Cmd::Join { data, token } => {
            let mut engine = Engine::open(&DataDir::new(&data.data))
                .with_context(|| format!("opening {}", data.data.display()))?;
            let outcome = engine.join(&token)?;
            if json {
                print("join", &serde_json::to_value(&outcome)?, true)?;
            } else {
                outln!(
                    "已加入 joined network {} as {} of hall {}",
                    outcome.network_id,
                    outcome.role,
                    outcome.hall
                );
                outln!("对等节点 peers added: {}", outcome.peers.join(", "));
                if let Some(w) = &outcome.warning {
                    eprintln!("警告 warning: {w}");
                }
            }
            return Ok(());
        }
        Cmd::Run { data, log_format } => return run::run(&data.data, log_format.as_deref()),
        Cmd::Demo(a) => return demo::demo(a, json),
        Cmd::Stop { data } => ("stop", data.data, Command::Shutdown),
        Cmd::Invite(a) => (
            "invite",
            a.data.data,
            Command::Invite(InviteRequest {
                device: a.device,
                hall: a.hall,
                level: a.level,
                role: a.role,
                parent: a.parent,
                hall_name: a.hall_name,
                kinds: a.kinds,
                subtree: a.hall_only.then_some(false),
                may_certify: a.no_certify.then_some(false),
                valid_days: a.valid_days,
            }),
        ),
        Cmd::Item {
            action: ItemCmd::Create { data, item },
        } => ("item", data.data, Command::ItemCreate(item_fields(item)?)),
        Cmd::Station {
            action: StationCmd::Propose { data, item, hall },
        } => (
            "station",
            data.data,
            Command::StationPropose(StationRequest::station(&item, hall.as_deref())),
        ),
        Cmd::Station {
            action:
                StationCmd::Adjust {
                    data,
                    item,
                    hall,
                    note,
                },
        } => {
            let mut request = StationRequest::station(&item, hall.as_deref());
            request.action = Some("adjust".into());
            request.note = Some(note);
            ("station", data.data, Command::StationPropose(request))
        }
        Cmd::Station {
            action:
                StationCmd::Withdraw {
                    data,
                    item,
                    hall,
                    reason_kind,
                    reason,
                    basis,
                    executed_at,
                },
        } => {
            let mut request = StationRequest::station(&item, hall.as_deref());
            request.action = Some("withdraw".into());
            request.reason_kind = Some(reason_kind);
            request.reason = Some(reason);
            request.basis = Some(basis);
            request.executed_at = executed_at;
            ("station", data.data, Command::StationPropose(request))
        }
        Cmd::Station {
            action:
                StationCmd::Publish {
                    data,
                    item,
                    hall,
                    by,
                    channels,
                },
        } => (
            "station",
            data.data,
            Command::StationPublish {
                item,
                hall,
                by,
                channels,
            },
        ),
        Cmd::Staff {
            action:
                StaffCmd::File {
                    data,
                    hall,
                    person,
                    name,
                    job_no,
                    department,
                    window,
                    role,
                    business_lead,
                    certificates,
                    replaces,
                },
        } => {
            let fields = StaffFields {
                replaces,
                person,
                name,
                job_no,
                department,
                window,
                role,
                is_business_lead: business_lead,
                certificates,
                ..StaffFields::default()
            };
            ("staff", data.data, Command::StaffFile { hall, fields })
        }
        Cmd::Staff {
            action:
                StaffCmd::Record {
                    data,
                    hall,
                    person,
                    step,
                    on,
                    reason,
                },
        } => (
            "staff",
            data.data,
            Command::StaffStep(StaffStep {
                person,
                hall,
                step,
                on,
                reason,
            }),
        ),
        Cmd::Staff {
            action: StaffCmd::List { data, hall },
        } => ("staff-list", data.data, Command::StaffList { hall }),
        Cmd::Dept {
            action:
                DeptCmd::Station {
                    data,
                    hall,
                    id,
                    name,
                    uscc,
                    plan,
                    authorization,
                    filing,
                },
        } => {
            let fields = DepartmentFields {
                dept: id,
                name,
                uscc,
                action: hallsync_model::records::department::DepartmentAction::Station,
                plan,
                authorization_letter: authorization,
                filing,
                ..DepartmentFields::default()
            };
            ("dept", data.data, Command::Department { hall, fields })
        }
        Cmd::Dept {
            action:
                DeptCmd::Withdraw {
                    data,
                    hall,
                    id,
                    name,
                    application,
                    archives,
                },
        } => {
            let fields = DepartmentFields {
                dept: id,
                name,
                action: hallsync_model::records::department::DepartmentAction::Withdraw,
                application,
                archives_handover: archives,
                ..DepartmentFields::default()
            };
            ("dept", data.data, Command::Department { hall, fields })
        }
        Cmd::Dept {
            action: DeptCmd::List { data, hall },
        } => ("dept-list", data.data, Command::DepartmentList { hall }),
        Cmd::Case {
            action:
                CaseCmd::Open {
                    data,
                    item,
                    handling,
                    no,
                    applicant_id,
                    applicant_name,
                },
        } => (
            "case",
            data.data,
            Command::CaseOpen {
                item,
                handling,
                case_no: no,
                applicant_id,
                applicant_name,
            },
        ),
        Cmd::Case {
            action:
                CaseCmd::Step {
                    data,
                    case,
                    to,
                    materials,
                    note,
                    supply_by,
                    mode,
                },
        } => (
            "case",
            data.data,
            Command::CaseStep {
                case,
                to,
                materials,
                note,
                supply_by,
                mode,
            },
        ),
        Cmd::Case {
            action: CaseCmd::Erase { data, case },
        } => ("case", data.data, Command::CaseErase { case }),
        Cmd::Cases {
            data,
            overdue,
            state,
            applicant_id,
            page,
        } => {
            let command = Command::Cases {
                overdue,
                by: None,
                applicant_id,
                state,
                after: page.after.clone(),
                limit: page.limit(),
            };
            return listing("cases", &data.data, command, &page, json);
        }
        Cmd::Pending { data, page } => {
            let command = Command::Pending {
                after: page.after.clone(),
                limit: page.limit(),
            };
            return listing("pending", &data.data, command, &page, json);
        }
        Cmd::Approve { data, id } => ("approve", data.data, Command::Approve { id }),
        Cmd::Reject { data, id, reason } => ("reject", data.data, Command::Reject { id, reason }),
        Cmd::Items {
            data,
            hall,
            search,
            page,
        } => {
            let command = Command::Items {
                hall,
                search,
                after: page.after.clone(),
                limit: page.limit(),
            };
            return listing("items", &data.data, command, &page, json);
        }
        Cmd::Status { data } => ("status", data.data, Command::Status),
        Cmd::Quarantine { data, page } => {
            let command = Command::Quarantine {
                after: page.after.clone(),
                limit: page.limit(),
            };
            return listing("quarantine", &data.data, command, &page, json);
        }
        Cmd::Calendar {
            action: CalendarCmd::Show { data, year },
        } => ("calendar-show", data.data, Command::CalendarShow { year }),
        Cmd::Calendar {
            action:
                CalendarCmd::Set {
                    data,
                    year,
                    off,
                    workdays,
                    source,
                },
        } => (
            "calendar",
            data.data,
            Command::CalendarSet {
                year,
                off_days: off,
                make_up_workdays: workdays,
                source,
            },
        ),
        Cmd::Calendar {
            action: CalendarCmd::Due { data, from, days },
        } => (
            "calendar-due",
            data.data,
            Command::CalendarDue { from, days },
        ),
        Cmd::Policy {
            action:
                PolicyCmd::Set {
                    data,
                    action,
                    approvers,
                    tier,
                },
        } => (
            "policy",
            data.data,
            Command::PolicySet {
                action,
                approvers_required: approvers,
                approver_tier: tier,
            },
        ),
        Cmd::Policy {
            action: PolicyCmd::Show { data },
        } => ("policy-show", data.data, Command::PolicyShow),
        Cmd::Revoke {
            data,
            device,
            cert,
            reason,
        } => (
            "revoke",
            data.data,
            Command::Revoke {
                device,
                cert,
                reason,
            },
        ),
        Cmd::RotateKey { data } => ("rotate-key", data.data, Command::RotateKey),
        Cmd::Audit { data, record } => ("audit", data.data, Command::Audit { record }),
        Cmd::Console { data } => ("console", data.data, Command::ConsoleLink),
        Cmd::Halls { data } => ("halls", data.data, Command::Halls),
        Cmd::AccessLog { data, limit } => (
            "access-log",
            data.data,
            Command::AccessLog { limit: Some(limit) },
        ),
        Cmd::Service {
            action:
                ServiceCmd::Install {
                    data,
                    user,
                    out,
                    force,
                },
        } => return service::install(&data.data, &user, out, force, json),
        Cmd::Backup { data, out, force } => {
            out_path::check(&out, &data.data, force)?;
            if force && out.exists() {
                std::fs::remove_file(&out)
                    .with_context(|| format!("removing {} to overwrite it", out.display()))?;
            }
            let absolute = std::path::absolute(&out)
                .with_context(|| format!("resolving {}", out.display()))?;
            (
                "backup",
                data.data,
                Command::Backup {
                    out: absolute.display().to_string(),
                },
            )
        }
        Cmd::Restore { data, from } => {
            let header = hallsync_node::backup::restore(&from, &DataDir::new(&data.data))?;
            let restored = hallsync_node::engine::response::Restored {
                restored: data.data.display().to_string(),
                hall: header.hall,
                device_id: header.device_id,
                backup_taken_ms: header.created_ms,
            };
            print(
                "restore",
                &hallsync_node::engine::response::encode(&restored),
                json,
            )?;
            return Ok(());
        }
        Cmd::Peer {
            action: PeerCmd::List { data },
        } => ("peer-list", data.data, Command::Status),
        Cmd::Peer {
            action: PeerCmd::Add { data, addr },
        } => ("peer-add", data.data, Command::PeerAdd { addr }),
        Cmd::Peer {
            action: PeerCmd::Remove { data, target },
        } => ("peer-remove", data.data, Command::PeerRemove { target }),
        Cmd::Net { data, mode } => (
            "net",
            data.data,
            Command::Net {
                online: mode == "online",
            },
        ),
        Cmd::Bundle {
            action: BundleCmd::Import { data, file },
        } => {
            let bundle = std::fs::read_to_string(&file)
                .with_context(|| format!("reading the bundle {}", file.display()))?;
            ("import", data.data, Command::BundleImport { bundle })
        }
        Cmd::Bundle {
            action: BundleCmd::Export { data, file, force },
        } => {
            out_path::check(&file, &data.data, force)?;
            let out = execute(&data.data, Command::BundleExport)?;
            let out: hallsync_node::engine::response::BundleExported = serde_json::from_value(out)?;
            std::fs::write(&file, &out.bundle)
                .with_context(|| format!("writing {}", file.display()))?;
            print(
                "export",
                &json!({ "changes": out.changes, "file": file }),
                json,
            )?;
            return Ok(());
        }
        Cmd::Store {
            action: StoreCmd::Check { data },
        } => {
            let value = execute(&data.data, Command::StoreCheck)?;
            print("store-check", &value, json)?;
            let check: hallsync_node::engine::response::StoreCheck = serde_json::from_value(value)?;
            if !check.ok {
                anyhow::bail!("the store differs from a rebuild from its signed changes (above)");
            }
            return Ok(());
        }
        Cmd::Catalogue {
            action:
                CatalogueCmd::Import {
                    data,
                    file,
                    dry_run,
                },
        } => return table::import(&data.data, &file, dry_run, json),
        Cmd::Export {
            data,
            kind,
            format,
            out,
            force,
        } => {
            out_path::check(&out, &data.data, force)?;
            return table::export(&data.data, kind, format, &out, json);
        }
    };
    let value = execute(&dir, command)?;
    print(kind, &value, json)?;
    Ok(())
}

/// Runs a listing: every page merged, or the one page asked for (then its `next` cursor is shown).
fn listing(
    kind: &str,
    dir: &std::path::Path,
    command: Command,
    page: &crate::args::PageArgs,
    json: bool,
) -> Result<()> {
    let value = hallsync::client::execute_pages(dir, command, page.one_page())?;
    print(kind, &value, json)?;
    if !json {
        if let Some(next) = value["next"].as_str() {
            outln!("下一页 next page: --after {next}");
        }
    }
    Ok(())
}
