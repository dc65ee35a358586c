//! MNIST loaders (CSV and IDX, plain or gzip) and the seeded stratified train/test split.

use std::io::Read;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;

use crate::error::{Error, Result};
use crate::io::input::{MAX_DATA_BYTES, read_limited};

/// Pixels per MNIST image (28 x 28).
pub const PIXELS: usize = 784;
/// Image side, pixels.
pub const SIDE: usize = 28;
/// Number of digit classes.
pub const CLASSES: usize = 10;

const IDX_IMAGES_MAGIC: u32 = 2051;
const IDX_LABELS_MAGIC: u32 = 2049;

/// A set of 28x28 grey-level digits with their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Row-major pixels, `PIXELS` per image, 0..=255.
    pub pixels: Vec<u8>,
    /// Label 0..=9 of each image.
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * PIXELS..(i + 1) * PIXELS]
    }

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Dataset { pixels, labels }
    }

    /// FNV-1a hash of labels and pixels; a model stores it so that `--split test` on
    /// different data is refused instead of silently evaluating on training digits.
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in self.labels.iter().chain(self.pixels.iter()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// Which part of a data file to use, relative to a model's stored split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The held-out digits.
    Test,
    /// The digits the model was trained on.
    Train,
    /// Every digit of the file.
    All,
}

