//! MNIST loaders (CSV and IDX, plain or gzip) and the seeded stratified train/test split.

use std::io::Read;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;

use crate::error::{Error, Result};

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
    let raw = std::fs::read(path).map_err(|e| Error::read(path, e))?;
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::with_capacity(raw.len() * 4);
        let mut dec = flate2::read::MultiGzDecoder::new(&raw[..]);
        if let Err(e) = dec.read_to_end(&mut out) {
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
                "{}: a label file was given but the data file is CSV (labels are its last column)",
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

/// Parses CSV text: per line 784 pixel values 0..=255 then the label 0..=9. Blank lines and
/// lines starting with `#` are skipped.
pub fn parse_csv(path: &Path, bytes: &[u8]) -> Result<Dataset> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::format(
            path,
            format!("byte {}", e.valid_up_to()),
            "expected UTF-8 CSV text (or an IDX file)",
        )
    })?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let loc = || format!("line {}", lineno + 1);
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != PIXELS + 1 {
            return Err(Error::format(
                path,
                loc(),
                format!(
                    "expected {} comma-separated values (784 pixels then the label), found {}",
                    PIXELS + 1,
                    fields.len()
                ),
            ));
        }
        for (col, f) in fields[..PIXELS].iter().enumerate() {
            let v: u32 = f.trim().parse().map_err(|_| {
                Error::format(
                    path,
                    loc(),
                    format!(
                        "column {}: expected a pixel value 0..255, found {f:?}",
                        col + 1
                    ),
                )
            })?;
            if v > 255 {
                return Err(Error::format(
                    path,
                    loc(),
                    format!("column {}: pixel value {v} is above 255", col + 1),
                ));
            }
            pixels.push(v as u8);
        }
        let lf = fields[PIXELS].trim();
        let label: u32 = lf.parse().map_err(|_| {
            Error::format(
                path,
                loc(),
                format!("column 785: expected a label 0..9, found {lf:?}"),
            )
        })?;
        if label as usize >= CLASSES {
            return Err(Error::format(
                path,
                loc(),
                format!("column 785: label {label} is not a digit 0..9"),
            ));
        }
        labels.push(label as u8);
    }
    if labels.is_empty() {
        return Err(Error::format(path, "line 1", "no data rows"));
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
