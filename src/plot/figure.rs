//! Page geometry, output formats, fonts, palette and the axes every kind shares.

use super::units::{AxisScale, tick_decimals, tick_text};
use crate::error::{Error, Result};
use plotters::chart::{MeshStyle, SeriesAnno};
use plotters::coord::CoordTranslate;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// The font drawn into every figure, shipped in the binary so that a machine without
/// font packages still draws text. DejaVu Sans, Bitstream Vera licence (assets/fonts).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name the font is registered under; SVG files name it too, so viewers fall
/// back to their own sans-serif face.
const FAMILY: &str = "sans-serif";

/// Okabe & Ito's colour-blind-safe palette, in the order series use it (yellow last: it is
/// faint on white).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0xF0, 0xE4, 0x42), // yellow
];

/// The colour of the `i`-th series.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A length on the page, as given on the command line (`3.5in`, `800px`, `8cm`, `80mm`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    /// Inches.
    Inches(f64),
    /// Pixels at the figure's dpi.
    Pixels(f64),
}

impl Length {
    /// Parse `3.5in`, `800px`, `8cm` or `80mm`; a unit is required.
    pub fn parse(text: &str) -> Result<Length> {
        let t = text.trim().to_ascii_lowercase();
        let bad = || {
            Error::usage(format!(
                "bad length `{text}`: expected a number with in, px, cm or mm, e.g. 3.5in or 800px"
            ))
        };
        let split = t.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?;
        let (num, unit) = t.split_at(split);
        let v: f64 = num.trim().parse().map_err(|_| bad())?;
        if !(v.is_finite() && v > 0.0) {
            return Err(bad());
        }
        match unit {
            "in" => Ok(Length::Inches(v)),
            "px" => Ok(Length::Pixels(v)),
            "cm" => Ok(Length::Inches(v / 2.54)),
            "mm" => Ok(Length::Inches(v / 25.4)),
            _ => Err(bad()),
        }
    }

    /// The length in inches at `dpi` pixels per inch.
    pub fn inches(self, dpi: f64) -> f64 {
        match self {
            Length::Inches(v) => v,
            Length::Pixels(v) => v / dpi,
        }
    }
}

/// Page and text options shared by every kind of figure.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureOptions {
    /// Figure width, inches.
    pub width_in: f64,
    /// Figure height, inches.
    pub height_in: f64,
    /// Resolution, pixels per inch. PNGs have this many pixels per inch; SVGs use it as
    /// user units per inch, so both look the same.
    pub dpi: f64,
    /// Title above the plot, if any.
    pub title: Option<String>,
    /// Replaces the x-axis quantity name; the unit with its prefix is still appended.
    pub xlabel: Option<String>,
    /// Replaces the y-axis quantity name; with several panels, `;` separates one per panel.
    pub ylabel: Option<String>,
}

impl Default for FigureOptions {
    /// Single column of a two-column paper: 3.5 in x 2.6 in at 300 dpi.
    fn default() -> Self {
        FigureOptions {
            width_in: 3.5,
            height_in: 2.6,
            dpi: 300.0,
            title: None,
            xlabel: None,
            ylabel: None,
        }
    }
}

impl FigureOptions {
    /// Check that the page can be drawn: sizes and dpi in a sane range.
    pub fn validate(&self) -> Result<()> {
        if !(10.0..=2400.0).contains(&self.dpi) {
            return Err(Error::usage(format!(
                "--dpi {} out of range 10..2400",
                self.dpi
            )));
        }
        for (what, v) in [("width", self.width_in), ("height", self.height_in)] {
            if !(0.5..=40.0).contains(&v) {
                return Err(Error::usage(format!(
                    "{what} {v:.2} in out of range 0.5..40 in"
                )));
            }
        }
        let (w, h) = self.pixels();
        if u64::from(w) * u64::from(h) > 200_000_000 {
            return Err(Error::usage(format!(
                "{w}x{h} pixels is too large: lower --dpi or the size"
            )));
        }
        Ok(())
    }

    /// Canvas size in pixels (PNG) or user units (SVG).
    pub fn pixels(&self) -> (u32, u32) {
        (
            (self.width_in * self.dpi).round().max(1.0) as u32,
            (self.height_in * self.dpi).round().max(1.0) as u32,
        )
    }

