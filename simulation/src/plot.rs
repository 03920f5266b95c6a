//! `--plot DIR`: SVG charts of a run, drawn with plotters.
//!
//! - `delay-by-level.svg`: for each level, the share of (change, node) arrivals done within a
//!   given delay: how fast a change reaches the city, the districts, the townships and the villages;
//! - `bytes-per-hour.svg`: bytes sent per simulated hour, all links together;
//! - `bytes-by-link.svg`: bytes sent over each kind of link.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::report::Report;

/// A chart that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The directory could not be made.
    #[error("cannot create {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Drawing failed.
    #[error("cannot draw {path}: {reason}")]
    Draw {
        /// The chart file.
        path: PathBuf,
        /// The drawing library's message.
        reason: String,
    },
}

/// Draws one chart into a file.
type Chart = fn(&Report, &Path) -> Result<(), String>;

const COLOURS: [RGBColor; 4] = [
    RGBColor(200, 40, 40),
    RGBColor(230, 140, 20),
    RGBColor(40, 120, 200),
    RGBColor(40, 160, 80),
];

type Frame<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A white chart with a title and the house margins, over `x` × `y`.
fn frame<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: String,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<Frame<'a, 'b>, String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())
}

/// Writes every chart into `dir` (created if missing) and returns their paths.
///
/// # Errors
/// [`PlotError`] when the directory or a chart cannot be written.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    std::fs::create_dir_all(dir).map_err(|source| PlotError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    let charts: [(&str, Chart); 3] = [
        ("delay-by-level.svg", delay_by_level),
        ("bytes-per-hour.svg", bytes_per_hour),
        ("bytes-by-link.svg", bytes_by_link),
    ];
    let mut out = Vec::new();
    for (name, draw) in charts {
        let path = dir.join(name);
        draw(report, &path).map_err(|reason| PlotError::Draw {
            path: path.clone(),
            reason,
        })?;
        out.push(path);
    }
    Ok(out)
}

fn delay_by_level(report: &Report, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    let max_h = report
        .series
        .delays_ms
        .values()
        .filter_map(|d| d.last())
        .max()
        .map_or(1.0, |ms| (*ms as f64 / 3_600_000.0).max(0.01));
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{}: 送达延迟 delay from a change to each node",
                report.scenario
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..max_h, 0.0..1.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("hours after the change")
        .y_desc("share arrived")
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, level) in ["city", "district", "township", "village"]
        .iter()
        .enumerate()
    {
        let Some(delays) = report.series.delays_ms.get(level) else {
            continue;
        };
        let n = delays.len().max(1) as f64;
        let step = (delays.len() / 400).max(1);
        let points = delays
            .iter()
            .enumerate()
            .step_by(step)
            .map(|(j, ms)| (*ms as f64 / 3_600_000.0, (j + 1) as f64 / n));
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(*level)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn bytes_per_hour(report: &Report, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    let hours = report.series.bytes_per_hour.len().max(1) as f64;
    let max_kb = report
        .series
        .bytes_per_hour
        .iter()
        .max()
        .map_or(1.0, |b| (*b as f64 / 1024.0).max(1.0));
    let mut chart = frame(
        &root,
        format!("{}: 流量 bytes sent per simulated hour", report.scenario),
        0.0..hours,
        0.0..max_kb * 1.05,
    )?;
    chart
        .configure_mesh()
        .x_desc("simulated hour")
        .y_desc("KiB")
        .draw()
        .map_err(|e| e.to_string())?;
    let points = report
        .series
        .bytes_per_hour
        .iter()
        .enumerate()
        .map(|(h, b)| (h as f64, *b as f64 / 1024.0));
    chart
        .draw_series(LineSeries::new(points, COLOURS[2].stroke_width(2)))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn bytes_by_link(report: &Report, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    let links: Vec<(&String, &u64)> = report.series.bytes_by_link.iter().collect();
    let max_mb = links
        .iter()
        .map(|(_, b)| **b as f64 / 1_048_576.0)
        .fold(0.01, f64::max);
    let mut chart = frame(
        &root,
        format!("{}: 各级链路流量 bytes per kind of link", report.scenario),
        0.0..links.len().max(1) as f64,
        0.0..max_mb * 1.1,
    )?;
    let names: Vec<String> = links.iter().map(|(n, _)| (*n).clone()).collect();
    chart
        .configure_mesh()
        .x_labels(links.len().max(1))
        .x_label_formatter(&|x| names.get(x.floor() as usize).cloned().unwrap_or_default())
        .y_desc("MiB")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(links.iter().enumerate().map(|(i, (_, b))| {
            let x = i as f64;
            Rectangle::new(
                [(x + 0.15, 0.0), (x + 0.85, **b as f64 / 1_048_576.0)],
                COLOURS[i % COLOURS.len()].filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use crate::{Scenario, Sim};

    #[test]
    fn a_run_draws_three_svg_charts() {
        // Goal: `--plot` writes well-formed SVG charts titled with the scenario.
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/small.toml"))
                .unwrap();
        let report = Sim::new(Scenario::from_toml(&text, "small").unwrap(), 2).run();
        let dir = std::env::temp_dir().join(format!("hallsync-plot-{}", std::process::id()));
        let files = super::write_all(&report, &dir).unwrap();
        assert_eq!(files.len(), 3);
        for f in &files {
            let svg = std::fs::read_to_string(f).unwrap();
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{f:?}"
            );
            assert!(svg.contains("small:"), "{f:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
