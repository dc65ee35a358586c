//! Page geometry, output formats, fonts, palette and the axes every kind shares.

use super::units::{AxisScale, prefixable, si_text, tick_decimals, tick_text};
use crate::error::{Error, Result};
use plotters::chart::{MeshStyle, SeriesAnno};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::OnceLock;

/// The font drawn into every figure, shipped in the binary so that a machine without
/// font packages still draws text. DejaVu Sans, Bitstream Vera licence (assets/fonts).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The embedded font, for the PNG backend's tests.
#[cfg(test)]
pub(super) static FONT_BYTES: &[u8] = FONT;

/// Registers the embedded font (for tests that draw without `render_bytes`).
#[cfg(test)]
pub(super) fn tests_register_font() {
    let _ = register_font();
}

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
                let fine = (w * SVG_FINE, h * SVG_FINE);
                let root = SVGBackend::with_string(&mut svg, fine).into_drawing_area();
                draw_page(fig, &root, &st)?;
                root.present().map_err(draw_err)?;
            }
            Ok(svg_to_page_units(&svg, w, h, opts).into_bytes())
        }
        Format::Png => {
            // Drawn `f` times finer and averaged back (see `png_supersampling`).
            let f = png_supersampling(opts);
            let (fw, fh) = (w * f, h * f);
            let mut rgb = vec![0u8; fw as usize * fh as usize * 3];
            {
                let font = ab_glyph::FontRef::try_from_slice(FONT).map_err(draw_err)?;
                let bitmap = BitMapBackend::with_buffer(&mut rgb, (fw, fh));
                let root = super::png::PngBackend::new(bitmap, font).into_drawing_area();
                draw_page(fig, &root, &st)?;
                root.present().map_err(draw_err)?;
            }
            let rgb = super::png::box_downsample(&rgb, (fw, fh), f);
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
            // plotters' `titled` puts the text's top at 5 px, which at 300 dpi is inside the
            // accents and caps of a 9 pt font: the PNG lost the top of every title.
            let font = st.font(9.0);
            let top = st.px(6.0);
            let band = top + st.px(9.0 * 1.4);
            let (w, _) = root.dim_in_pixel();
            let style = font.pos(Pos::new(HPos::Center, VPos::Top));
            root.draw_text(t, &style, ((w / 2) as i32, top as i32))
                .map_err(draw_err)?;
            let (_, area) = root.split_vertically(band as u32);
            fig.draw(&area, st)
        }
        None => fig.draw(root, st),
    }
}

/// Most pixels a PNG is drawn on before it is averaged down (48 M: 144 MB of RGB).
const PNG_FINE_PIXELS: u64 = 48_000_000;

/// How many times finer than the page a PNG is drawn: 4 (16 samples a pixel), or less
/// where a large page would exceed [`PNG_FINE_PIXELS`].
///
/// plotters' bitmap backend draws lines, circles and polygons without anti-aliasing, on
/// whole pixels: a shallow ramp becomes a staircase and a 0.9 pt line is 4 pixels or 3.
/// Drawing every element on a 4x grid and averaging each 4x4 block (a box filter: each
/// pixel gets the fraction of its area an element covers, which is what anti-aliasing
/// means) smooths every kind of element alike, places them to a quarter pixel, and keeps
/// text as sharp as before: glyphs are already drawn with coverage, and the average of
/// their coverage on the finer grid is their coverage on the page.
pub fn png_supersampling(opts: &FigureOptions) -> u32 {
    let (w, h) = opts.pixels();
    let px = u64::from(w) * u64::from(h);
    (1..=4u32)
        .rev()
        .find(|&f| px * u64::from(f * f) <= PNG_FINE_PIXELS)
        .unwrap_or(1)
}

/// SVG is drawn on a grid this many times finer than the page's user units and written back
/// in user units with decimals: plotters places everything on whole canvas units, which at
/// the page grid (one unit = one 300-dpi pixel) turns a straight ramp into a staircase of
/// rounded points and every line width into whole pixels.
pub const SVG_FINE: u32 = 10;

/// The attributes of plotters' SVG elements that hold lengths on the canvas.
const LENGTH_ATTRS: [&str; 14] = [
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "width",
    "height",
    "cx",
    "cy",
    "r",
    "points",
    "font-size",
    "stroke-width",
];

/// A length on the fine grid as page user units: at most two decimals, no trailing zeros.
fn page_units(fine: f64) -> String {
    tick_text(fine / f64::from(SVG_FINE), 2)
}

/// Every number in `value` (digits, sign and decimal point; commas and spaces separate)
/// divided by [`SVG_FINE`]; `keep_first` leaves the first number alone (a rotation angle).
fn scale_numbers(value: &str, keep_first: bool) -> String {
    let mut out = String::with_capacity(value.len());
    let mut num = String::new();
    let mut seen = 0usize;
    let flush = |num: &mut String, out: &mut String, seen: &mut usize| {
        if num.is_empty() {
            return;
        }
        match num.parse::<f64>() {
            Ok(v) if !(keep_first && *seen == 0) => out.push_str(&page_units(v)),
            _ => out.push_str(num),
        }
        *seen += 1;
        num.clear();
    };
    for c in value.chars() {
        if c.is_ascii_digit() || c == '.' || c == '-' || c == 'e' && !num.is_empty() {
            num.push(c);
        } else {
            flush(&mut num, &mut out, &mut seen);
            out.push(c);
        }
    }
    flush(&mut num, &mut out, &mut seen);
    out
}

