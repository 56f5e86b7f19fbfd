//! SVG line charts with plotters' SVG backend. No system fonts are needed: without plotters' `ttf` feature
//! text is measured by a built-in estimate and written as SVG `<text>` elements, rendered by the viewer.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// One named line.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// (x, y) points, drawn in order.
    pub points: Vec<(f64, f64)>,
    /// Dashed (reference lines such as the guarantee).
    pub dashed: bool,
}

/// A chart.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// Title.
    pub title: &'a str,
    /// x-axis label.
    pub x_label: &'a str,
    /// y-axis label.
    pub y_label: &'a str,
    /// log₂-scaled x axis.
    pub log_x: bool,
    /// log₁₀-scaled y axis (non-positive values are dropped).
    pub log_y: bool,
}

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn bounds(series: &[Series], f: impl Fn(&(f64, f64)) -> f64, log: bool) -> (f64, f64) {
    let vals: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(&f))
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .collect();
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return (if log { 1.0 } else { 0.0 }, 1.0);
    }
    if log {
        (lo / 1.5, hi * 1.5)
    } else {
        let pad = ((hi - lo) * 0.05).max(1e-9);
        ((lo - pad).min(0.0f64.max(lo - pad)), hi + pad)
    }
}

/// Render `series` to an SVG string (800×500).
pub fn line_chart_svg(chart: &Chart<'_>, series: &[Series]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let (x0, x1) = bounds(series, |p| p.0, chart.log_x);
        let (y0, y1) = bounds(series, |p| p.1, chart.log_y);
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(chart.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70);
        // Four axis combinations: plotters' coordinate types differ, so each is built separately.
        macro_rules! draw {
            ($ctx:expr) => {{
                let mut ctx = $ctx.map_err(|e| anyhow!("plot: {e}"))?;
                ctx.configure_mesh()
                    .x_desc(chart.x_label)
                    .y_desc(chart.y_label)
                    .x_label_formatter(&|v| format_si(*v))
                    .y_label_formatter(&|v| format_si(*v))
                    .draw()
                    .map_err(|e| anyhow!("plot: {e}"))?;
                for (i, s) in series.iter().enumerate() {
                    let color = PALETTE[i % PALETTE.len()];
                    let pts: Vec<(f64, f64)> = s
                        .points
                        .iter()
                        .copied()
                        .filter(|p| p.0.is_finite() && p.1.is_finite() && (!chart.log_y || p.1 > 0.0))
                        .collect();
                    let style = ShapeStyle::from(&color).stroke_width(if s.dashed { 1 } else { 2 });
                    let drawn = if s.dashed {
                        ctx.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                    } else {
                        ctx.draw_series(LineSeries::new(pts.clone(), style))
                    };
                    drawn
                        .map_err(|e| anyhow!("plot: {e}"))?
                        .label(s.name.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
                    ctx.draw_series(pts.iter().map(|p| Circle::new(*p, 2, color.filled())))
                        .map_err(|e| anyhow!("plot: {e}"))?;
                }
                ctx.configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::UpperLeft)
                    .draw()
                    .map_err(|e| anyhow!("plot: {e}"))?;
            }};
        }
        match (chart.log_x, chart.log_y) {
            (true, true) => draw!(builder.build_cartesian_2d((x0..x1).log_scale().base(2.0), (y0..y1).log_scale())),
            (true, false) => draw!(builder.build_cartesian_2d((x0..x1).log_scale().base(2.0), y0..y1)),
            (false, true) => draw!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())),
            (false, false) => draw!(builder.build_cartesian_2d(x0..x1, y0..y1)),
        }
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
    }
    Ok(svg)
}

/// Render and write atomically.
pub fn line_chart(path: &Path, chart: &Chart<'_>, series: &[Series]) -> Result<()> {
    let svg = line_chart_svg(chart, series)?;
    crate::output::write_text(path, &svg)
}

/// 1.2k, 3.4M, 5.6G … for axis labels.
pub fn format_si(v: f64) -> String {
    let a = v.abs();
    let (d, s) = if a >= 1e12 {
        (1e12, "T")
    } else if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / d;
    if x.fract().abs() < 1e-9 {
        format!("{x:.0}{s}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}{s}")
    } else {
        format!("{x:.2}{s}")
    }
}
