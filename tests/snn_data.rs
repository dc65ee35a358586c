//! MNIST loaders: valid CSV/IDX files load, corrupt ones are rejected with the file, the place
//! and what was expected.

use std::io::Write;
use std::path::{Path, PathBuf};

use neurospice::error::Error;
use neurospice::neuro::snn::data::{self, PIXELS, stratified_split};

fn csv_row(pixel: u32, label: &str) -> String {
    let mut s = vec![pixel.to_string(); PIXELS].join(",");
    s.push(',');
    s.push_str(label);
    s.push('\n');
    s
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn err_text(r: Result<data::Dataset, Error>) -> String {
    match r {
        Ok(_) => panic!("corrupt file was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn csv_plain_and_gz_load_the_same_digits() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{}{}", csv_row(0, "3"), csv_row(255, "9"));
    let a = data::load(&write(dir.path(), "a.csv", text.as_bytes()), None).unwrap();
    let b = data::load(&write(dir.path(), "a.csv.gz", &gz(text.as_bytes())), None).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.labels, vec![3, 9]);
    assert_eq!(a.image(1)[PIXELS - 1], 255);
}

#[test]
fn truncated_gz_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..20).map(|i| csv_row(i, "1")).collect();
    let z = gz(text.as_bytes());
    let p = write(dir.path(), "t.csv.gz", &z[..z.len() / 2]);
    let msg = err_text(data::load(&p, None));
    assert!(msg.contains("t.csv.gz") && msg.contains("gzip"), "{msg}");
}

#[test]
fn wrong_column_count_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{}0,0,5\n", csv_row(1, "2"));
    let msg = err_text(data::load(
        &write(dir.path(), "c.csv", text.as_bytes()),
        None,
    ));
    assert!(msg.contains("line 2") && msg.contains("785"), "{msg}");
}

#[test]
fn pixel_above_255_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let text = csv_row(256, "2");
    let msg = err_text(data::load(
        &write(dir.path(), "p.csv", text.as_bytes()),
        None,
    ));
    assert!(msg.contains("line 1") && msg.contains("256"), "{msg}");
}

#[test]
fn bad_labels_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for label in ["10", "x", "-1"] {
        let text = csv_row(0, label);
        let msg = err_text(data::load(
            &write(dir.path(), "l.csv", text.as_bytes()),
            None,
        ));
        assert!(msg.contains("label") && msg.contains("line 1"), "{msg}");
    }
}

fn idx_images(n: u32, magic: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [magic, n, 28, 28] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend((0..n as usize * PIXELS).map(|i| (i % 251) as u8));
    v
}

fn idx_labels(labels: &[u8], magic: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&magic.to_be_bytes());
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

#[test]
fn idx_pair_loads_plain_and_gz_with_derived_label_name() {
    let dir = tempfile::tempdir().unwrap();
    let img = idx_images(3, 2051);
    let lbl = idx_labels(&[7, 0, 9], 2049);
    let a = data::load(
        &write(dir.path(), "train-images-idx3-ubyte", &img),
        Some(&write(dir.path(), "lbl", &lbl)),
    )
    .unwrap();
    write(dir.path(), "t10k-labels-idx1-ubyte.gz", &gz(&lbl));
    let b = data::load(
        &write(dir.path(), "t10k-images-idx3-ubyte.gz", &gz(&img)),
        None,
    )
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.labels, vec![7, 0, 9]);
    assert_eq!(a.image(2)[5], ((2 * PIXELS + 5) % 251) as u8);
}

#[test]
fn idx_wrong_magic_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let lbl = write(dir.path(), "l", &idx_labels(&[1], 2049));
    let msg = err_text(data::load(
        &write(dir.path(), "i", &idx_images(1, 2049)),
        Some(&lbl),
    ));
    assert!(msg.contains("magic 2049") && msg.contains("2051"), "{msg}");
    let img = write(dir.path(), "i2", &idx_images(1, 2051));
    let bad = write(dir.path(), "l2", &idx_labels(&[1], 2051));
    let msg = err_text(data::load(&img, Some(&bad)));
    assert!(msg.contains("l2") && msg.contains("expected 2049"), "{msg}");
}

#[test]
fn idx_truncated_and_mismatched_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let lbl = write(dir.path(), "l", &idx_labels(&[1, 2], 2049));
    let img = idx_images(2, 2051);
    let msg = err_text(data::load(
        &write(dir.path(), "short", &img[..img.len() - 1]),
        Some(&lbl),
    ));
    assert!(msg.contains("short") && msg.contains("2 images"), "{msg}");
    let one = write(dir.path(), "one", &idx_labels(&[1], 2049));
    let full = write(dir.path(), "full", &img);
    let msg = err_text(data::load(&full, Some(&one)));
    assert!(msg.contains("1 labels"), "{msg}");
    let bad = write(dir.path(), "bad", &idx_labels(&[1, 12], 2049));
    let msg = err_text(data::load(&full, Some(&bad)));
    assert!(msg.contains("byte 9") && msg.contains("label 12"), "{msg}");
    let header = write(dir.path(), "hdr", &img[..10]);
    let msg = err_text(data::load(&header, Some(&lbl)));
    assert!(msg.contains("header"), "{msg}");
}

#[test]
fn split_is_stratified_disjoint_and_seeded() {
    let labels: Vec<u8> = (0..1000).map(|i| (i % 10) as u8).collect();
    let (train, test) = stratified_split(&labels, 0.2, 7);
    assert_eq!(test.len(), 200);
    assert_eq!(train.len(), 800);
    for c in 0..10u8 {
        assert_eq!(test.iter().filter(|&&i| labels[i] == c).count(), 20);
    }
    let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..1000).collect::<Vec<_>>());
    assert_eq!(stratified_split(&labels, 0.2, 7), (train, test.clone()));
    assert_ne!(stratified_split(&labels, 0.2, 8).1, test);
}