/// Rewrite one tag of plotters' output (`<name attr="v" .../>`) in page units.
fn scale_tag(tag: &str, out: &mut String) {
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let key_start = rest[..eq].rfind(' ').map_or(0, |k| k + 1);
        let key = &rest[key_start..eq];
        let after = &rest[eq + 2..];
        let Some(close) = after.find('"') else { break };
        let value = &after[..close];
        out.push_str(&rest[..eq + 2]);
        if LENGTH_ATTRS.contains(&key) {
            out.push_str(&scale_numbers(value, false));
        } else if key == "transform" && value.starts_with("rotate(") {
            out.push_str(&scale_numbers(value, true));
        } else {
            out.push_str(value);
        }
        out.push('"');
        rest = &after[close + 1..];
    }
    out.push_str(rest);
}

/// plotters' SVG on the fine grid turned into the page: the root element carries the
/// physical size (papers want inches) and a viewBox of `w x h` user units (one per pixel of
/// the PNG at the same dpi), and every length is divided back to user units with decimals.
/// Text content is left alone; plotters escapes `<` in it, so every `<` opens a tag.
fn svg_to_page_units(svg: &str, w: u32, h: u32, opts: &FigureOptions) -> String {
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    let mut root = true;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(len) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open..open + len + 1];
        if root && tag.starts_with("<svg ") {
            out.push_str(&format!(
                "<svg width=\"{:.4}in\" height=\"{:.4}in\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">",
                opts.width_in, opts.height_in
            ));
            root = false;
        } else {
            scale_tag(tag, &mut out);
        }
        rest = &rest[open + len + 1..];
    }
    out.push_str(rest);
    out
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
        let fine = match format {
            Format::Svg => f64::from(SVG_FINE),
            Format::Png => f64::from(png_supersampling(opts)),
        };
        Style {
            px_per_in: opts.dpi * fine,
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
    /// The x axis is logarithmic: `x` and every x drawn are log10 of the data, and ticks
    /// are labelled at whole decades with SI prefixes (`100n`, `1µ`).
    pub x_log: bool,
    /// Width of the y label area, pixels, at least; stacked panels give every panel the
    /// widest one so that their plotting areas line up.
    pub y_area: f64,
    /// Room left outside the plotting area for a legend, pixels (right, below).
    pub outside: (f64, f64),
}

