//! The fan-out chart: deliveries per second against connected clients, one
//! line per step, drawn with plotters' SVG backend.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

use super::report::{Row, per_sec};
use super::scenarios::Scenario;

/// Size of the picture in pixels.
const SIZE: (u32, u32) = (860, 520);

/// Line colours, the baseline first: dark enough on white, told apart
/// without relying on red against green alone.
const COLOURS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];

/// One line of the chart: a step and its (clients, deliveries/s) points.
pub type Series = (String, Vec<(f64, f64)>);

/// The fan-out points of `rows`, one series per step in the order they ran.
/// Cases that did not deliver everything are left out: their rate would
/// flatter a server that lost texts.
pub fn fanout_series(rows: &[Row]) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for row in rows.iter().filter(|r| r.scenario == Scenario::Fanout) {
        if !row.outcome.accounted_for() {
            continue;
        }
        let point = (row.load.clients as f64, row.outcome.deliveries_per_sec());
        match series.iter_mut().find(|(name, _)| *name == row.target) {
            Some((_, points)) => points.push(point),
            None => series.push((row.target.clone(), vec![point])),
        }
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series
}

/// Whether `series` spans at least two client counts (a chart needs a range).
pub fn chartable(series: &[Series]) -> bool {
    let mut xs: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.len() >= 2
}

/// Draws `series` into an SVG file at `path`. `subtitle` says how the
/// figures were made (machine, load).
pub fn draw(series: &[Series], subtitle: &str, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let points = || series.iter().flat_map(|(_, p)| p.iter().copied());
    let x_min = points().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x_max = points().map(|p| p.0).fold(0.0, f64::max);
    let y_max = points().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.15;
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("cannot draw {}: {e}", path.display());

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let (title, body) = root.split_vertically(60);
    title
        .draw_text(
            "Fan-out: deliveries per second against clients connected",
            &("sans-serif", 22).into_font().color(&BLACK),
            (20, 12),
        )
        .map_err(|e| fail(&e))?;
    title
        .draw_text(
            subtitle,
            &("sans-serif", 14).into_font().color(&BLACK.mix(0.7)),
            (20, 40),
        )
        .map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&body)
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((x_min * 0.8..x_max * 1.25).log_scale(), 0.0..y_max)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("clients connected (log scale)")
        .y_desc("deliveries per second")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| per_sec(*y))
        .draw()
        .map_err(|e| fail(&e))?;
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(3),
            ))
            .map_err(|e| fail(&e))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(3)));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 5, colour.filled())))
            .map_err(|e| fail(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg_with_one_line_per_step() {
        let dir = std::env::temp_dir().join(format!("xtask-chart-{}", std::process::id()));
        let path = dir.join("fanout.svg");
        let series = vec![
            (
                "step4".to_string(),
                vec![(10.0, 50_000.0), (100.0, 40_000.0)],
            ),
            (
                "step6".to_string(),
                vec![(10.0, 90_000.0), (100.0, 150_000.0)],
            ),
        ];
        assert!(chartable(&series));
        draw(&series, "test machine", &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("step4") && svg.contains("step6"));
        assert!(svg.contains("<polyline"), "lines are drawn as polylines");
    }

    #[test]
    fn a_single_client_count_is_not_a_chart() {
        assert!(!chartable(&[("step4".to_string(), vec![(100.0, 1.0)])]));
    }
}