/// Indices of a stratified split: for each class, the class's indices are shuffled with a
/// generator seeded by `seed` and `round(fraction * count)` of them go to the test set.
/// Returns `(train, test)`, each sorted ascending.
pub fn stratified_split(labels: &[u8], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = crate::seed::sequential(seed);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for class in 0..=u8::MAX {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        if idx.is_empty() {
            continue;
        }
        idx.shuffle(&mut rng);
        let n_test = ((fraction * idx.len() as f64).round() as usize).min(idx.len());
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Reads a whole file, transparently gunzipping it when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let too_big = |what: &str| {
        Error::format(
            path,
            "size",
            format!("{what} more than {MAX_DATA_BYTES} bytes, the most a data file may hold"),
        )
    };
    let raw = read_limited(path, MAX_DATA_BYTES)?;
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::with_capacity(raw.len() * 4);
        let mut dec = flate2::read::MultiGzDecoder::new(&raw[..]).take(MAX_DATA_BYTES + 1);
        let read = dec.read_to_end(&mut out);
        if out.len() as u64 > MAX_DATA_BYTES {
            return Err(too_big("decompressed, it holds"));
        }
        if let Err(e) = read {
            return Err(Error::format(
                path,
                format!("decompressed byte {}", out.len()),
                format!("truncated or corrupt gzip stream ({e})"),
            ));
        }
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn is_idx(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08
}

/// Loads a data set, detecting the format from the content: IDX (gzip or not) when the file
/// starts with an IDX magic, CSV otherwise. For IDX images, `labels` names the label file; when
/// `None` it is derived from the image file name (`images-idx3` -> `labels-idx1`).
pub fn load(path: &Path, labels: Option<&Path>) -> Result<Dataset> {
    let bytes = read_maybe_gz(path)?;
    if is_idx(&bytes) {
        let label_path = match labels {
            Some(p) => p.to_path_buf(),
            None => derive_label_path(path)?,
        };
        let label_bytes = read_maybe_gz(&label_path)?;
        parse_idx(path, &bytes, &label_path, &label_bytes)
    } else {
        if labels.is_some() {
            return Err(Error::usage(format!(
                "{}: a label file was given but the data file is CSV (labels are one of its columns)",
                path.display()
            )));
        }
        parse_csv(path, &bytes)
    }
}

fn derive_label_path(images: &Path) -> Result<PathBuf> {
    let name = images
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let derived = name.replace("images-idx3", "labels-idx1");
    if derived == name {
        return Err(Error::usage(format!(
            "{}: IDX image file without a label file; pass --labels FILE",
            images.display()
        )));
    }
    Ok(images.with_file_name(derived))
}

/// Where a CSV row keeps its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelColumn {
    /// Column 1, then 784 pixels (the common export layout).
    First,
    /// 784 pixels, then the label in column 785.
    Last,
}

/// Decides the label column of CSV rows of 785 fields. A header line (a first row of which more
/// than half the fields are not numbers) naming `label` (any case) in column 1 or 785 decides it. Otherwise the data
/// decides: a label column holds only 0..=9; when both end columns do, the one taking two or
/// more values while the other is constant (MNIST's border pixels are 0). When both vary, or
/// both are constant, the file is refused with what each column held. When neither holds only
/// 0..9 the label is taken as last and the first bad label is reported with its line.
fn detect_label_column(
    path: &Path,
    header: Option<&[&str]>,
    rows: &[(usize, &str)],
) -> Result<LabelColumn> {
    if let Some(h) = header {
        let is_label = |f: &str| {
            let f = f.trim().trim_matches('"').to_ascii_lowercase();
            f == "label"
                || f == "labels"
                || f == "class"
                || f == "digit"
                || f == "y"
                || f == "target"
        };
        match (is_label(h[0]), is_label(h[PIXELS])) {
            (true, false) => return Ok(LabelColumn::First),
            (false, true) => return Ok(LabelColumn::Last),
            _ => {}
        }
    }
    // (all values in 0..=9, the values seen as a bit set)
    let mut first = (true, 0u16);
    let mut last = (true, 0u16);
    for &(_, line) in rows {
        let mut it = line.split(',');
        let f0 = it.next().unwrap_or("").trim();
        let fl = line.rsplit(',').next().unwrap_or("").trim();
        for (f, st) in [(f0, &mut first), (fl, &mut last)] {
            match f.parse::<u32>() {
                Ok(v) if v <= 9 => st.1 |= 1 << v,
                _ => st.0 = false,
            }
        }
    }
    let describe = |st: (bool, u16)| {
        if !st.0 {
            "holds values outside 0..9".to_string()
        } else {
            let vals: Vec<String> = (0..10)
                .filter(|v| st.1 & (1 << v) != 0)
                .map(|v| v.to_string())
                .collect();
            format!("holds only {{{}}}", vals.join(","))
        }
    };
    let varied = |st: (bool, u16)| st.1.count_ones() >= 2;
    match (first.0, last.0) {
        (true, false) => Ok(LabelColumn::First),
        (false, true) => Ok(LabelColumn::Last),
        (true, true) if varied(first) && !varied(last) => Ok(LabelColumn::First),
        (true, true) if varied(last) && !varied(first) => Ok(LabelColumn::Last),
        (true, true) => Err(Error::format(
            path,
            "column 1 and column 785",
            format!(
                "cannot tell the label column: both end columns look like a label (column 1 \
                 {}, column 785 {}); add a header line naming the `label` column",
                describe(first),
                describe(last)
            ),
        )),
        // neither: read as the documented layout (label last), so the first row's label error
        // names its line and column
        (false, false) => Ok(LabelColumn::Last),
    }
}

/// Parses CSV text: per line 784 pixel values 0..=255 and the label 0..=9, the label first or
/// last (see [`detect_label_column`]), with or without a header line. Blank lines and lines
/// starting with `#` are skipped.
pub fn parse_csv(path: &Path, bytes: &[u8]) -> Result<Dataset> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::format(
            path,
            format!("byte {}", e.valid_up_to()),
            "expected UTF-8 CSV text (or an IDX file)",
        )
    })?;
    let mut rows: Vec<(usize, &str)> = Vec::new();
    let mut header: Option<Vec<&str>> = None;
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let n = line.split(',').count();
        if n != PIXELS + 1 {
            return Err(Error::format(
                path,
                format!("line {}", lineno + 1),
                format!(
                    "expected {} comma-separated values (784 pixels and the label, first or \
                     last), found {n}",
                    PIXELS + 1
                ),
            ));
        }
        if rows.is_empty()
            && header.is_none()
            && 2 * line
                .split(',')
                .filter(|f| f.trim().parse::<f64>().is_err())
                .count()
                > n
        {
            header = Some(line.split(',').collect());
            continue;
        }
        rows.push((lineno, line));
    }
    if rows.is_empty() {
        return Err(Error::format(path, "line 1", "no data rows"));
    }
    let layout = detect_label_column(path, header.as_deref(), &rows)?;
    let (label_col, pix0) = match layout {
        LabelColumn::First => (0, 1),
        LabelColumn::Last => (PIXELS, 0),
    };
    let mut pixels = Vec::with_capacity(rows.len() * PIXELS);
    let mut labels = Vec::with_capacity(rows.len());
    for &(lineno, line) in &rows {
        let loc = || format!("line {}", lineno + 1);
        let fields: Vec<&str> = line.split(',').collect();
        for (i, f) in fields[pix0..pix0 + PIXELS].iter().enumerate() {
            let col = pix0 + i + 1;
            let v: u32 = f.trim().parse().map_err(|_| {
                Error::format(
                    path,
                    loc(),
                    format!("column {col}: expected a pixel value 0..255, found {f:?}"),
                )
            })?;
            if v > 255 {
                return Err(Error::format(
                    path,
                    loc(),
                    format!("column {col}: pixel value {v} is above 255"),
                ));
            }
            pixels.push(v as u8);
        }
        let lf = fields[label_col].trim();
        let label: u32 = lf.parse().map_err(|_| {
            Error::format(
                path,
                loc(),
                format!(
                    "column {}: expected a label 0..9, found {lf:?}",
                    label_col + 1
                ),
            )
        })?;
        if label as usize >= CLASSES {
            return Err(Error::format(
                path,
                loc(),
                format!(
                    "column {}: label {label} is not a digit 0..9",
                    label_col + 1
                ),
            ));
        }
        labels.push(label as u8);
    }
    Ok(Dataset { pixels, labels })
}

