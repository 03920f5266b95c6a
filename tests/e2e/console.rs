//! The administrators' console in a real headless Chromium, against real nodes.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use hallsync::harness::{sample_item, Federation, NodeProcess};
use hallsync_model::records::item::ItemType;
use hallsync_node::engine::StationRequest;
use hallsync_node::Command;
use hallsync_tests::{small_federation, Small, CONVERGE_TIMEOUT, VILLAGE_HALL};

use crate::browser::{Browser, WIDTH};

const TOWNSHIP_HALL: &str = "441900101";
const ITEM_A: &str = "442000021000";
const ITEM_B: &str = "442000022000";

/// A sign-in link from `hallsync console` on `node`.
fn link(node: &NodeProcess) -> String {
    let dir = node.dir.to_string_lossy().to_string();
    let out = node.cli(&["console", "--data", &dir]).unwrap();
    out["url"].as_str().unwrap().to_string()
}

/// Signs the browser in to `node`'s console; returns the console's base, `http://ADDR`.
fn sign_in(browser: &Browser, node: &NodeProcess) -> String {
    let url = link(node);
    browser.goto(&url).unwrap();
    browser.wait_text("待审批 Pending").unwrap();
    let now = browser.url().unwrap();
    assert!(
        now.ends_with("/console/pending"),
        "the link signs in and opens the pending page: at {now}: {}",
        browser.text().unwrap_or_default()
    );
    assert!(!now.contains('#'), "the secret leaves the address bar");
    url.split("/console/").next().unwrap().to_string()
}