    /// The y label override for panel `i` of `n`.
    pub fn ylabel_for(&self, i: usize) -> Option<String> {
        let y = self.ylabel.as_ref()?;
        let parts: Vec<&str> = y.split(';').collect();
        match parts.get(i) {
            Some(p) if !p.trim().is_empty() => Some(p.trim().to_string()),
            _ => None,
        }
    }
}

/// The two output formats, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics, text kept as text.
    Svg,
    /// Portable network graphics with the dpi recorded in its pHYs chunk.
    Png,
}

impl Format {
    /// The format of an output path, from its extension (case-insensitive).
    pub fn of(path: &Path) -> Result<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(Error::usage(format!(
                "{}: output must end in .svg or .png",
                path.display()
            ))),
        }
    }
}

/// Something that can draw itself on a plotters drawing area of any backend.
pub trait Figure {
    /// Draw onto `root`, which is already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, st: &Style) -> Result<()>;
}

/// Draw `fig` into `path` (SVG or PNG by extension). The file appears complete or not at all.
pub fn save<F: Figure>(fig: &F, opts: &FigureOptions, path: &Path) -> Result<()> {
    let format = Format::of(path)?;
    let bytes = render_bytes(fig, opts, format)?;
    crate::io::atomic::write_bytes(path, &bytes)
}

/// Draw `fig` into the bytes of an SVG or PNG file.
pub fn render_bytes<F: Figure>(fig: &F, opts: &FigureOptions, format: Format) -> Result<Vec<u8>> {
    opts.validate()?;
    register_font()?;
    let st = Style::new(opts, format);
    let (w, h) = opts.pixels();
    match format {
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
                draw_page(fig, &root, &st)?;
                root.present().map_err(draw_err)?;
            }
            Ok(with_physical_size(&svg, w, h, opts).into_bytes())
        }
        Format::Png => {
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                draw_page(fig, &root, &st)?;
                root.present().map_err(draw_err)?;
            }
            encode_png(&rgb, w, h, opts.dpi)
        }
    }
}

fn draw_page<F: Figure, DB: DrawingBackend>(
    fig: &F,
    root: &DrawingArea<DB, Shift>,
    st: &Style,
) -> Result<()> {
    root.fill(&WHITE).map_err(draw_err)?;
    match &st.title {
        Some(t) => {
            let area = root.titled(t, st.font(9.0)).map_err(draw_err)?;
            fig.draw(&area, st)
        }
        None => fig.draw(root, st),
    }
}

/// plotters writes the canvas size as bare user units; papers want the physical size, so
/// width and height become inches and the viewBox keeps the user units.
fn with_physical_size(svg: &str, w: u32, h: u32, opts: &FigureOptions) -> String {
    let from = format!("<svg width=\"{w}\" height=\"{h}\"");
    let to = format!(
        "<svg width=\"{:.4}in\" height=\"{:.4}in\"",
        opts.width_in, opts.height_in
    );
    svg.replacen(&from, &to, 1)
}

fn encode_png(rgb: &[u8], w: u32, h: u32, dpi: f64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let png_err =
        |e: png::EncodingError| Error::output(format!("drawing failed: PNG encoding: {e}"));
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let per_metre = (dpi / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
        let mut writer = enc.write_header().map_err(png_err)?;
        writer.write_image_data(rgb).map_err(png_err)?;
        writer.finish().map_err(png_err)?;
    }
    Ok(out)
}

fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::output(
            "drawing failed: the embedded font could not be loaded",
        ))
    }
}

/// Turn a plotters error into ours.
pub fn draw_err<E: std::fmt::Display>(e: E) -> Error {
    Error::output(format!("drawing failed: {e}"))
}

/// Sizes in typographic points turned into canvas pixels, plus the user's label overrides.
#[derive(Debug, Clone)]
pub struct Style {
    /// Canvas pixels per inch.
    pub px_per_in: f64,
    /// Figure title.
    pub title: Option<String>,
    /// x label override.
    pub xlabel: Option<String>,
    /// Break polylines at sharp turns (bitmap output; see [`draw_line`]).
    pub split_sharp_turns: bool,
    opts: FigureOptions,
}

