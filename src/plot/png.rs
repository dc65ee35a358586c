//! The PNG backend: plotters' bitmap backend with its text drawn by a correct glyph layout.
//!
//! plotters 0.3.7 draws each glyph of an ab_glyph font at the pen position without the
//! glyph's left side bearing (`px_bounds().min.x`), so letters with different bearings stand
//! unevenly apart ("tim e", "currentvariation" in a 300-dpi PNG). Everything but text goes
//! to [`BitMapBackend`]; text is laid out here with the same font, size, anchor, rotation and
//! vertical placement plotters uses, each glyph at pen + bearing, kerned by glyph pairs.

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

type BitmapError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

/// [`BitMapBackend`] with text drawn by [`PngBackend::draw_text`].
pub struct PngBackend<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> PngBackend<'a> {
    /// `font` is the figure's one typeface (the embedded TTF).
    pub fn new(inner: BitMapBackend<'a>, font: FontRef<'static>) -> Self {
        PngBackend { inner, font }
    }
}

impl DrawingBackend for PngBackend<'_> {
    type ErrorType = BitmapError;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.present()
    }
    fn draw_pixel(
        &mut self,
        p: BackendCoord,
        c: BackendColor,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_pixel(p, c)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        a: BackendCoord,
        b: BackendCoord,
        s: &S,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_line(a, b, s)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        a: BackendCoord,
        b: BackendCoord,
        s: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_rect(a, b, s, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_path(path, s)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        c: BackendCoord,
        r: u32,
        s: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.draw_circle(c, r, s, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        s: &S,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.fill_polygon(vert, s)
    }
    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (w, h): (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.inner.blit_bitmap(pos, (w, h), src)
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        // the box plotters lays out (advances and kerning, as its estimate uses), anchored
        // as plotters anchors it
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let trans = style.transform();
        let (w, h) = self.get_size();
        let size = style.size() as f32;
        let font = self.font.as_scaled(size);
        let mut pen = 0f32;
        let mut prev = None;
        for ch in text.chars() {
            let id = font.glyph_id(ch);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale(size);
            if let Some(q) = font.outline_glyph(glyph) {
                let rect = q.px_bounds();
                // vertical placement as plotters does it, horizontal at pen + bearing
                let y0 = (size / 2.0 + rect.min.y) as i32;
                let x0 = (pen + rect.min.x).round() as i32;
                let mut pixels = Vec::new();
                q.draw(|x, y, a| pixels.push((x as i32 + x0, y as i32 + y0, a)));
                for (x, y, a) in pixels {
                    let (x, y) = trans.transform(x + dx - min_x, y + dy - min_y);
                    let (x, y) = (pos.0 + x, pos.1 + y);
                    if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                        self.inner.draw_pixel((x, y), color.mix(f64::from(a)))?;
                    }
                }
            }
            pen += font.h_advance(id);
        }
        Ok(())
    }
}

/// An RGB image of `size` pixels averaged over `f` x `f` blocks (a box filter), rounded to
/// the nearest level; `size` must be a multiple of `f` in both directions.
pub fn box_downsample(rgb: &[u8], size: (u32, u32), f: u32) -> Vec<u8> {
    if f <= 1 {
        return rgb.to_vec();
    }
    let (fw, f) = (size.0 as usize, f as usize);
    let (w, h) = (fw / f, size.1 as usize / f);
    let n = (f * f) as u32;
    let mut out = vec![0u8; w * h * 3];
    let mut acc = vec![0u32; w * 3];
    for y in 0..h {
        acc.iter_mut().for_each(|a| *a = 0);
        for row in rgb[y * f * fw * 3..(y + 1) * f * fw * 3].chunks_exact(fw * 3) {
            for (x, a) in acc.chunks_exact_mut(3).enumerate() {
                for px in row[x * f * 3..(x + 1) * f * 3].chunks_exact(3) {
                    a[0] += u32::from(px[0]);
                    a[1] += u32::from(px[1]);
                    a[2] += u32::from(px[2]);
                }
            }
        }
        for (o, a) in out[y * w * 3..(y + 1) * w * 3].iter_mut().zip(&acc) {
            *o = ((a + n / 2) / n) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns of a rendered `text` that hold ink, left to right.
    fn ink_columns(text: &str, font: &FontRef<'static>) -> Vec<usize> {
        let (w, h) = (400u32, 100u32);
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = PngBackend::new(BitMapBackend::with_buffer(&mut rgb, (w, h)), font.clone())
                .into_drawing_area();
            super::super::figure::tests_register_font();
            let style = ("sans-serif", 60.0).into_font().color(&BLACK);
            root.draw_text(text, &style, (10, 10)).unwrap();
            root.present().unwrap();
        }
        (0..w as usize)
            .filter(|&x| (0..h as usize).any(|y| rgb[(y * w as usize + x) * 3] < 128))
            .collect()
    }

    /// Each glyph stands at pen + its bearing: in "vl" the `l`'s stem starts the `v`'s
    /// advance plus the bearings' difference after the `v`'s ink (plotters drew every glyph
    /// at the pen, so letters with other bearings stood unevenly apart: "tim e").
    #[test]
    fn box_filter_averages_blocks() {
        // 4x2 pixels, 2x2 blocks: black|white halves and a grey ramp
        let px = |v: u8| [v, v, v];
        let rows = [[0u8, 0, 255, 255], [0, 0, 255, 100]];
        let rgb: Vec<u8> = rows.iter().flatten().flat_map(|&v| px(v)).collect();
        assert_eq!(box_downsample(&rgb, (4, 2), 2), [0, 0, 0, 216, 216, 216]);
        assert_eq!(box_downsample(&rgb, (4, 2), 1), rgb);
    }

    #[test]
    fn glyphs_stand_at_pen_plus_bearing() {
        let font = FontRef::try_from_slice(super::super::figure::FONT_BYTES).unwrap();
        let scaled = font.as_scaled(60.0);
        for pair in ["vl", "jl", "Al", "il"] {
            let mut c = pair.chars();
            let (a, b) = (c.next().unwrap(), c.next().unwrap());
            let (ga, gb) = (scaled.glyph_id(a), scaled.glyph_id(b));
            let bearing = |g| scaled.h_side_bearing(g);
            let want = scaled.h_advance(ga) + scaled.kern(ga, gb) + bearing(gb) - bearing(ga);
            let cols = ink_columns(pair, &font);
            // the start of the second run of ink columns
            let second = cols
                .windows(2)
                .find(|w| w[1] > w[0] + 1)
                .map(|w| w[1])
                .expect("two glyphs");
            let got = (second - cols[0]) as f32;
            assert!(
                (got - want).abs() <= 1.5,
                "{pair}: {b} starts {got} px after {a}, want {want}"
            );
        }
    }
}
