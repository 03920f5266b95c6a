//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// hallsync — signed, approvable, offline-first sync for government service halls (政务服务大厅).
#[derive(Parser, Debug)]
#[command(name = "hallsync", version, about, long_about = None)]
pub struct Cli {
    /// Print machine-readable JSON instead of text (stable fields, see docs/CLI.md).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The data directory every node command works on.
#[derive(Args, Debug, Clone)]
pub struct DataArg {
    /// The node's data directory (config.toml, device.key, store.redb).
    #[arg(long, value_name = "DIR", env = "HALLSYNC_DATA")]
    pub data: PathBuf,
}

/// Every subcommand.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Create a node: config, device key and store (建立节点). With --genesis, also found the network.
    Init(InitArgs),
    /// Issue a certificate and an invitation token for another device (管理员邀请).
    Invite(InviteArgs),
    /// Join a network with an invitation token (加入网络).
    Join {
        #[command(flatten)]
        data: DataArg,
        /// The token printed by `hallsync invite`.
        token: String,
    },
    /// Run the node in the foreground until Ctrl-C (运行节点).
    ///
    /// Logs go to stderr (and to daily files when `log.dir` is set). `RUST_LOG` picks what is
    /// logged: `info` by default; `RUST_LOG=debug` for every dial and sync step;
    /// `RUST_LOG=hallsync_node=debug,libp2p=warn` per crate.
    Run {
        #[command(flatten)]
        data: DataArg,
        /// text for people, json (one object a line) for log collectors; overrides `log.format`.
        #[arg(long, value_parser = ["text", "json"])]
        log_format: Option<String>,
    },
    /// Stop a running node (停止节点).
    Stop {
        #[command(flatten)]
        data: DataArg,
    },
    /// Catalogue items (事项目录).
    Item {
        #[command(subcommand)]
        action: ItemCmd,
    },
    /// Item stationing at halls (事项进驻).
    Station {
        #[command(subcommand)]
        action: StationCmd,
    },
    /// Departments stationed at a hall (部门进驻/撤离): station, withdraw, list.
    Dept {
        #[command(subcommand)]
        action: DeptCmd,
    },
    /// Cross-region cases (通办件): open, move.
    Case {
        #[command(subcommand)]
        action: CaseCmd,
    },
    /// The cases this node holds, with due dates (K6); --overdue for the overdue ones.
    Cases {
        #[command(flatten)]
        data: DataArg,
        /// Only overdue cases.
        #[arg(long)]
        overdue: bool,
        /// Only cases in this state (received, accepted, in_review, decided, issued, …).
        #[arg(long)]
        state: Option<String>,
        /// Only this applicant's cases (at a party hall: the id is matched by the case's keyed
        /// reference, which only the parties can compute).
        #[arg(long)]
        applicant_id: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Window staff (窗口人员): file, train, duty, leave, list.
    Staff {
        #[command(subcommand)]
        action: StaffCmd,
    },
    /// Proposals this administrator may decide (待审批).
    Pending {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Approve a pending proposal with your signature (批准).
    Approve {
        #[command(flatten)]
        data: DataArg,
        /// The proposal id from `hallsync pending`.
        id: String,
    },
    /// Reject a pending proposal with a reason (驳回).
    Reject {
        #[command(flatten)]
        data: DataArg,
        /// The proposal id from `hallsync pending`.
        id: String,
        /// Why it is rejected (required).
        #[arg(long)]
        reason: String,
    },
    /// The effective catalogue and stationed items (有效事项).
    Items {
        #[command(flatten)]
        data: DataArg,
        /// Only this hall's stationings.
        #[arg(long)]
        hall: Option<String>,
        /// Only items whose code, name or department contains this text (搜索).
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Device, network, peers, counts and the state digest (状态).
    Status {
        #[command(flatten)]
        data: DataArg,
    },
    /// Changes received but not applied, with reasons (隔离区).
    Quarantine {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        page: PageArgs,
    },
    /// The working-day calendar (工作日历): show a year, publish a year, compute a due date.
    Calendar {
        #[command(subcommand)]
        action: CalendarCmd,
    },
    /// Approval policies: how many approvers, from which tier (审批规则).
    Policy {
        #[command(subcommand)]
        action: PolicyCmd,
    },
    /// Revoke a device's certificates, or one certificate (吊销证书). What it signed so far is kept.
    Revoke {
        #[command(flatten)]
        data: DataArg,
        /// The device whose certificates to revoke.
        #[arg(long, conflicts_with = "cert", required_unless_present = "cert")]
        device: Option<String>,
        /// One certificate id to revoke.
        #[arg(long)]
        cert: Option<String>,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// Replace this device's key, keeping its certificates and what it signed (密钥轮换). Node stopped.
    RotateKey {
        #[command(flatten)]
        data: DataArg,
    },
    /// Explain a record: every change, its signer's certificates, approvals, and why (审计).
    Audit {
        #[command(flatten)]
        data: DataArg,
        /// The record: trust, item/CODE or station/HALL/CODE.
        record: String,
    },
    /// Print a one-time sign-in link to the administrators' web console of the running node
    /// (管理控制台); open it in a browser on this machine, or on the hall's network when
    /// `[console] listen` serves it there.
    Console {
        #[command(flatten)]
        data: DataArg,
    },
    /// Every display of a case's personal data on this node: who and when (访问记录, PIPL art 51).
    AccessLog {
        #[command(flatten)]
        data: DataArg,
        /// How many of the latest entries.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// The halls at and below this node's hall (大厅).
    Halls {
        #[command(flatten)]
        data: DataArg,
    },
    /// Take a running node off the network or back on (断网/联网).
    Net {
        #[command(flatten)]
        data: DataArg,
        /// online or offline.
        #[arg(value_parser = ["online", "offline"])]
        mode: String,
    },
    /// Back up this node (备份): its config, device key and a consistent copy of its store, in one
    /// file, while it runs. The file holds the device key: keep it as safe as the key.
    Backup {
        #[command(flatten)]
        data: DataArg,
        /// The backup file (outside the data directory).
        #[arg(long)]
        out: std::path::PathBuf,
        /// Overwrite `--out` if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Restore a node from a backup (恢复) into a new data directory; start it with `run`. It gets a
    /// new control token and boot epoch and takes what it lacks from its peers. Stop the node the
    /// backup was taken from first: two processes must never run one device.
    Restore {
        #[command(flatten)]
        data: DataArg,
        /// The backup file.
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Run the node unattended (系统服务): write a systemd unit for a data directory.
    Service {
        #[command(subcommand)]
        action: ServiceCmd,
    },
    /// Peers (对端节点): list what this node knows of each, add or remove an address to dial.
    Peer {
        #[command(subcommand)]
        action: PeerCmd,
    },
    /// The store (存储): check what is persisted against a full rebuild from the signed changes.
    Store {
        #[command(subcommand)]
        action: StoreCmd,
    },
    /// The catalogue as a table (事项目录导入): import CSV or XLSX.
    Catalogue {
        #[command(subcommand)]
        action: CatalogueCmd,
    },
    /// Export effective records as a table (导出): items or stationing, as CSV, XLSX or JSON.
    Export {
        #[command(flatten)]
        data: DataArg,
        /// What to export: items, stationing (staff, departments, cases come with issue #4).
        #[arg(long)]
        kind: String,
        /// csv, xlsx or json (default: from --out's extension).
        #[arg(long)]
        format: Option<String>,
        /// Where to write (outside the data directory).
        #[arg(long)]
        out: PathBuf,
        /// Overwrite `--out` if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Signed changes on a USB stick (离线交换): export every applied change, or import a bundle.
    Bundle {
        #[command(subcommand)]
        action: BundleCmd,
    },
    /// Run a small federation of real nodes on 127.0.0.1 that syncs, partitions and heals (演示).
    Demo(DemoArgs),
}

/// `hallsync init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The hall's id: its division code (e.g. 440305) or another short id.
    #[arg(long)]
    pub hall: String,
    /// The hall's level.
    #[arg(long, value_parser = ["city", "district", "township", "village"])]
    pub level: String,
    /// The hall's name, e.g. 南山区政务服务中心.
    #[arg(long)]
    pub name: String,
    /// The parent hall's id (every level but the city).
    #[arg(long)]
    pub parent: Option<String>,
    /// The libp2p listen address, e.g. /ip4/127.0.0.1/tcp/4001 (/ip4/0.0.0.0/tcp/4001 for every
    /// interface).
    #[arg(long)]
    pub listen: Option<String>,
    /// An address other nodes should dial this one at, without /p2p/ (repeatable): a public or
    /// extranet address, or a router's forwarded port. Invitation tokens carry it.
    #[arg(long = "announce")]
    pub announce: Vec<String>,
    /// Found a new network with this city node as its root of trust.
    #[arg(long)]
    pub genesis: bool,
}

/// `hallsync invite`.
#[derive(Args, Debug)]
pub struct InviteArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The invitee's device id (printed by its `hallsync init`).
    #[arg(long)]
    pub device: String,
    /// The invitee's hall id.
    #[arg(long)]
    pub hall: String,
    /// The invitee's hall level.
    #[arg(long, value_parser = ["city", "district", "township", "village"])]
    pub level: String,
    /// The role to certify.
    #[arg(long, value_parser = ["operator", "admin"])]
    pub role: String,
    /// The invitee hall's parent (default: this node's hall).
    #[arg(long)]
    pub parent: Option<String>,
    /// The invitee hall's name (default: its id).
    #[arg(long)]
    pub hall_name: Option<String>,
    /// Record kinds the certificate covers, comma-separated: catalogue, stationing, policy
    /// (default: all for an admin, stationing for an operator).
    #[arg(long, value_delimiter = ',')]
    pub kinds: Option<Vec<String>>,
    /// Cover only this hall, not the halls under it (administrators cover their subtree by default).
    #[arg(long)]
    pub hall_only: bool,
    /// The holder may not certify others (administrators may by default).
    #[arg(long)]
    pub no_certify: bool,
    /// Valid for this many days from now (default: no expiry).
    #[arg(long)]
    pub valid_days: Option<u32>,
}

/// `hallsync item …`.
#[derive(Subcommand, Debug)]
pub enum ItemCmd {
    /// Create or adjust a catalogue item (city administrator).
    Create {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        item: ItemArgs,
    },
}

/// Every element of a catalogue item (ST 5.2.2, DG 6.1.3).
#[derive(Args, Debug)]
pub struct ItemArgs {
    /// 事项编码: 12-character basic code, 31-character implementation code or 33-character
    /// handling-item code (C1, C2).
    #[arg(long)]
    pub code: String,
    /// Keep a code of another shape as a legacy code (C2).
    #[arg(long)]
    pub legacy_code: bool,
    /// 事项名称.
    #[arg(long)]
    pub name: String,
    /// 事项类型: administrative_license, administrative_levy, administrative_payment,
    /// administrative_confirmation, administrative_reward, administrative_ruling, other_power, public_service.
    #[arg(long = "type")]
    pub item_type: hallsync_model::records::item::ItemType,
    /// 实施主体 (responsible department).
    #[arg(long)]
    pub department: String,
    /// 承诺时限 in working days.
    #[arg(long)]
    pub promised_days: i64,
    /// 法定时限 in working days (C5: the promised limit may not exceed it).
    #[arg(long, default_value_t = 0)]
    pub statutory_days: i64,
    /// 设定依据.
    #[arg(long, default_value = "")]
    pub legal_basis_setting: String,
    /// 实施依据.
    #[arg(long, default_value = "")]
    pub legal_basis_implementing: String,
    /// 办理条件.
    #[arg(long, default_value = "")]
    pub conditions: String,
    /// 办理流程.
    #[arg(long, default_value = "")]
    pub process: String,
    /// 收费标准; giving it marks the item as charging a fee (C7 then needs --fee-basis).
    #[arg(long)]
    pub fee_standard: Option<String>,
    /// 收费依据.
    #[arg(long, default_value = "")]
    pub fee_basis: String,
    /// 通办范围: none, citywide, inter_city, in_province, inter_province.
    #[arg(long, default_value = "none")]
    pub cross_region: hallsync_model::records::item::CrossRegion,
    /// 办事指南.
    #[arg(long, default_value = "")]
    pub guide: String,
    /// A material, repeatable: ID:NAME:FORM:COUNT[:required][:deferrable], FORM original|copy|electronic.
    #[arg(long = "material")]
    pub materials: Vec<String>,
}

/// `hallsync station …`.
#[derive(Subcommand, Debug)]
pub enum StationCmd {
    /// Propose an adjustment of a stationed item (调整, ST 5.3.4), approved like a stationing.
    Adjust {
        #[command(flatten)]
        data: DataArg,
        /// The item code.
        #[arg(long)]
        item: String,
        /// The hall (default: this node's hall).
        #[arg(long)]
        hall: Option<String>,
        /// What is adjusted.
        #[arg(long)]
        note: String,
    },
    /// Propose withdrawing a stationed item (撤离, ST 8.1.1): needs its reason and legal basis (S4).
    Withdraw {
        #[command(flatten)]
        data: DataArg,
        /// The item code.
        #[arg(long)]
        item: String,
        /// The hall (default: this node's hall).
        #[arg(long)]
        hall: Option<String>,
        /// law_change, cancelled, negotiated or other.
        #[arg(long, default_value = "other")]
        reason_kind: String,
        /// The written reason.
        #[arg(long)]
        reason: String,
        /// Its legal basis.
        #[arg(long)]
        basis: String,
        /// The date the hall stopped offering it, if it already did (flagged S6 until approved).
        #[arg(long)]
        executed_at: Option<String>,
    },
    /// Record the publication of an approved withdrawal (ST 8.1.2: within 3 working days).
    Publish {
        #[command(flatten)]
        data: DataArg,
        /// The item code.
        #[arg(long)]
        item: String,
        /// The hall (default: this node's hall).
        #[arg(long)]
        hall: Option<String>,
        /// management (the supervising administrators, who also update the item list) or department.
        #[arg(long, value_parser = ["management", "department"])]
        by: String,
        /// Where it was published.
        #[arg(long, default_value = "政务服务网 portal")]
        channels: String,
    },
    /// Propose stationing an item at a hall (an operator of that hall).
    Propose {
        #[command(flatten)]
        data: DataArg,
        /// The item code.
        #[arg(long)]
        item: String,
        /// The hall (default: this node's hall).
        #[arg(long)]
        hall: Option<String>,
    },
}

/// `hallsync case …`.
#[derive(Subcommand, Debug)]
pub enum CaseCmd {
    /// Receive a case at this hall (收件), to be handled at --handling (K11: cross-region items only
    /// when that is another hall).
    Open {
        #[command(flatten)]
        data: DataArg,
        /// The item code.
        #[arg(long)]
        item: String,
        /// The handling hall (办理地); this node's hall for a local case.
        #[arg(long)]
        handling: String,
        /// The case number.
        #[arg(long)]
        no: String,
        /// The applicant's id number (GB 11643): sealed to the two parties; carriers never read it.
        #[arg(long)]
        applicant_id: String,
        /// The applicant's name, sealed with the id.
        #[arg(long)]
        applicant_name: Option<String>,
    },
    /// Move a case to its next state: correction_requested, received, accepted,
    /// accepted_with_deferred_materials, rejected, transferred, in_review, decided, issued,
    /// delivered, archived.
    Step {
        #[command(flatten)]
        data: DataArg,
        /// The case record: case/ACCEPTING/HANDLING/NO.
        #[arg(long)]
        case: String,
        /// The state to enter.
        to: String,
        /// Missing (correction, K2) or deferred (容缺, K5) materials, comma separated.
        #[arg(long, value_delimiter = ',')]
        materials: Vec<String>,
        /// Reason (rejection, K4) or outcome.
        #[arg(long, default_value = "")]
        note: String,
        /// 容缺受理: the day the deferred materials are due (K5), YYYY-MM-DD.
        #[arg(long)]
        supply_by: Option<String>,
        /// Issue mode: window (统一出件) or mail (免费寄递).
        #[arg(long, value_parser = ["window", "mail"])]
        mode: Option<String>,
    },
    /// Erase an archived case's personal data now, everywhere (删除个人信息, D1): its parties do
    /// this on their own once `cases.retention_days` have passed; this is for an applicant's
    /// request before then. Cannot be undone.
    Erase {
        #[command(flatten)]
        data: DataArg,
        /// The case record: case/ACCEPTING/HANDLING/NO.
        #[arg(long)]
        case: String,
    },
}

/// `hallsync dept …`.
#[derive(Subcommand, Debug)]
pub enum DeptCmd {
    /// Propose stationing a department (S7: plan, letter of authorisation and filing required).
    Station {
        #[command(flatten)]
        data: DataArg,
        /// The hall (default: this node's).
        #[arg(long)]
        hall: Option<String>,
        /// A short id for the department.
        #[arg(long)]
        id: String,
        /// Its name (as items name their 实施主体).
        #[arg(long)]
        name: String,
        /// Its unified social credit code.
        #[arg(long, default_value = "")]
        uscc: String,
        /// The stationing plan (进驻方案, ST Annex A): a reference.
        #[arg(long)]
        plan: String,
        /// The letter of authorisation (授权委托书).
        #[arg(long)]
        authorization: String,
        /// The filing form (部门进驻备案登记表).
        #[arg(long)]
        filing: String,
    },
    /// Propose withdrawing a department (S8: application and archives handover required; no items
    /// or staff may remain).
    Withdraw {
        #[command(flatten)]
        data: DataArg,
        /// The hall (default: this node's).
        #[arg(long)]
        hall: Option<String>,
        /// The department's id.
        #[arg(long)]
        id: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// The written application (ST 7.1).
        #[arg(long)]
        application: String,
        /// The archives handover (ST 7.2): to whom, when.
        #[arg(long)]
        archives: String,
    },
    /// The departments and their status.
    List {
        #[command(flatten)]
        data: DataArg,
        /// Only this hall.
        #[arg(long)]
        hall: Option<String>,
    },
}

/// `hallsync staff …`.
#[derive(Subcommand, Debug)]
pub enum StaffCmd {
    /// File a person at a window (ST 6.2.1); approved by the supervising tier.
    File {
        #[command(flatten)]
        data: DataArg,
        /// The hall (default: this node's).
        #[arg(long)]
        hall: Option<String>,
        /// A pseudonymous id for the person, unique at the hall.
        #[arg(long)]
        person: String,
        /// Name, shown at the window.
        #[arg(long)]
        name: String,
        /// 工号.
        #[arg(long, default_value = "")]
        job_no: String,
        /// The id of a department stationed at the hall (`hallsync dept list` shows them; ST 6.2.1).
        #[arg(long)]
        department: String,
        /// The window.
        #[arg(long)]
        window: String,
        /// window_staff, window_lead or chief_representative.
        #[arg(long, default_value = "window_staff")]
        role: String,
        /// The person is the department's business lead or higher (needed for window_lead, P2).
        #[arg(long)]
        business_lead: bool,
        /// Certificates for the post (ST 6.1.2).
        #[arg(long, default_value = "")]
        certificates: String,
        /// This is an adjustment filing (ST 9.1): the person replaced at the same window.
        #[arg(long)]
        replaces: Option<String>,
    },
    /// Record joint training (ST 6.2.2), reporting for duty (ST 6.2.3) or leaving (P4: only once
    /// someone else is on duty at the window).
    Record {
        #[command(flatten)]
        data: DataArg,
        /// The hall (default: this node's).
        #[arg(long)]
        hall: Option<String>,
        /// The person.
        #[arg(long)]
        person: String,
        /// train, duty or leave.
        #[arg(value_parser = ["train", "duty", "leave"])]
        step: String,
        /// The day, YYYY-MM-DD.
        #[arg(long)]
        on: String,
        /// For leave: appointment, dismissal, returned_unfit or other.
        #[arg(long)]
        reason: Option<String>,
    },
    /// The roster, with held departures (P4) and warnings (P3).
    List {
        #[command(flatten)]
        data: DataArg,
        /// Only this hall.
        #[arg(long)]
        hall: Option<String>,
    },
}

/// `hallsync catalogue …`.
#[derive(Subcommand, Debug)]
pub enum CatalogueCmd {
    /// Import items from a CSV or XLSX table with Chinese headers (docs/CATALOGUE.md): every bad row
    /// is reported, and nothing is imported unless every row is good.
    Import {
        #[command(flatten)]
        data: DataArg,
        /// The table: .csv (UTF-8) or .xlsx (first sheet).
        file: PathBuf,
        /// Only check the table and report.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `hallsync service …`.
#[derive(Subcommand, Debug)]
pub enum ServiceCmd {
    /// Write a systemd unit that runs `hallsync run` for this data directory as its own user,
    /// restarts it on failure and stops it with SIGTERM; prints what to run as root next.
    Install {
        #[command(flatten)]
        data: DataArg,
        /// The system user the node runs as.
        #[arg(long, default_value = "hallsync")]
        user: String,
        /// Where to write the unit (default /etc/systemd/system/hallsync-HALL.service).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Overwrite an existing unit.
        #[arg(long)]
        force: bool,
    },
}

/// `hallsync peer …`.
#[derive(Subcommand, Debug)]
pub enum PeerCmd {
    /// Every peer this running node knows: device, hall, path, last seen, last sync, what each
    /// side lacked in the last round, bytes, the last error; and the addresses in config.
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Dial ADDR from now on (kept in config): the full address, `/ip4/…/tcp/…/p2p/12D3KooW…` as
    /// the other node's `status` prints it.
    Add {
        #[command(flatten)]
        data: DataArg,
        /// The address.
        addr: String,
    },
    /// Stop dialling an address from config, or every address of a peer (its `12D3KooW…` id).
    Remove {
        #[command(flatten)]
        data: DataArg,
        /// The address or the peer id.
        target: String,
    },
}

/// `hallsync store …`.
#[derive(Subcommand, Debug)]
pub enum StoreCmd {
    /// Rebuild every record from its signed changes, as if received afresh, and report any
    /// difference from what the node holds (records, quarantine, equivocations, trust); exits 1
    /// when there is one.
    Check {
        #[command(flatten)]
        data: DataArg,
    },
}

/// `hallsync bundle …`.
#[derive(Subcommand, Debug)]
pub enum BundleCmd {
    /// Write every applied signed change to a file.
    Export {
        #[command(flatten)]
        data: DataArg,
        /// Where to write the bundle (outside the data directory).
        file: PathBuf,
        /// Overwrite `file` if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Read a bundle; its changes get every check a peer's would.
    Import {
        #[command(flatten)]
        data: DataArg,
        /// The bundle written by `bundle export`.
        file: PathBuf,
    },
}

/// `hallsync calendar …`.
#[derive(Subcommand, Debug)]
pub enum CalendarCmd {
    /// A year's days off and make-up working days, and whether its notice is loaded.
    Show {
        #[command(flatten)]
        data: DataArg,
        /// The year.
        #[arg(long)]
        year: i32,
    },
    /// Publish a year's arrangement from the State Council notice (city administrator).
    Set {
        #[command(flatten)]
        data: DataArg,
        /// The year.
        #[arg(long)]
        year: i32,
        /// Official days off, comma separated YYYY-MM-DD.
        #[arg(long)]
        off: String,
        /// Weekend days that are working days (调休上班), comma separated.
        #[arg(long, default_value = "")]
        workdays: String,
        /// The notice, e.g. 国务院办公厅关于2027年部分节假日安排的通知.
        #[arg(long)]
        source: String,
    },
    /// The due date of a limit of N working days from a start day (the start day is not counted).
    Due {
        #[command(flatten)]
        data: DataArg,
        /// The start day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// The limit in working days.
        #[arg(long)]
        days: u32,
    },
}

/// `hallsync policy …`.
#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// Propose a policy for an action; it takes effect once another city administrator approves it.
    Set {
        #[command(flatten)]
        data: DataArg,
        /// The action governed.
        #[arg(long, value_parser = ["stationing"])]
        action: String,
        /// Distinct approvers required (1–9).
        #[arg(long)]
        approvers: u8,
        /// Whose approvals count.
        #[arg(long, value_parser = ["supervisor", "city"], default_value = "supervisor")]
        tier: String,
    },
    /// The policies in effect, and a pending change.
    Show {
        #[command(flatten)]
        data: DataArg,
    },
}

/// `hallsync demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Keep the demo's data directories here instead of a temporary folder.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Give up if the federation has not converged within this many seconds.
    #[arg(long, default_value_t = 45)]
    pub timeout_s: u64,
}

/// One page of a listing instead of all of it (分页).
#[derive(Args, Debug, Clone, Default)]
pub struct PageArgs {
    /// Show one page of at most N entries (1–1000) and the cursor of the next.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: Option<u16>,
    /// Continue after this cursor (the `next` a previous page printed).
    #[arg(long)]
    pub after: Option<String>,
}

impl PageArgs {
    /// True when the user asked for one page.
    pub fn one_page(&self) -> bool {
        self.limit.is_some() || self.after.is_some()
    }

    /// The limit for the node.
    pub fn limit(&self) -> Option<usize> {
        self.limit.map(usize::from)
    }
}
