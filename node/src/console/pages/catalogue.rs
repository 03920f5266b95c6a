//! 事项目录 Catalogue: search and page through items, an item's full guide, import a table with a
//! dry run whose bad cells are shown one by one, export to XLSX or CSV.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Extension;
use maud::{html, Markup};
use serde::Deserialize;

use super::{failed, shell, Page};
use crate::console::guard::Authed;
use crate::console::labels;
use crate::console::layout::{self, encode, label, Flash};
use crate::console::ConsoleState;
use crate::engine::response::{ImportReport, ItemsPage};
use crate::engine::Command;
use crate::table_io::{table_bytes, TableFormat};
use hallsync_model::records::item_table;
use hallsync_model::ItemView;

/// Items on one page.
const PAGE: usize = 50;

/// Most pages an export reads (each up to the largest page): far above any city's catalogue.
const EXPORT_PAGES_MAX: usize = 10_000;

/// The catalogue page's query.
#[derive(Deserialize)]
pub struct CatalogueQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// `GET /console/catalogue`.
pub async fn page(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(q): Query<CatalogueQuery>,
) -> Page {
    let shell = shell(&console, &authed).await?;
    let search = q.q.clone().filter(|s| !s.trim().is_empty());
    let listed: ItemsPage = console
        .fetch(Command::Items {
            hall: None,
            search: search.clone(),
            after: q.after.clone(),
            limit: Some(PAGE),
        })
        .await?;
    // Items come before stationings in the listing: a page without items is past the catalogue.
    let next = listed.next.as_ref().filter(|_| !listed.items.is_empty());
    let body = html! {
        form.inline method="get" action="/console/catalogue" {
            input type="search" name="q" value=[search.as_deref()] placeholder="编码、名称或部门 code, name or department" size="40";
            button type="submit" { "搜索 Search" }
            a href="/console/catalogue/import" { "导入 Import…" }
            a href="/console/catalogue/export?kind=items&format=xlsx" { "导出 XLSX" }
            a href="/console/catalogue/export?kind=items&format=csv" { "导出 CSV" }
            a href="/console/catalogue/export?kind=stationing&format=xlsx" { "导出进驻 Stationing XLSX" }
        }
        @if listed.items.is_empty() {
            (layout::none_yet("没有符合的事项。", "No item matches."))
        } @else {
            div.scroll { table {
                thead { tr {
                    th { "事项编码 " small { "code" } }
                    th { "事项名称 " small { "name" } }
                    th { "类型 " small { "type" } }
                    th { "实施主体 " small { "department" } }
                    th { "承诺时限 " small { "promised (WD)" } }
                    th { "通办范围 " small { "cross-region" } }
                    th { "缺少要素 " small { "missing (C4)" } }
                } }
                tbody {
                    @for item in &listed.items { (row(item)) }
                }
            } }
        }
        @if let Some(next) = next {
            p.pager { a href={ "/console/catalogue?after=" (encode(next)) @if let Some(s) = &search { "&q=" (encode(s)) } } { "下一页 Next page →" } }
        }
    };
    shell.render(
        "/console/catalogue",
        ("事项目录", "Catalogue"),
        &q.flash,
        body,
    )
}

fn row(item: &ItemView) -> Markup {
    let f = &item.fields;
    html! {
        tr {
            td.mono.code { a href={ "/console/catalogue/item/" (encode(f.code.as_str())) } { (f.code.as_str()) } }
            td { (f.name) }
            td { (item.type_label) }
            td { (f.department) }
            td.num { (f.promised_days) }
            td { (f.cross_region.zh()) }
            td { @if item.missing_elements.is_empty() { span.muted { "齐全 complete" } } @else { span.bad { (item.missing_elements.join("、")) } } }
        }
    }
}

