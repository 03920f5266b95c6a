//! `hallsync demo`: four real nodes on 127.0.0.1 (city, district, township, village) that sync, approve,
//! partition and heal, narrated in Chinese and English.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hallsync::harness::{sample_item, wait_until, Federation, Tier};
use hallsync_node::engine::response::{ItemsPage, PendingPage, StatusReport};
use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use serde_json::{json, Value};

use crate::args::DemoArgs;

struct Narrator {
    start: Instant,
    step: u32,
    json: bool,
    steps: Vec<Value>,
}

impl Narrator {
    fn say(&mut self, zh: &str, en: &str) {
        self.step += 1;
        let t = self.start.elapsed().as_secs_f64();
        if !self.json {
            outln!("[{t:6.2}s] {:>2}. {zh}\n           {en}", self.step);
        }
        self.steps
            .push(json!({ "step": self.step, "t_s": t, "zh": zh, "en": en }));
    }

    fn detail(&self, text: &str) {
        if !self.json {
            outln!("           · {text}");
        }
    }
}

fn pending_id(
    node: &hallsync::harness::NodeProcess,
    item: &str,
    timeout: Duration,
) -> Result<String> {
    let mut id = String::new();
    wait_until(
        &format!("a pending proposal for {item}"),
        timeout,
        Duration::from_millis(100),
        || {
            let p: PendingPage = node.call_as(Command::pending())?;
            if let Some(found) = p.pending.into_iter().find(|p| p.item == item) {
                id = found.id;
                return Ok(true);
            }
            Ok(false)
        },
    )?;
    Ok(id)
}

fn short(d: &str) -> String {
    d.chars().take(12).collect()
}