fn be_u32(path: &Path, bytes: &[u8], offset: usize) -> Result<u32> {
    match bytes.get(offset..offset + 4) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(Error::format(
            path,
            format!("byte {offset}"),
            format!(
                "file ends after {} bytes inside the IDX header",
                bytes.len()
            ),
        )),
    }
}

/// Parses an IDX image file (magic 2051, n x 28 x 28 unsigned bytes) and its IDX label file
/// (magic 2049, n labels 0..=9). Sizes are checked against the file lengths.
pub fn parse_idx(img_path: &Path, img: &[u8], lbl_path: &Path, lbl: &[u8]) -> Result<Dataset> {
    let magic = be_u32(img_path, img, 0)?;
    if magic != IDX_IMAGES_MAGIC {
        return Err(Error::format(
            img_path,
            "byte 0",
            format!("IDX image magic {magic}, expected {IDX_IMAGES_MAGIC}"),
        ));
    }
    let n = be_u32(img_path, img, 4)? as usize;
    let rows = be_u32(img_path, img, 8)? as usize;
    let cols = be_u32(img_path, img, 12)? as usize;
    if rows != SIDE || cols != SIDE {
        return Err(Error::format(
            img_path,
            "byte 8",
            format!("images are {rows}x{cols}, expected 28x28"),
        ));
    }
    let expected = 16 + n * PIXELS;
    if img.len() != expected {
        return Err(Error::format(
            img_path,
            format!("byte {}", img.len().min(expected)),
            format!(
                "header announces {n} images ({expected} bytes) but the file has {} bytes",
                img.len()
            ),
        ));
    }
    let lmagic = be_u32(lbl_path, lbl, 0)?;
    if lmagic != IDX_LABELS_MAGIC {
        return Err(Error::format(
            lbl_path,
            "byte 0",
            format!("IDX label magic {lmagic}, expected {IDX_LABELS_MAGIC}"),
        ));
    }
    let ln = be_u32(lbl_path, lbl, 4)? as usize;
    if ln != n {
        return Err(Error::format(
            lbl_path,
            "byte 4",
            format!("{ln} labels, but {} holds {n} images", img_path.display()),
        ));
    }
    if lbl.len() != 8 + n {
        return Err(Error::format(
            lbl_path,
            format!("byte {}", lbl.len().min(8 + n)),
            format!(
                "header announces {n} labels ({} bytes) but the file has {} bytes",
                8 + n,
                lbl.len()
            ),
        ));
    }
    let labels = lbl[8..].to_vec();
    if let Some(pos) = labels.iter().position(|&l| l as usize >= CLASSES) {
        return Err(Error::format(
            lbl_path,
            format!("byte {}", 8 + pos),
            format!("label {} is not a digit 0..9", labels[pos]),
        ));
    }
    Ok(Dataset {
        pixels: img[16..].to_vec(),
        labels,
    })
}