/// `GET /console/catalogue/item/{code}`: every element of one item's guide.
pub async fn item(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Path(code): Path<String>,
) -> Page {
    let shell = shell(&console, &authed).await?;
    let listed: ItemsPage = console
        .fetch(Command::Items {
            hall: None,
            search: Some(code.clone()),
            after: None,
            limit: Some(200),
        })
        .await?;
    let Some(found) = listed.items.iter().find(|i| i.fields.code.as_str() == code) else {
        let flash = Flash {
            ok: None,
            error: Some(format!(
                "目录中没有事项 {code} no item {code} in the catalogue held here"
            )),
        };
        return shell.render(
            "/console/catalogue",
            ("事项目录", "Catalogue"),
            &flash,
            html! {},
        );
    };
    let f = &found.fields;
    let texts: [(&str, String); 14] = [
        ("code", f.code.as_str().to_string()),
        ("name", f.name.clone()),
        ("item_type", found.type_label.clone()),
        ("department", f.department.clone()),
        ("legal_basis_setting", f.legal_basis_setting.clone()),
        (
            "legal_basis_implementing",
            f.legal_basis_implementing.clone(),
        ),
        ("conditions", f.conditions.clone()),
        ("process", f.process.clone()),
        (
            "is_fee",
            if f.is_fee {
                "是 yes".into()
            } else {
                "否 no".into()
            },
        ),
        ("fee_standard", f.fee_standard.clone()),
        ("fee_basis", f.fee_basis.clone()),
        ("statutory_days", f.statutory_days.to_string()),
        ("promised_days", f.promised_days.to_string()),
        ("cross_region", f.cross_region.zh().to_string()),
    ];
    let body = html! {
        @if let Some(w) = &found.code_warning { ul.warnings { li { (w) } } }
        @if !found.missing_elements.is_empty() {
            ul.warnings { li { "C4 (ST 5.2.2): 缺少 missing " (found.missing_elements.join("、")) } }
        }
        div.box { table {
            tbody {
                @for (key, text) in &texts {
                    tr { th { (label(labels::field(key))) } td { @if text.is_empty() { span.muted { "—" } } @else { (layout::lines(text)) } } }
                }
                tr { th { (label(labels::field("guide"))) } td { (layout::lines(&f.guide)) } }
            }
        } }
        h2 { "申报材料 " small { "materials" } }
        @if f.materials.is_empty() {
            (layout::none_yet("没有申报材料。", "No materials listed."))
        } @else {
            table {
                thead { tr { th { "名称 name" } th { "形式 form" } th { "份数 copies" } th { "必要 required" } th { "可容缺 deferrable" } } }
                tbody {
                    @for m in &f.materials {
                        tr {
                            td { (m.name) }
                            td { (m.form.zh()) }
                            td.num { (m.count) }
                            td { @if m.required { "是 yes" } @else { "否 no" } }
                            td { @if m.deferrable { "是 yes" } @else { "否 no" } }
                        }
                    }
                }
            }
        }
        p { a href={ "/console/audit?record=" (encode(&format!("item/{}", f.code.as_str()))) } { "审计记录 Audit this record" } }
    };
    shell.render(
        "/console/catalogue",
        ("事项指南", "Item guide"),
        &Flash::default(),
        body,
    )
}

/// The export's query.
#[derive(Deserialize)]
pub struct ExportQuery {
    kind: String,
    format: String,
}