/// Runs the demo.
pub fn demo(args: DemoArgs, json: bool) -> Result<()> {
    let timeout = Duration::from_secs(args.timeout_s);
    let bin = std::env::current_exe().context("finding the hallsync binary")?;
    let mut n = Narrator {
        start: Instant::now(),
        step: 0,
        json,
        steps: Vec::new(),
    };
    let mut fed = Federation::new(&bin, args.keep.clone())?;
    n.detail(&format!("数据目录 data in {}", fed.root.display()));

    n.say("创建市级节点并建立网络（根管理员证书、信任文档）",
          "Create the city node and found the network (root administrator certificate, trust document)");
    let city = fed.add_city("city", "4403", "深圳市政务服务中心")?;
    n.say(
        "市管理员邀请区级管理员；区节点加入并运行",
        "City administrator invites the district administrator; the district node joins and runs",
    );
    let district = fed.add_member(
        "district",
        "440305",
        Tier::District,
        "南山区政务服务中心",
        "4403",
        "admin",
        city,
    )?;
    n.say(
        "区管理员邀请镇街管理员；镇街节点加入",
        "District administrator invites the township administrator; the township node joins",
    );
    let township = fed.add_member(
        "township",
        "440305001",
        Tier::Township,
        "南头街道便民服务中心",
        "440305",
        "admin",
        district,
    )?;
    n.say(
        "镇街管理员邀请村站操作员；村站节点加入",
        "Township administrator invites the village operator; the village node joins",
    );
    let village = fed.add_member(
        "village",
        "440305001001",
        Tier::Village,
        "南头村便民服务站",
        "440305001",
        "operator",
        township,
    )?;
    for node in &fed.nodes {
        let st: StatusReport = node.call_as(Command::Status)?;
        n.detail(&format!(
            "{:<9} {}  {}",
            node.name,
            short(&st.device_id),
            st.hall_name
        ));
    }

    n.say(
        "市管理员创建两个事项（签名变更）",
        "City administrator creates two catalogue items (signed changes)",
    );
    for (code, name, days) in [
        ("440100001000", "居民身份证换领", 15),
        ("440100002000", "个体工商户登记", 3),
    ] {
        fed.node(city).call(Command::ItemCreate(sample_item(
            code,
            name,
            hallsync_model::records::item::ItemType::AdministrativeLicense,
            "市政务服务数据管理局",
            days,
        )))?;
    }
    let (took, digest) = fed.wait_converged(timeout)?;
    n.detail(&format!(
        "四个节点一致 all four nodes equal after {:.2}s, digest {digest}",
        took.as_secs_f64()
    ));

    n.say(
        "村站操作员提出事项进驻申请",
        "The village operator proposes stationing an item at the village",
    );
    fed.node(village)
        .call(Command::StationPropose(StationRequest::station(
            "440100001000",
            None,
        )))?;
    let id = pending_id(fed.node(township), "440100001000", timeout)?;
    n.detail(&format!("镇街待审批 township sees pending proposal {id}"));
    let not_theirs: PendingPage = fed.node(district).call_as(Command::pending())?;
    n.detail(&format!(
        "区级待审批 district's pending list: {} (village filings are the township's to approve)",
        not_theirs.pending.len()
    ));

    n.say(
        "镇街管理员签名批准",
        "The township administrator approves with its signature",
    );
    fed.node(township).call(Command::Approve { id })?;
    let (took, digest) = fed.wait_converged(timeout)?;
    n.detail(&format!(
        "全部一致 converged after {:.2}s, digest {digest}",
        took.as_secs_f64()
    ));
    let items: ItemsPage = fed
        .node(city)
        .call_as(Command::items(Some("440305001001".into())))?;
    n.detail(&format!(
        "市级看到 city sees village stationing: {}",
        items.stationed.first().map_or("-", |s| s.status.as_str())
    ));

    n.say(
        "村站断网（分区）",
        "Cut the village off the network (partition)",
    );
    fed.node(village).call(Command::Net { online: false })?;
    n.say("分区期间两侧都有变更：村站再提一项进驻，市级新增一个事项",
          "Changes on both sides while partitioned: the village proposes another stationing, the city adds an item");
    fed.node(village)
        .call(Command::StationPropose(StationRequest::station(
            "440100002000",
            None,
        )))?;
    fed.node(city).call(Command::ItemCreate(sample_item(
        "442000003000",
        "社会保障卡申领",
        hallsync_model::records::item::ItemType::PublicService,
        "市人力资源和社会保障局",
        5,
    )))?;
    let others = [city, district, township];
    wait_until(
        "the three connected nodes to agree",
        timeout,
        Duration::from_millis(100),
        || {
            let d: Vec<String> = others
                .iter()
                .map(|i| fed.node(*i).digest())
                .collect::<Result<_>>()?;
            Ok(d.windows(2).all(|w| w[0] == w[1]))
        },
    )?;
    let digests = fed.digests()?;
    for (node, d) in fed.nodes.iter().zip(&digests) {
        n.detail(&format!("{:<9} {d}", node.name));
    }
    if digests[village] == digests[city] {
        bail!("the partitioned village should differ from the city");
    }

    n.say("恢复连接（愈合）", "Heal: the village comes back online");
    fed.node(village).call(Command::Net { online: true })?;
    let (took, digest) = fed.wait_converged(timeout)?;
    n.detail(&format!(
        "愈合后一致 converged {:.2}s after healing, digest {digest}",
        took.as_secs_f64()
    ));
    let id = pending_id(fed.node(township), "440100002000", timeout)?;
    n.say(
        "镇街管理员批准分区期间的申请",
        "The township administrator approves the proposal made during the partition",
    );
    fed.node(township).call(Command::Approve { id })?;
    let (took, digest) = fed.wait_converged(timeout)?;
    n.detail(&format!(
        "最终一致 final convergence {:.2}s, digest {digest}",
        took.as_secs_f64()
    ));

    n.say(
        "四个节点的有效记录相同",
        "All four nodes hold the same effective records",
    );
    let mut views: Vec<ItemsPage> = Vec::new();
    for node in &fed.nodes {
        views.push(node.call_as(Command::items(None))?);
    }
    if views.windows(2).any(|w| w[0] != w[1]) {
        bail!("effective records differ between nodes");
    }
    for it in &views[0].items {
        n.detail(&format!(
            "事项 item {} {}",
            it.fields.code.as_str(),
            it.fields.name
        ));
    }
    for st in &views[0].stationed {
        n.detail(&format!(
            "进驻 stationed {} @ {}: {}",
            st.item, st.hall, st.status
        ));
    }
    let quarantined: usize = fed
        .nodes
        .iter()
        .map(|x| {
            x.call_as::<StatusReport>(Command::Status)
                .map(|s| s.membership.map_or(0, |m| m.quarantined))
        })
        .sum::<Result<usize>>()?;
    n.detail(&format!(
        "隔离变更 quarantined changes on all nodes: {quarantined}"
    ));

    n.say("停止所有节点", "Stop every node");
    fed.stop_all();
    let total = n.start.elapsed().as_secs_f64();
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "ok": true, "converged": true, "digest": digest, "elapsed_s": total, "steps": n.steps })
            )?
        );
    } else {
        outln!(
            "完成 done in {total:.1}s: 四个节点状态摘要一致 all four nodes converged ({digest})"
        );
    }
    Ok(())
}
