//! PNG charts of benchmark results, drawn with plotters' bitmap backend and
//! its pure-Rust `ab_glyph` text (no system fonts or libraries).
//!
//! The font is DejaVu Sans 2.37 (Debian's `fonts-dejavu-core`), committed as
//! `DejaVuSans.ttf` beside this file under the Bitstream Vera licence (DejaVu
//! changes are public domain); the licence text is `DejaVuSans.LICENSE`.

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

const FONT: &str = "sans-serif";
const FONT_DATA: &[u8] = include_bytes!("DejaVuSans.ttf");

/// Colours (Okabe–Ito, readable by colour-blind readers).
pub const BLUE: RGBColor = RGBColor(0, 114, 178);
pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
pub const GREEN: RGBColor = RGBColor(0, 158, 115);
pub const RED: RGBColor = RGBColor(213, 94, 0);
pub const GREY: RGBColor = RGBColor(120, 120, 120);

/// One line of a panel.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// A limit (dashed, no markers) rather than a measurement.
    pub budget: bool,
}

/// One chart of a figure: its lines against the shared x axis.
pub struct Panel {
    pub title: String,
    pub y_label: String,
    /// A logarithmic y axis (times spanning decades).
    pub log_y: bool,
    pub series: Vec<Series>,
}

/// A figure of panels side by side over a logarithmic x axis.
pub struct Figure {
    pub title: String,
    pub subtitle: String,
    pub x_label: String,
    /// The x axis range (logarithmic).
    pub x: (f64, f64),
    pub panels: Vec<Panel>,
}

/// Draws `figure` as a PNG at `path`.
pub fn draw(figure: &Figure, path: &Path) -> Result<(), Box<dyn Error>> {
    // Registering twice is harmless (the second replaces the first).
    plotters::style::register_font(FONT, FontStyle::Normal, FONT_DATA)
        .map_err(|_| "DejaVuSans.ttf is not a font")?;
    let width = 620 * figure.panels.len().max(1) as u32;
    let root = BitMapBackend::new(path, (width, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(92);
    header.draw(&Text::new(
        figure.title.clone(),
        (24, 14),
        (FONT, 30).into_font().color(&BLACK),
    ))?;
    header.draw(&Text::new(
        figure.subtitle.clone(),
        (24, 56),
        (FONT, 18).into_font().color(&GREY),
    ))?;
    let areas = body.split_evenly((1, figure.panels.len().max(1)));
    for (panel, area) in figure.panels.iter().zip(&areas) {
        let top = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0_f64, f64::max);
        if panel.log_y {
            let bottom = panel
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min);
            let low = 10f64.powf(bottom.log10().floor());
            let high = 10f64.powf((top * 1.5).log10().ceil());
            draw_panel(figure, panel, area, (low..high).log_scale())?;
        } else {
            draw_panel(figure, panel, area, 0.0..(top * 1.2).max(1.0))?;
        }
    }
    root.present()?;
    Ok(())
}

fn draw_panel<Y>(
    figure: &Figure,
    panel: &Panel,
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    y: Y,
) -> Result<(), Box<dyn Error>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 22))
        .margin(18)
        .x_label_area_size(56)
        .y_label_area_size(78)
        .build_cartesian_2d((figure.x.0..figure.x.1).log_scale(), y)?;
    chart
        .configure_mesh()
        .x_desc(&figure.x_label)
        .y_desc(&panel.y_label)
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 15))
        .x_label_formatter(&|x| thousands(*x))
        .y_label_formatter(&|y| tick(*y))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    for s in &panel.series {
        let color = s.color;
        let style = color.stroke_width(if s.budget { 2 } else { 3 });
        if s.budget {
            chart
                .draw_series(DashedLineSeries::new(
                    s.points.iter().copied(),
                    10,
                    7,
                    style,
                ))?
                .label(&s.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
        } else {
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), style))?
                .label(&s.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                });
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 5, color.filled())))?;
            chart.draw_series(s.points.iter().map(|&(x, v)| {
                Text::new(
                    short(v),
                    (x, v),
                    (FONT, 15).into_font().color(&color).pos(
                        plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Left,
                            plotters::style::text_anchor::VPos::Bottom,
                        ),
                    ),
                )
            }))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// `5000` as `5,000`.
fn thousands(x: f64) -> String {
    let n = x.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An axis label: `0`, `0.01`, `0.5`, `12`, `1,000`.
fn tick(v: f64) -> String {
    if v >= 1.0 {
        thousands(v)
    } else {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A short label for a value: `12`, `0.12`, `1.7`, `569`.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 100.0 || (v == v.round() && v >= 1.0) {
        thousands(v)
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else if v >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}