/// `GET /console/catalogue/export?kind=items|stationing&format=xlsx|csv`: the same table
/// `hallsync export` writes, as a download.
pub async fn export(State(console): State<ConsoleState>, Query(q): Query<ExportQuery>) -> Page {
    let format = match q.format.as_str() {
        "csv" => TableFormat::Csv,
        "xlsx" => TableFormat::Xlsx,
        _ => {
            return Err(failed(
                "导出格式为 csv 或 xlsx the export format is csv or xlsx",
            ))
        }
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut after = None;
    for _ in 0..EXPORT_PAGES_MAX {
        let page: serde_json::Value = console
            .fetch(Command::Records {
                kind: q.kind.clone(),
                after: after.clone(),
                limit: Some(hallsync_model::page::PAGE_LIMIT_MAX),
            })
            .await?;
        let part: Vec<Vec<String>> = serde_json::from_value(page["rows"].clone())
            .map_err(|e| failed(&format!("the node answered unexpectedly: {e}")))?;
        rows.extend(part);
        after = page["next"].as_str().map(String::from);
        if after.is_none() {
            break;
        }
    }
    let number_columns: &[&str] = if q.kind == "items" {
        &item_table::NUMBER_COLUMNS
    } else {
        &[]
    };
    let bytes = table_bytes(&rows, format, number_columns).map_err(|e| failed(&e))?;
    let (ext, mime) = match format {
        TableFormat::Xlsx => (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => ("csv", "text/csv; charset=utf-8"),
    };
    let kind: String = q.kind.chars().filter(char::is_ascii_alphanumeric).collect();
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"hallsync-{kind}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /console/catalogue/import`: the upload form.
pub async fn import_page(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    Query(flash): Query<Flash>,
) -> Page {
    let shell = shell(&console, &authed).await?;
    let body = import_form(&shell.csrf);
    shell.render(
        "/console/catalogue",
        ("导入事项目录", "Import the catalogue"),
        &flash,
        body,
    )
}

fn import_form(csrf: &str) -> Markup {
    html! {
        div.box {
            form method="post" enctype="multipart/form-data" action={ "/console/catalogue/import?csrf=" (csrf) } {
                p {
                    label for="file" { "事项目录表（CSV 或 XLSX，首行为表头） " small { "catalogue table, CSV or XLSX, header row first" } }
                    br;
                    input #file type="file" name="file" accept=".csv,.xlsx" required;
                }
                p {
                    label { input type="checkbox" name="dry_run" value="on" checked; " 仅检查，不写入 " small { "dry run: check only, write nothing" } }
                }
                button.primary type="submit" { "检查并导入 Check and import" }
            }
            p.muted { "有任何一行有误时，什么都不导入。 If any row is bad, nothing is imported." }
        }
    }
}

/// `POST /console/catalogue/import`: reads the upload and imports it, or only checks it.
pub async fn import(
    State(console): State<ConsoleState>,
    Extension(authed): Extension<Authed>,
    mut multipart: Multipart,
) -> Page {
    let shell = shell(&console, &authed).await?;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut dry_run = false;
    loop {
        let unreadable = |e: axum::extract::multipart::MultipartError| {
            failed(&format!("上传未能读取 the upload could not be read: {e}"))
        };
        let Some(field) = multipart.next_field().await.map_err(unreadable)? else {
            break;
        };
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_string();
                file = Some((name, field.bytes().await.map_err(unreadable)?.to_vec()));
            }
            Some("dry_run") => dry_run = true,
            _ => {}
        }
    }
    let error = |message: String| {
        let flash = Flash {
            ok: None,
            error: Some(message),
        };
        // Rendering cannot fail: the page is the refusal.
        match shell.render(
            "/console/catalogue",
            ("导入事项目录", "Import the catalogue"),
            &flash,
            import_form(&shell.csrf),
        ) {
            Ok(page) | Err(page) => page,
        }
    };
    let Some((name, bytes)) = file else {
        return Err(error("请选择一个文件 choose a file".into()));
    };
    let format = match name
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => TableFormat::Csv,
        Some("xlsx") => TableFormat::Xlsx,
        _ => {
            return Err(error(format!(
                "{name}: 只接受 CSV 或 XLSX only CSV or XLSX are read"
            )))
        }
    };
    let table = match console.parse_table(name, format, bytes).await {
        Ok(t) => t,
        Err(e) => return Err(error(e)),
    };
    let report: ImportReport = match console
        .ask(Command::CatalogueImport {
            rows: table.rows,
            dry_run,
            part: None,
        })
        .await
    {
        Ok(r) => r,
        Err(e) => return Err(error(e)),
    };
    let body = html! {
        div.box #import-report data-ok=(report.ok) {
            @if report.ok && report.dry_run {
                p { "全部 " (report.rows) " 行无误；未写入（仅检查）。 All rows are good; nothing written (dry run)." }
            } @else if report.ok {
                p { "已导入 " (report.imported) " 项，未变 " (report.unchanged) " 项。 Imported " (report.imported) ", unchanged " (report.unchanged) "." }
            } @else {
                p.bad { "有 " (report.errors.len()) " 处错误，什么都没有导入。 " (report.errors.len()) " bad cells: nothing was imported." }
            }
            @for note in &table.notes { p.muted { (note) } }
        }
        @if !report.errors.is_empty() {
            table #bad-cells {
                thead { tr { th { "行 " small { "row" } } th { "列 " small { "column" } } th { "问题 " small { "problem" } } } }
                tbody {
                    @for e in &report.errors {
                        tr { td.num { (e.row) } td { (e.column) } td { (e.message) } }
                    }
                }
            }
        }
        h2 { "再次导入 " small { "import again" } }
        (import_form(&shell.csrf))
    };
    shell.render(
        "/console/catalogue",
        ("导入事项目录", "Import the catalogue"),
        &Flash::default(),
        body,
    )
}