impl Style {
    /// The style for a page.
    pub fn new(opts: &FigureOptions, format: Format) -> Style {
        Style {
            px_per_in: opts.dpi,
            title: opts.title.clone(),
            xlabel: opts.xlabel.clone(),
            split_sharp_turns: format == Format::Png,
            opts: opts.clone(),
        }
    }

    /// Points (1/72 in) to pixels.
    pub fn px(&self, pt: f64) -> f64 {
        pt * self.px_per_in / 72.0
    }

    /// Points to whole pixels, at least one.
    pub fn ipx(&self, pt: f64) -> u32 {
        self.px(pt).round().max(1.0) as u32
    }

    /// The embedded font at `pt` points (plotters sizes fonts at 1.24 em).
    pub fn font(&self, pt: f64) -> TextStyle<'static> {
        (FAMILY, self.px(pt) * 1.24).into_font().color(&BLACK)
    }

    /// The y label override for panel `i`.
    pub fn ylabel(&self, i: usize) -> Option<String> {
        self.opts.ylabel_for(i)
    }

    /// A solid line `pt` points wide.
    pub fn line(&self, c: RGBColor, pt: f64) -> ShapeStyle {
        c.stroke_width(self.ipx(pt))
    }
}

/// One set of axes: ranges in data units and how to label them.
#[derive(Debug, Clone)]
pub struct Axes {
    /// x range, data units.
    pub x: (f64, f64),
    /// y range, data units.
    pub y: (f64, f64),
    /// x quantity name (before the unit).
    pub xname: String,
    /// y quantity name.
    pub yname: String,
    /// x unit, if any.
    pub xunit: Option<String>,
    /// y unit, if any.
    pub yunit: Option<String>,
    /// Draw tick labels and the label of the x axis (false for upper panels of a stack).
    pub show_x: bool,
}

/// A chart on linear axes in data units.
pub type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Lay out axes with SI-prefixed tick labels and a light grid.
pub fn axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    st: &Style,
    a: &Axes,
) -> Result<Chart<'a, DB>> {
    let xs = AxisScale::for_range(a.x.0, a.x.1, a.xunit.as_deref());
    let ys = AxisScale::for_range(a.y.0, a.y.1, a.yunit.as_deref());
    let mut chart = ChartBuilder::on(area)
        .margin(st.px(4.0))
        .x_label_area_size(if a.show_x { st.px(20.0) } else { st.px(3.0) })
        .y_label_area_size(st.px(30.0))
        .build_cartesian_2d(a.x.0..a.x.1, a.y.0..a.y.1)
        .map_err(draw_err)?;
    let (nx, ny) = (5usize, 5usize);
    let xd = tick_decimals(xs.to_display(a.x.1 - a.x.0), nx);
    let yd = tick_decimals(ys.to_display(a.y.1 - a.y.0), ny);
    let xfmt = |v: &f64| tick_text(xs.to_display(*v), xd);
    let yfmt = |v: &f64| tick_text(ys.to_display(*v), yd);
    let hide = |_: &f64| String::new();
    let xdesc = if a.show_x {
        xs.label(&a.xname)
    } else {
        String::new()
    };
    let ydesc = ys.label(&a.yname);
    let mut mesh = chart.configure_mesh();
    house_mesh(&mut mesh, st);
    mesh.x_labels(nx)
        .y_labels(ny)
        .y_desc(ydesc)
        .y_label_formatter(&yfmt);
    if a.show_x {
        mesh.x_desc(xdesc).x_label_formatter(&xfmt);
    } else {
        mesh.x_label_formatter(&hide);
    }
    mesh.draw().map_err(draw_err)?;
    Ok(chart)
}

/// The house look of axes: light horizontal grid, thin black axes, small ticks, 7 pt tick
/// labels and 8 pt axis names.
pub fn house_mesh<X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &mut MeshStyle<'_, '_, X, Y, DB>,
    st: &Style,
) {
    mesh.disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0xE0, 0xE0, 0xE0).stroke_width(st.ipx(0.4)))
        .axis_style(BLACK.stroke_width(st.ipx(0.6)))
        .set_all_tick_mark_size(st.px(2.0))
        .label_style(st.font(7.0))
        .axis_desc_style(st.font(8.0));
}

/// Draw the legend of `chart` in a corner, on a translucent white box.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    st: &Style,
    pos: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(pos)
        .label_font(st.font(6.5))
        .margin(st.px(2.0))
        .legend_area_size(st.px(14.0))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xB0, 0xB0, 0xB0).stroke_width(st.ipx(0.3)))
        .draw()
        .map_err(draw_err)
}