/// The id of the proposal of `record` among those `node` may decide.
fn proposal_id(node: &NodeProcess, record: &str) -> String {
    let pending = node.call(Command::pending()).unwrap();
    pending["pending"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["doc"] == record)
        .unwrap_or_else(|| panic!("{} may not decide {record}: {pending:#}", node.name))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn items(fed: &Federation, n: &Small) {
    for (code, name) in [(ITEM_A, "老年证办理"), (ITEM_B, "残疾人证办理")] {
        fed.node(n.city)
            .call(Command::ItemCreate(sample_item(
                code,
                name,
                ItemType::PublicService,
                "民政局",
                5,
            )))
            .unwrap();
    }
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
}

fn propose(node: &NodeProcess, code: &str, hall: Option<&str>) {
    node.call(Command::StationPropose(StationRequest::station(code, hall)))
        .unwrap();
}

/// Asserts the console answered with a refusal in its flash, and the proposal `id` of `record`
/// still waits at `node`.
fn refused_and_still_pending(browser: &Browser, node: &NodeProcess, record: &str, id: &str) {
    assert_eq!(
        browser.count(".flash.error").unwrap(),
        1,
        "{}",
        browser.text().unwrap()
    );
    assert_eq!(proposal_id(node, record), id, "{record} is still pending");
}

/// Opens a page and checks that it lays out within 1366 px, then saves its screenshot.
fn shoot(browser: &Browser, base: &str, path: &str, name: &str) -> String {
    browser.goto(&format!("{base}{path}")).unwrap();
    let text = browser.text().unwrap();
    assert!(
        !text.contains("节点未能回答"),
        "{path} failed to render: {text}"
    );
    let width = browser.page_width().unwrap();
    assert!(
        width <= u64::from(WIDTH),
        "{path} is {width} px wide: it overflows a 1366×768 screen"
    );
    browser.screenshot(name).unwrap();
    text
}

#[test]
fn a_township_administrator_decides_in_the_console_and_every_node_follows() {
    // Goal: the township administrator signs in with a link, sees the village's stationing proposal
    // with its content, approves it, and the city (another process) shows it in effect; rejects
    // another with a reason, which the village's console shows; every page renders within a
    // 1366×768 screen, and its screenshot is kept under target/console-screenshots/.
    let (fed, n) = small_federation().unwrap();
    items(&fed, &n);
    propose(fed.node(n.village), ITEM_A, None);
    propose(fed.node(n.village), ITEM_B, None);
    fed.node(n.village)
        .call(hallsync_tests::civil_affairs_filing(
            "进驻方案 2026-01：两个窗口，周一至周五",
        ))
        .unwrap();
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    let record_a = format!("station/{VILLAGE_HALL}/{ITEM_A}");
    let record_b = format!("station/{VILLAGE_HALL}/{ITEM_B}");
    let (id_a, id_b) = (
        proposal_id(fed.node(n.township), &record_a),
        proposal_id(fed.node(n.township), &record_b),
    );

    let browser = Browser::start().unwrap();
    let township = sign_in(&browser, fed.node(n.township));
    let text = shoot(&browser, &township, "/console/pending", "01-pending");
    for shown in [
        ITEM_A,
        ITEM_B,
        "事项进驻",
        "部门进驻",
        "进驻方案 2026-01",
        "审批进度",
        "操作",
    ] {
        assert!(
            text.contains(shown),
            "the pending page shows {shown}: {text}"
        );
    }
    assert_eq!(
        browser.text_of("#live-pending").unwrap(),
        "待审批 Pending 3",
        "the badge counts what waits"
    );

    // Approve A.
    browser
        .click(&format!("div[data-proposal='{id_a}'] button.primary"))
        .unwrap();
    assert!(browser.text_of(".flash.ok").unwrap().contains("已批准"));
    // Reject B with a reason.
    let reason = "材料不全，请补充进驻方案";
    browser
        .type_into(&format!("div[data-proposal='{id_b}'] textarea"), reason)
        .unwrap();
    browser
        .click(&format!("div[data-proposal='{id_b}'] button.danger"))
        .unwrap();
    assert!(browser.text_of(".flash.ok").unwrap().contains("已驳回"));
    // The department's filing too, so the departments page has one in effect.
    let dept = proposal_id(fed.node(n.township), &format!("dept/{VILLAGE_HALL}/mzj"));
    browser
        .click(&format!("div[data-proposal='{dept}'] button.primary"))
        .unwrap();
    assert_eq!(browser.count("div[data-proposal]").unwrap(), 0);
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();

    // The city's node, another process, has A in effect; so does its console.
    let at_city = fed
        .node(n.city)
        .call(Command::items(Some(VILLAGE_HALL.into())))
        .unwrap();
    assert!(
        at_city["stationed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["item"] == ITEM_A && s["status"] == "approved"),
        "{at_city:#}"
    );
    let city = sign_in(&browser, fed.node(n.city));
    browser
        .goto(&format!("{city}/console/stationing?hall={VILLAGE_HALL}"))
        .unwrap();
    let text = browser.text().unwrap();
    assert!(text.contains(ITEM_A) && text.contains("已生效"), "{text}");

    // The village's console shows B rejected, with the township's reason.
    let village = sign_in(&browser, fed.node(n.village));
    browser
        .goto(&format!("{village}/console/stationing"))
        .unwrap();
    let text = browser.text().unwrap();
    assert!(text.contains("已驳回") && text.contains(reason), "{text}");

    // Live: a new proposal shows in the badge without reloading the page.
    browser
        .goto(&format!("{township}/console/pending"))
        .unwrap();
    browser.run_js("window.stillHere = 'yes';").unwrap();
    assert_eq!(
        browser.text_of("#live-pending").unwrap(),
        "待审批 Pending 0"
    );
    propose(fed.node(n.village), ITEM_B, None);
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    browser
        .wait_text_of("#live-pending", "待审批 Pending 1")
        .expect("the badge counts the new proposal");
    assert_eq!(
        browser.run_js("return window.stillHere;").unwrap(),
        "yes",
        "the page was not reloaded"
    );
    assert!(browser.text_of("#live-sync").unwrap().contains("已同步"));

    // A case between the village and its township (the city, not on its path, never holds it).
    fed.node(n.village)
        .call(Command::CaseOpen {
            item: ITEM_A.into(),
            handling: TOWNSHIP_HALL.into(),
            case_no: "K2026-001".into(),
            applicant_id: "440300199001011238".into(),
            applicant_name: Some("张三".into()),
        })
        .unwrap();
    fed.node(n.village)
        .call(Command::CaseStep {
            case: format!("case/{VILLAGE_HALL}/{TOWNSHIP_HALL}/K2026-001"),
            to: "accepted".into(),
            materials: vec![],
            note: "材料齐全，予以受理".into(),
            supply_by: None,
            mode: None,
        })
        .unwrap();
    // A window-staff filing for the department now stationed, waiting for the township.
    fed.node(n.village)
        .call(Command::StaffFile {
            hall: None,
            fields: hallsync_model::records::staff::StaffFields {
                person: "p001".into(),
                name: "张敏".into(),
                job_no: "SJ-0421".into(),
                department: "mzj".into(),
                window: "w1".into(),
                role: "window_staff".into(),
                ..Default::default()
            },
        })
        .unwrap();
    fed.wait_converged_among(&[n.township, n.village], CONVERGE_TIMEOUT)
        .unwrap();

    // Signing in to the village did not sign the browser out of the township (cookies per port).
    let pages = [
        ("/console/catalogue", "02-catalogue"),
        (&*format!("/console/catalogue/item/{ITEM_A}"), "03-item"),
        ("/console/catalogue/import", "04-import"),
        (
            &*format!("/console/stationing?hall={VILLAGE_HALL}"),
            "05-stationing",
        ),
        (
            &*format!("/console/departments?hall={VILLAGE_HALL}"),
            "06-departments",
        ),
        (&*format!("/console/staff?hall={VILLAGE_HALL}"), "07-staff"),
        ("/console/halls", "08-halls"),
        ("/console/cases", "09-cases"),
        ("/console/sync", "10-sync"),
        (&*format!("/console/audit?record={record_a}"), "11-audit"),
    ];
    for (path, name) in pages {
        shoot(&browser, &township, path, name);
    }
    browser.goto(&format!("{township}/console/cases")).unwrap();
    browser.click("details summary").unwrap();
    browser.screenshot("09-cases").unwrap();
    let text = browser.text().unwrap();
    assert!(
        text.contains("K2026-001") && text.contains("受理") && text.contains("材料齐全"),
        "the case and its timeline: {text}"
    );
    let text = shoot(
        &browser,
        &township,
        &format!("/console/staff?hall={VILLAGE_HALL}"),
        "07-staff",
    );
    assert!(text.contains("备案待审批"), "{text}");
    let text = shoot(
        &browser,
        &township,
        &format!("/console/audit?record={record_a}"),
        "11-audit",
    );
    assert!(
        text.contains("批准 approve") && text.contains("已生效"),
        "{text}"
    );
    let text = shoot(&browser, &township, "/console/sync", "10-sync");
    let device = fed.node(n.township).call(Command::Status).unwrap()["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&device),
        "the sync page names the device: {text}"
    );

    // Signing out ends the session: the next page is refused.
    browser
        .goto(&format!("{township}/console/pending"))
        .unwrap();
    browser.click("header form button").unwrap();
    browser
        .goto(&format!("{township}/console/pending"))
        .unwrap();
    browser
        .wait_text("未登录")
        .expect("signed out, the console refuses");
}

/// Serves `page` from another origin (127.0.0.1, another port) to whoever asks, until `done` is
/// set or a minute has passed.
fn serve_other_site(
    page: String,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let handle = std::thread::spawn(move || {
        let mut served = 0;
        while Instant::now() < deadline
            && served < 8
            && !done.load(std::sync::atomic::Ordering::Relaxed)
        {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nonblocking(false).ok();
                    stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                        page.len()
                    );
                    served += 1;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (format!("http://{addr}/"), handle)
}

#[test]
fn the_console_refuses_strangers_operators_ones_own_proposals_and_cross_site_posts() {
    // Goal: without a session every page and action is refused; a link works once; an operator
    // sees no approve button and the node refuses its decision anyway; one's own proposal is not
    // listed and a forged approval of it is refused; a cross-site POST without the CSRF token is
    // refused; a catalogue import with bad rows shows every bad cell and imports nothing.
    let (mut fed, n) = small_federation().unwrap();
    items(&fed, &n);
    propose(fed.node(n.village), ITEM_A, None);
    fed.wait_converged(CONVERGE_TIMEOUT).unwrap();
    // The township's own hall's stationing, decided by the city (the village does not hold it).
    propose(fed.node(n.township), ITEM_A, Some(TOWNSHIP_HALL));
    fed.wait_converged_among(&[n.city, n.township], CONVERGE_TIMEOUT)
        .unwrap();
    let village_record = format!("station/{VILLAGE_HALL}/{ITEM_A}");
    let village_a = proposal_id(fed.node(n.township), &village_record);
    let own = format!("station/{TOWNSHIP_HALL}/{ITEM_A}");
    let own_id = proposal_id(fed.node(n.city), &own);

    // No session: every page and action is refused, before anything is read.
    let url = link(fed.node(n.township));
    let base = url.split("/console/").next().unwrap().to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    for (path, _, _) in hallsync_node::console::layout::NAV {
        let status = agent.get(&format!("{base}{path}")).call().unwrap().status();
        assert_eq!(status, 401, "{path} without a session");
    }
    for path in [
        "/console/live",
        "/console/catalogue/export?kind=items&format=csv",
    ] {
        assert_eq!(
            agent.get(&format!("{base}{path}")).call().unwrap().status(),
            401,
            "{path}"
        );
    }
    let posted = agent
        .post(&format!("{base}/console/approve"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(format!("id={village_a}"))
        .unwrap();
    assert_eq!(posted.status(), 401);
    let forged_cookie = agent
        .get(&format!("{base}/console/pending"))
        .header("cookie", "hallsync_console_1=0000")
        .call()
        .unwrap();
    assert_eq!(forged_cookie.status(), 401);
    let headers = agent.get(&format!("{base}/console/signin")).call().unwrap();
    let csp = headers
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );

    // A request that names another host (DNS rebinding: evil.example resolving to 127.0.0.1) is
    // refused whatever it asks.
    let port = base.rsplit(':').next().unwrap().to_string();
    let rebound = agent
        .get(&format!("{base}/console/signin"))
        .header("host", &format!("evil.example:{port}"))
        .call()
        .unwrap();
    assert_eq!(rebound.status(), 421);

    // A body announced and never sent is cut off within seconds, not held open.
    let started = Instant::now();
    let mut slow = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        slow,
        "POST /console/signin HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 500\r\n\r\ntoken="
    )
    .unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 408") && started.elapsed() < Duration::from_secs(25),
        "a stalled body is answered 408 within its bound: {answer:.80} after {:?}",
        started.elapsed()
    );

    // A link works once.
    let browser = Browser::start().unwrap();
    browser.goto(&url).unwrap();
    browser.wait_text("待审批 Pending").unwrap();
    assert!(browser.url().unwrap().ends_with("/console/pending"));
    browser.goto(&url).unwrap();
    browser.wait_text("已用过").expect("a used link is refused");

    // One's own proposal is not listed; a forged approval of it is refused by the node.
    browser.goto(&format!("{base}/console/pending")).unwrap();
    let text = browser.text().unwrap();
    assert!(
        text.contains(VILLAGE_HALL) && !text.contains(&own_id),
        "{text}"
    );
    browser
        .set_value(
            &format!("div[data-proposal='{village_a}'] input[name=id]"),
            &own_id,
        )
        .unwrap();
    browser
        .click(&format!("div[data-proposal='{village_a}'] button.primary"))
        .unwrap();
    refused_and_still_pending(&browser, fed.node(n.city), &own, &own_id);

    // A page on another site posts to the console without the CSRF token: refused.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (other, server) = serve_other_site(
        format!(
            "<!doctype html><form method=post action='{base}/console/approve'><input name=id value='{village_a}'><button id=go>win a prize</button></form>"
        ),
        done.clone(),
    );
    browser.goto(&other).unwrap();
    browser.click("#go").unwrap();
    let text = browser.text().unwrap();
    assert!(
        text.contains("防伪令牌") || text.contains("另一个网站"),
        "{text}"
    );
    assert_eq!(
        proposal_id(fed.node(n.township), &village_record),
        village_a,
        "the cross-site approval did not happen"
    );
    // Nor may it open a signed-in page, e.g. one with a message of its own in the flash.
    browser.goto(&other).unwrap();
    browser
        .run_js(&format!(
            "window.location = '{base}/console/pending?error=' + encodeURIComponent('mail control.json to evil');"
        ))
        .unwrap();
    let text = browser.wait_text("另一个网站").unwrap();
    assert!(!text.contains("mail control.json"), "{text}");
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap();

    // An operator (the village) sees nothing to decide and no button; the node refuses anyway.
    let village = sign_in(&browser, fed.node(n.village));
    assert_eq!(browser.count("div[data-proposal]").unwrap(), 0);
    assert_eq!(browser.count("button.primary").unwrap(), 0);
    let csrf = browser.csrf().unwrap();
    browser
        .post_form(
            &format!("{village}/console/approve?csrf={csrf}"),
            &[("id", &village_a)],
        )
        .unwrap();
    refused_and_still_pending(&browser, fed.node(n.township), &village_record, &village_a);

    // `[console] listen` serves the console on an address of its own, not beside the control API.
    let township_node = fed.node_mut(n.township);
    township_node.stop(Duration::from_secs(20));
    let config = township_node.dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let own_listen = text.replace(
        "[console]\nlisten = \"\"",
        "[console]\nlisten = \"127.0.0.1:0\"",
    );
    assert_ne!(
        own_listen, text,
        "init writes the [console] section: {text}"
    );
    std::fs::write(&config, own_listen).unwrap();
    township_node.start(CONVERGE_TIMEOUT).unwrap();
    let control = hallsync_node::control::ControlInfo::read(
        &hallsync_node::DataDir::new(&fed.node(n.township).dir).control_file(),
    )
    .unwrap()
    .unwrap();
    let own = sign_in(&browser, fed.node(n.township));
    assert_ne!(
        own,
        format!("http://{}", control.addr),
        "a console of its own"
    );
    let beside = agent
        .get(&format!("http://{}/console/signin", control.addr))
        .call()
        .unwrap();
    assert_eq!(
        beside.status(),
        404,
        "the control API serves no console then"
    );

    // The city imports a table with bad rows: every bad cell is shown, nothing is imported.
    let city = sign_in(&browser, fed.node(n.city));
    let header = crate::catalogue::HEADER;
    let good = "440100001000,居民身份证换领,行政许可,公安局,法,规,条件,流程,否,,,20,10,全市通办,指南,id|身份证|原件|1|必要";
    let bad_c5 = "440100002000,个体工商户登记,行政许可,市监局,法,规,条件,流程,否,,,3,5,不通办,指南,id|申请书|原件|1";
    let bad_type = "440100003000,户籍迁移,许可,公安局,法,规,条件,流程,也许,,,,2,不通办,指南,";
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("items.csv");
    std::fs::write(&csv, format!("{header}\n{good}\n{bad_c5}\n{bad_type}\n")).unwrap();
    browser
        .goto(&format!("{city}/console/catalogue/import"))
        .unwrap();
    browser.type_into("#file", csv.to_str().unwrap()).unwrap();
    browser.click("input[name=dry_run]").unwrap(); // unchecked: a real import
    browser.click("form[enctype] button.primary").unwrap();
    let rows = browser.count("#bad-cells tbody tr").unwrap();
    let text = browser.text_of("#bad-cells").unwrap();
    for cell in ["承诺时限", "事项类型", "是否收费"] {
        assert!(text.contains(cell), "the bad cell {cell} is shown: {text}");
    }
    assert!(rows >= 3, "{text}");
    assert!(browser
        .text_of("#import-report")
        .unwrap()
        .contains("什么都没有导入"));
    browser.screenshot("12-import-bad-cells").unwrap();
    // A tiny workbook with one cell far away is refused, and the node lives on.
    let bomb = dir.path().join("bomb.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "事项编码").unwrap();
    sheet.write_string(1_048_575, 16_383, "far").unwrap();
    book.save(&bomb).unwrap();
    browser
        .goto(&format!("{city}/console/catalogue/import"))
        .unwrap();
    browser.type_into("#file", bomb.to_str().unwrap()).unwrap();
    browser.click("form[enctype] button.primary").unwrap();
    let refused = browser.text_of(".flash.error").unwrap();
    assert!(refused.contains("1024"), "{refused}");
    fed.node(n.city)
        .call(Command::Status)
        .expect("the node lives on");
    let held = fed.node(n.city).call(Command::items(None)).unwrap();
    assert_eq!(
        held["items"].as_array().unwrap().len(),
        2,
        "nothing was imported: {held:#}"
    );
}