/// A chart on linear axes in data units.
pub type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Lay out axes with SI-prefixed tick labels and a light grid.
pub fn axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    st: &Style,
    a: &Axes,
) -> Result<Chart<'a, DB>> {
    let a = &Axes {
        x: drawable(a.x, &a.xname)?,
        y: drawable(a.y, &a.yname)?,
        ..a.clone()
    };
    let xs = AxisScale::for_range(a.x.0, a.x.1, a.xunit.as_deref());
    let ys = AxisScale::for_range(a.y.0, a.y.1, a.yunit.as_deref());
    let (xl, yl) = label_areas(st, a);
    let mut chart = ChartBuilder::on(area)
        .margin(st.px(4.0))
        .margin_right(right_margin(st, a) + a.outside.0)
        .margin_bottom(st.px(4.0) + a.outside.1)
        .x_label_area_size(xl)
        .y_label_area_size(yl)
        .build_cartesian_2d(a.x.0..a.x.1, a.y.0..a.y.1)
        .map_err(draw_err)?;
    let (nx, ny) = (5usize, 5usize);
    let xs = if a.x_log {
        AxisScale::plain(a.xunit.as_deref())
    } else {
        xs
    };
    let xd = tick_decimals(xs.to_display(a.x.1 - a.x.0), nx);
    let yd = tick_decimals(ys.to_display(a.y.1 - a.y.0), ny);
    let x_log = a.x_log;
    let plain_decades = a.xunit.as_deref().is_some_and(|u| !prefixable(u));
    let xfmt = |v: &f64| {
        if x_log {
            decade_text(*v, plain_decades)
        } else {
            tick_text(xs.to_display(*v), xd)
        }
    };
    let yfmt = |v: &f64| tick_text(ys.to_display(*v), yd);
    let hide = |_: &f64| String::new();
    let xdesc = if a.show_x && a.x_log {
        match &a.xunit {
            Some(u) => format!("{} ({u})", a.xname),
            None => a.xname.clone(),
        }
    } else if a.show_x {
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

/// Largest magnitude an axis may reach: beyond it the span of the axis or plotters' tick
/// arithmetic overflows (a value like `1e308` in a data file is corrupt or an overflow).
const AXIS_LIMIT: f64 = 1e200;

/// `r` as a range plotters can put ticks on: finite, ordered, within `AXIS_LIMIT`, and wider
/// than a billionth of its magnitude (plotters steps from tick to tick; a step below the
/// values' rounding never arrives, which made a plot of a constant `1e20` or an axis from
/// `-1e308` to 1 run forever). A narrower range is widened about its middle.
pub fn drawable(r: (f64, f64), name: &str) -> Result<(f64, f64)> {
    let (lo, hi) = if r.0 <= r.1 { r } else { (r.1, r.0) };
    let mag = lo.abs().max(hi.abs());
    if !(lo.is_finite() && hi.is_finite()) || mag > AXIS_LIMIT {
        return Err(Error::data(format!(
            "cannot draw the axis of '{name}' from {lo:e} to {hi:e}: values beyond ±{AXIS_LIMIT:e} \
             (a corrupt or overflowed value in the data?)"
        )));
    }
    let least = (mag * 1e-9).max(1e-200);
    if hi - lo >= least {
        return Ok((lo, hi));
    }
    let mid = 0.5 * (lo + hi);
    Ok((mid - 0.5 * least, mid + 0.5 * least))
}

/// Heights of the x label area and widths of the y label area, pixels: the y area fits the
/// widest tick label plus the rotated axis name, so long ticks (`500.0005`) are not cut off.
pub fn label_areas(st: &Style, a: &Axes) -> (f64, f64) {
    let xl = if a.show_x { st.px(20.0) } else { st.px(3.0) };
    let ys = AxisScale::for_range(a.y.0, a.y.1, a.yunit.as_deref());
    let yd = tick_decimals(ys.to_display(a.y.1 - a.y.0), 5);
    let font = st.font(7.0);
    let widest = (0..=10)
        .map(|k| a.y.0 + (a.y.1 - a.y.0) * f64::from(k) / 10.0)
        .map(|v| tick_text(ys.to_display(v), yd))
        .map(|t| font.font.box_size(&t).map_or(0.0, |(w, _)| f64::from(w)))
        .fold(0.0, f64::max);
    // tick mark + gap + labels + gap + the axis name's line height
    let yl = st.px(2.0) + st.px(3.0) + widest + st.px(3.0) + st.px(8.0) * 1.24 * 1.2;
    (xl, yl.max(st.px(30.0)).max(a.y_area))
}

/// The right margin: enough for half the widest x tick label, which plotters centres on the
/// last tick and would otherwise run off the page.
fn right_margin(st: &Style, a: &Axes) -> f64 {
    // The same for panels without x labels, so that stacked panels line up.
    let font = st.font(7.0);
    let last = if a.x_log {
        decade_text(
            a.x.1.floor(),
            a.xunit.as_deref().is_some_and(|u| !prefixable(u)),
        )
    } else {
        let xs = AxisScale::for_range(a.x.0, a.x.1, a.xunit.as_deref());
        let xd = tick_decimals(xs.to_display(a.x.1 - a.x.0), 5);
        tick_text(xs.to_display(a.x.1), xd)
    };
    let half = font.font.box_size(&last).map_or(0.0, |(w, _)| f64::from(w)) / 2.0;
    (half + st.px(1.0)).max(st.px(4.0))
}

/// A log-axis tick at log10 value `v`: the value with an SI prefix at whole decades, nothing
/// in between (plotters places ticks evenly in log10).
fn decade_text(v: f64, plain: bool) -> String {
    if (v - v.round()).abs() < 1e-6 {
        let k = v.round() as i32;
        let d = 10f64.powi(k);
        if plain {
            // a unit that takes no prefix (µm²): 0.001, 0.01, ..., 1000
            return tick_text(d, k.min(0).unsigned_abs() as usize);
        }
        si_text(d)
    } else {
        String::new()
    }
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

/// The plotting area `axes` leaves inside a drawing area of `dim` pixels, (width, height).
pub fn plot_area_size(dim: (u32, u32), st: &Style, a: &Axes) -> (f64, f64) {
    let margin = 2.0 * st.px(4.0);
    let (xl, yl) = label_areas(st, a);
    (
        (f64::from(dim.0) - st.px(4.0) - right_margin(st, a) - yl - a.outside.0).max(1.0),
        (f64::from(dim.1) - margin - xl - a.outside.1).max(1.0),
    )
}

/// Points along a polyline in data units, at least `per_segment` per segment, so that a
/// straight stretch across a legend's corner counts as data there.
pub fn densify(pts: &[(f64, f64)], per_segment: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(pts.len() * per_segment.max(1));
    for w in pts.windows(2) {
        for k in 0..per_segment.max(1) {
            let t = k as f64 / per_segment.max(1) as f64;
            out.push((
                w[0].0 + (w[1].0 - w[0].0) * t,
                w[0].1 + (w[1].1 - w[0].1) * t,
            ));
        }
    }
    out.extend(pts.last().copied());
    out
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