/// The legend sample for a line: a short stroke `pt` points wide.
pub fn line_sample(
    st: &Style,
    style: ShapeStyle,
) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> + 'static {
    let len = st.px(10.0) as i32;
    move |(x, y)| PathElement::new(vec![(x, y), (x + len, y)], style)
}

/// Draw a polyline in data coordinates and return its series for a legend entry.
///
/// plotters fills a wide bitmap polyline as one polygon with mitred joins; where a line
/// turns back on itself (every pixel column of a decimated waveform does) the mitre shoots
/// far off the plot and the polygon crosses itself and leaves holes. For bitmaps the line is
/// therefore cut at turns sharper than 120°, where a mitre would be longer than twice the
/// line width; SVG viewers apply their own mitre limit, so SVG keeps one polyline.
pub fn draw_line<'a, 'b, DB: DrawingBackend + 'a>(
    chart: &'b mut Chart<'a, DB>,
    st: &Style,
    pts: Vec<(f64, f64)>,
    style: ShapeStyle,
) -> Result<&'b mut SeriesAnno<'a, DB>> {
    if !st.split_sharp_turns || style.stroke_width <= 1 {
        return chart
            .draw_series(std::iter::once(PathElement::new(pts, style)))
            .map_err(draw_err);
    }
    let px: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| {
            let (x, y) = chart.backend_coord(p);
            (f64::from(x), f64::from(y))
        })
        .collect();
    let mut pieces = Vec::new();
    let mut start = 0;
    // Direction of the last segment that had any length on screen.
    let mut last_dir: Option<(f64, f64)> = None;
    for i in 1..pts.len() {
        let d = (px[i].0 - px[i - 1].0, px[i].1 - px[i - 1].1);
        let len = d.0.hypot(d.1);
        if len < 0.5 {
            continue;
        }
        let dir = (d.0 / len, d.1 / len);
        if let Some(prev) = last_dir
            && prev.0 * dir.0 + prev.1 * dir.1 < -0.5
        {
            pieces.push(PathElement::new(pts[start..i].to_vec(), style));
            start = i - 1;
        }
        last_dir = Some(dir);
    }
    pieces.push(PathElement::new(pts[start..].to_vec(), style));
    chart.draw_series(pieces).map_err(draw_err)
}

/// The legend sample for a filled area (bars): a small square in `style`.
pub fn box_sample(
    st: &Style,
    style: ShapeStyle,
) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> + 'static {
    let h = (st.px(3.0) as i32).max(1);
    let w = st.px(8.0) as i32;
    move |(x, y)| Rectangle::new([(x, y - h), (x + w, y + h)], style)
}

/// `[lo, hi]` widened by `frac` of its span on each side; a single value gets a span of its own.
pub fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= 0.0 {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    (lo - span * frac, hi + span * frac)
}

/// Smallest and largest finite value of a set of slices.
pub fn finite_range<'a>(values: impl IntoIterator<Item = &'a f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, &v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(Length::parse("3.5in").ok(), Some(Length::Inches(3.5)));
        assert_eq!(Length::parse("800px").ok(), Some(Length::Pixels(800.0)));
        assert_eq!(Length::parse("800 PX").ok(), Some(Length::Pixels(800.0)));
        assert!(Length::parse("800").is_err());
        assert!(Length::parse("-2in").is_err());
        assert!(Length::parse("2ft").is_err());
        assert!((Length::Pixels(600.0).inches(300.0) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of(Path::new("a/b.SVG")).ok(), Some(Format::Svg));
        assert_eq!(Format::of(Path::new("b.png")).ok(), Some(Format::Png));
        assert!(Format::of(Path::new("b.pdf")).is_err());
        assert!(Format::of(Path::new("b")).is_err());
    }

    #[test]
    fn ylabel_per_panel() {
        let o = FigureOptions {
            ylabel: Some("membrane;;current".into()),
            ..FigureOptions::default()
        };
        assert_eq!(o.ylabel_for(0).as_deref(), Some("membrane"));
        assert_eq!(o.ylabel_for(1), None);
        assert_eq!(o.ylabel_for(2).as_deref(), Some("current"));
    }
}
