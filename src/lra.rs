//! Loaders for the Long Range Arena tasks, in the forms the data is distributed (`lra_release.gz` for ListOps,
//! Retrieval and Pathfinder; the original IMDB and CIFAR-10 archives for Text and Image, which LRA itself loads
//! through `tfds`).
//!
//! | task | what is read | LRA split |
//! |---|---|---|
//! | ListOps | `<task>_{train,val,test}.tsv` (`basic_…` in the release), header `Source\tTarget`, selected by name | files |
//! | Text | the IMDB archive `aclImdb/{train,test}/{neg,pos}/*.txt` (label neg = 0, pos = 1, `tfds` order), or a CSV with a header holding `Source`,`Target` (LRA's own CSV path) or `text`,`label` | train = train; val = test = test (LRA has no IMDB val set) |
//! | Retrieval | `new_aan_pairs.{train,eval,test}.tsv`: no header, 5 tab-separated fields `label id1 id2 text1 text2` (LRA reads them with `use_quote_delim=False`) | files |
//! | Image | CIFAR-10 binary version: `data_batch_{1..5}.bin`, `test_batch.bin`, records of 1 label byte + 3072 bytes (1024 R, 1024 G, 1024 B, row-major 32×32), turned grey with LRA's `tf.image.rgb_to_grayscale` | train = first 90 % of the training batches, val = last 10 %, test = `test_batch.bin` |
//! | Pathfinder | `pathfinder<res>/<difficulty>/metadata/*.npy` + the PNG images they name | 80 / 10 / 10 % ([`split_80_10_10`]) |
//!
//! Tab-separated files are read as raw text (no quoting; `\r\n`, a BOM and blank lines tolerated); errors name the
//! file, the 1-based line and the column. The CSV path uses RFC 4180 quoting (the `csv` crate), as
//! `tf.data.experimental.make_csv_dataset` does by default.
//!
//! What differs from LRA (documented, not hidden): LRA's `tfds` builders hash-shuffle examples when they write
//! them, so "the first 90 % of CIFAR-10's training set" and the Pathfinder 80/10/10 split select different
//! images there than here (here: file order for CIFAR-10; a seeded shuffle for Pathfinder); IMDB files are
//! read in numeric-id order, not `tfds` order. Byte-level text uses `tfds`' `ByteTextEncoder` ids ([`byte_ids`]).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::csv_table::CsvTable;
use crate::data_error::{tab_fields, tab_fields_exact, DataError, Lines};
use crate::listops::{parse, ListOpsExample, ListOpsSplits};

/// An LRA split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LraSplit {
    /// Training split.
    Train,
    /// Validation split (`val` / `eval` in the file names).
    Val,
    /// Test split.
    Test,
}

// ---------------------------------------------------------------------------------------------------------------
// ListOps
// ---------------------------------------------------------------------------------------------------------------

/// Reads a ListOps TSV (header with `Source` and `Target`, selected by name). Every `Source` must parse as a
/// ListOps expression (either string form) and `Target` must be 0–9; the source string is kept as written.
pub fn load_listops_tsv(path: &Path) -> Result<Vec<ListOpsExample>, DataError> {
    let mut rows = Lines::open(path)?.filter(|r| !matches!(r, Ok((_, l)) if l.is_empty()));
    let Some(first) = rows.next() else {
        return Err(DataError::malformed(
            path,
            1,
            None,
            "empty file: expected the header Source\\tTarget",
        ));
    };
    let (_, header_line) = first?;
    let header: Vec<String> = tab_fields(&header_line).into_iter().map(str::to_owned).collect();
    let expected = vec!["Source".to_owned(), "Target".to_owned()];
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| DataError::MissingColumn {
                path: path.to_path_buf(),
                column: name.to_owned(),
                expected: expected.clone(),
                found: header.clone(),
            })
    };
    let (source_col, target_col) = (find("Source")?, find("Target")?);
    rows.map(|row| {
        let (line, row) = row?;
        let line = &line;
        let fields = tab_fields_exact(path, *line, &row, &header)?;
        let source = fields[source_col];
        parse(source).map_err(|e| DataError::malformed(path, *line, Some("Source"), e))?;
        let target = fields[target_col].trim();
        let target = match target.parse::<u8>() {
            Ok(t) if t <= 9 => t,
            _ => {
                return Err(DataError::BadLabel {
                    path: path.to_path_buf(),
                    line: *line,
                    column: "Target".to_owned(),
                    value: target.to_owned(),
                    expected: "an integer 0–9".to_owned(),
                })
            }
        };
        Ok(ListOpsExample {
            source: source.to_owned(),
            target,
        })
    })
    .collect()
}

/// Reads `<dir>/<task>_{train,val,test}.tsv` (the release's task is `basic`).
pub fn load_listops_dir(dir: &Path, task: &str) -> Result<ListOpsSplits, DataError> {
    let load = |name: &str| load_listops_tsv(&dir.join(format!("{task}_{name}.tsv")));
    Ok(ListOpsSplits {
        train: load("train")?,
        val: load("val")?,
        test: load("test")?,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Text (IMDB, byte level)
// ---------------------------------------------------------------------------------------------------------------

/// A text-classification example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextExample {
    /// The document.
    pub text: String,
    /// Its class (IMDB: 0 negative, 1 positive).
    pub label: usize,
}

/// `tfds`' `ByteTextEncoder` ids of `text`: each UTF-8 byte b becomes b + 1 (0 is padding; vocabulary 257),
/// truncated to `max_len` ids (LRA: `[:max_length]` after encoding).
pub fn byte_ids(text: &str, max_len: usize) -> Vec<u32> {
    text.bytes().take(max_len).map(|b| u32::from(b) + 1).collect()
}

/// Size of the [`byte_ids`] vocabulary (256 bytes + padding).
pub const BYTE_VOCAB_SIZE: usize = 257;

/// Reads the IMDB archive's `root/{train,test}/{neg,pos}/*.txt` (`root` is the `aclImdb` folder). Labels: `neg`
/// 0, `pos` 1 (`tfds`' `imdb_reviews` class names); `unsup` is ignored. Files are ordered by the numeric id
/// before `_` in their names (then by name). `Val` reads the test files, as LRA does.
pub fn load_imdb_dir(root: &Path, split: LraSplit) -> Result<Vec<TextExample>, DataError> {
    let part = match split {
        LraSplit::Train => "train",
        LraSplit::Val | LraSplit::Test => "test",
    };
    let mut out = Vec::new();
    for (label, class) in ["neg", "pos"].iter().enumerate() {
        let dir = root.join(part).join(class);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| DataError::io(&dir, e))?
            .map(|entry| entry.map(|e| e.path()).map_err(|e| DataError::io(&dir, e)))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "txt") && p.is_file())
            .collect();
        files.sort_by_key(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let id = name
                .split('_')
                .next()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(u64::MAX);
            (id, name)
        });
        for file in files {
            let bytes = std::fs::read(&file).map_err(|e| DataError::io(&file, e))?;
            let text = String::from_utf8(bytes).map_err(|e| {
                let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                DataError::Utf8 {
                    path: file.clone(),
                    line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
                }
            })?;
            out.push(TextExample { text, label });
        }
    }
    Ok(out)
}

/// Reads a CSV text-classification file with a header naming `Source` and `Target` (LRA's
/// `preprocess_dataset`) or `text` and `label`; RFC 4180 quoting; labels are non-negative integers.
pub fn load_text_csv(path: &Path) -> Result<Vec<TextExample>, DataError> {
    let table = CsvTable::read(path)?;
    let pick = |a: &str, b: &str| table.column(a).or_else(|| table.column(b));
    let (Some(text_col), Some(label_col)) = (pick("Source", "text"), pick("Target", "label")) else {
        let missing = if pick("Source", "text").is_none() {
            "Source (or text)"
        } else {
            "Target (or label)"
        };
        return Err(DataError::MissingColumn {
            path: path.to_path_buf(),
            column: missing.to_owned(),
            expected: vec!["Source".into(), "Target".into(), "text".into(), "label".into()],
            found: table.header.clone(),
        });
    };
    let label_name = &table.header[label_col];
    let mut out = Vec::with_capacity(table.rows.len());
    for (line, record) in &table.rows {
        let raw = record.get(label_col).unwrap_or("");
        let label = raw.trim().parse::<usize>().map_err(|_| DataError::BadLabel {
            path: path.to_path_buf(),
            line: *line,
            column: label_name.clone(),
            value: raw.to_owned(),
            expected: "a non-negative integer".to_owned(),
        })?;
        out.push(TextExample {
            text: record.get(text_col).unwrap_or("").to_owned(),
            label,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------------
// Retrieval (AAN)
// ---------------------------------------------------------------------------------------------------------------

/// An AAN document pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairExample {
    /// 1 if the papers are linked by a citation, else 0.
    pub label: usize,
    /// Id of the first paper.
    pub id1: String,
    /// Id of the second paper.
    pub id2: String,
    /// Text of the first paper.
    pub text1: String,
    /// Text of the second paper.
    pub text2: String,
}

/// Reads an AAN TSV: no header, exactly 5 raw tab-separated fields `label id1 id2 text1 text2`. The label is a
/// number equal to 0 or 1 (`0`, `1`, `0.0`, `1.0`; LRA reads it as a float and casts it).
pub fn load_aan_tsv(path: &Path) -> Result<Vec<PairExample>, DataError> {
    let layout: Vec<String> = ["label", "id1", "id2", "text1", "text2"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    Lines::open(path)?
        .filter(|r| !matches!(r, Ok((_, l)) if l.is_empty()))
        .map(|row| {
            let (line, row) = row?;
            let line = &line;
            let fields = tab_fields_exact(path, *line, &row, &layout)?;
            let label = match fields[0].trim().parse::<f64>() {
                Ok(0.0) => 0,
                Ok(1.0) => 1,
                _ => {
                    return Err(DataError::BadLabel {
                        path: path.to_path_buf(),
                        line: *line,
                        column: "label".to_owned(),
                        value: fields[0].to_owned(),
                        expected: "0 or 1".to_owned(),
                    })
                }
            };
            Ok(PairExample {
                label,
                id1: fields[1].to_owned(),
                id2: fields[2].to_owned(),
                text1: fields[3].to_owned(),
                text2: fields[4].to_owned(),
            })
        })
        .collect()
}

/// Reads `<dir>/new_aan_pairs.{train,eval,test}.tsv`.
pub fn load_aan_dir(dir: &Path, split: LraSplit) -> Result<Vec<PairExample>, DataError> {
    let name = match split {
        LraSplit::Train => "train",
        LraSplit::Val => "eval",
        LraSplit::Test => "test",
    };
    load_aan_tsv(&dir.join(format!("new_aan_pairs.{name}.tsv")))
}

// ---------------------------------------------------------------------------------------------------------------
// Images: CIFAR-10 (grey) and Pathfinder
// ---------------------------------------------------------------------------------------------------------------

/// A grey-scale image with its class; the LRA input sequence is `pixels` (row-major, values 0–255).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreyImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major grey values.
    pub pixels: Vec<u8>,
    /// The class.
    pub label: usize,
}

/// `tf.image.rgb_to_grayscale` on `uint8`, as LRA's image pipeline applies it, in `f32` like TensorFlow:
///
/// grey = trunc( (0.2989·r/255 + 0.5870·g/255 + 0.1140·b/255) · 255.5 )
///
/// (`convert_image_dtype` to float multiplies by 1/255; back to `uint8` it multiplies by 255 + 0.5 and casts,
/// which truncates). So (0, 255, 0) → 149, not round(149.7) = 150. TensorFlow's summation order may differ, so a
/// value lying within f32 rounding of an integer could come out 1 lower or higher there.
pub fn rgb_to_grey_lra(r: u8, g: u8, b: u8) -> u8 {
    let scale = (1.0f64 / 255.0) as f32;
    let (r, g, b) = (f32::from(r) * scale, f32::from(g) * scale, f32::from(b) * scale);
    let grey = r * 0.2989f32 + g * 0.5870f32 + b * 0.1140f32;
    (grey * 255.5f32) as u8
}

/// Bytes of one CIFAR-10 binary record: 1 label byte + 32·32·3 pixel bytes.
pub const CIFAR10_RECORD: usize = 1 + 3072;

/// Reads a CIFAR-10 binary batch (`data_batch_N.bin`, `test_batch.bin`) into grey 32×32 images
/// ([`rgb_to_grey_lra`]). Errors on a size that is not a multiple of 3073 bytes (naming the truncated record) or
/// on a label byte above 9.
pub fn load_cifar10_bin(path: &Path) -> Result<Vec<GreyImage>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.len() % CIFAR10_RECORD != 0 {
        let record = bytes.len() / CIFAR10_RECORD + 1;
        return Err(DataError::malformed(
            path,
            record,
            None,
            format!(
                "truncated record: file has {} bytes, not a multiple of {CIFAR10_RECORD} (1 label + 3072 pixels)",
                bytes.len()
            ),
        ));
    }
    bytes
        .chunks_exact(CIFAR10_RECORD)
        .enumerate()
        .map(|(i, rec)| {
            let label = usize::from(rec[0]);
            if label > 9 {
                return Err(DataError::BadLabel {
                    path: path.to_path_buf(),
                    line: i + 1,
                    column: "label byte".to_owned(),
                    value: label.to_string(),
                    expected: "0–9".to_owned(),
                });
            }
            let (red, rest) = rec[1..].split_at(1024);
            let (green, blue) = rest.split_at(1024);
            let pixels = (0..1024).map(|p| rgb_to_grey_lra(red[p], green[p], blue[p])).collect();
            Ok(GreyImage {
                width: 32,
                height: 32,
                pixels,
                label,
            })
        })
        .collect()
}

/// LRA's CIFAR-10 splits from the folder `cifar-10-batches-bin`: `Train` = the first 90 % (rounded to the nearest
/// image) of `data_batch_1.bin` … `data_batch_5.bin` in file order, `Val` = the rest, `Test` = `test_batch.bin`.
pub fn load_cifar10_dir(dir: &Path, split: LraSplit) -> Result<Vec<GreyImage>, DataError> {
    if split == LraSplit::Test {
        return load_cifar10_bin(&dir.join("test_batch.bin"));
    }
    let mut all = Vec::new();
    for n in 1..=5 {
        all.extend(load_cifar10_bin(&dir.join(format!("data_batch_{n}.bin")))?);
    }
    let cut = (all.len() * 9 + 5) / 10;
    let val = all.split_off(cut);
    Ok(if split == LraSplit::Train { all } else { val })
}

/// Pathfinder difficulty (LRA's `easy` / `intermediate` / `hard` splits of one resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathfinderDifficulty {
    /// `curv_baseline`.
    Easy,
    /// `curv_contour_length_9`.
    Intermediate,
    /// `curv_contour_length_14`.
    Hard,
}

impl PathfinderDifficulty {
    /// The folder name.
    pub fn dir_name(self) -> &'static str {
        match self {
            PathfinderDifficulty::Easy => "curv_baseline",
            PathfinderDifficulty::Intermediate => "curv_contour_length_9",
            PathfinderDifficulty::Hard => "curv_contour_length_14",
        }
    }
}

/// One Pathfinder sample named by a metadata file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathfinderEntry {
    /// Full path of the PNG.
    pub image: PathBuf,
    /// 1 if the two dots are connected, else 0.
    pub label: usize,
}

/// Reads every `root/<difficulty>/metadata/*.npy` (despite the name these are text files: LRA's builder and
/// S4 read them as UTF-8 lines). Files are taken in numeric order of their stem (`0.npy`, `1.npy`, …; others after,
/// by name); each non-blank line is split on whitespace, field 1 is the image's folder (relative to
/// `root/<difficulty>`), field 2 its file name and field 4 the label (0 or 1).
pub fn read_pathfinder_metadata(
    root: &Path,
    difficulty: PathfinderDifficulty,
) -> Result<Vec<PathfinderEntry>, DataError> {
    let base = root.join(difficulty.dir_name());
    let meta_dir = base.join("metadata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&meta_dir)
        .map_err(|e| DataError::io(&meta_dir, e))?
        .map(|entry| entry.map(|e| e.path()).map_err(|e| DataError::io(&meta_dir, e)))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "npy") && p.is_file())
        .collect();
    if files.is_empty() {
        return Err(DataError::NotFound {
            dir: meta_dir.clone(),
            what: format!("Pathfinder {} metadata", difficulty.dir_name()),
            candidates: vec![meta_dir.join("*.npy")],
        });
    }
    files.sort_by_key(|p| {
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (stem.parse::<u64>().unwrap_or(u64::MAX), stem)
    });
    let mut out = Vec::new();
    for file in files {
        for row in Lines::open(&file)? {
            let (line, row) = row?;
            let line = &line;
            let fields: Vec<&str> = row.split_whitespace().collect();
            if fields.is_empty() {
                continue;
            }
            if fields.len() < 4 {
                return Err(DataError::malformed(
                    &file,
                    *line,
                    None,
                    format!(
                        "expected at least 4 space-separated fields (folder, file, _, label), found {}",
                        fields.len()
                    ),
                ));
            }
            let label = match fields[3] {
                "0" => 0,
                "1" => 1,
                other => {
                    return Err(DataError::BadLabel {
                        path: file.clone(),
                        line: *line,
                        column: "field 4".to_owned(),
                        value: other.to_owned(),
                        expected: "0 or 1".to_owned(),
                    })
                }
            };
            out.push(PathfinderEntry {
                image: base.join(fields[0]).join(fields[1]),
                label,
            });
        }
    }
    Ok(out)
}

/// Decodes a PNG into grey values. Returns `Ok(None)` for an empty (0-byte) file: the release contains some, and
/// LRA filters them out (`tf.strings.length(image) > 0`). Grey images are returned as they are; RGB(A) images are
/// turned grey with [`rgb_to_grey_lra`]; alpha is dropped; palettes and low bit depths are expanded to 8 bits and
/// 16-bit samples reduced to 8.
pub fn load_grey_png(path: &Path) -> Result<Option<(usize, usize, Vec<u8>)>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.is_empty() {
        return Ok(None);
    }
    let image_err = |e: png::DecodingError| DataError::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(image_err)?;
    let size = reader.output_buffer_size().ok_or_else(|| DataError::Image {
        path: path.to_path_buf(),
        message: "image too large".to_owned(),
    })?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(image_err)?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(DataError::Image {
                path: path.to_path_buf(),
                message: "palette was not expanded".to_owned(),
            })
        }
    };
    let mut pixels = Vec::with_capacity(w * h);
    for row in buf.chunks_exact(info.line_size).take(h) {
        for px in row[..w * channels].chunks_exact(channels) {
            pixels.push(if channels >= 3 {
                rgb_to_grey_lra(px[0], px[1], px[2])
            } else {
                px[0]
            });
        }
    }
    Ok(Some((w, h, pixels)))
}

/// A loaded Pathfinder difficulty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathfinderSet {
    /// The images, in metadata order.
    pub images: Vec<GreyImage>,
    /// Images named by the metadata whose file is empty (skipped, as LRA does).
    pub skipped_empty: Vec<PathBuf>,
}

/// Reads the metadata and decodes every image of one difficulty (see [`read_pathfinder_metadata`] and
/// [`load_grey_png`]). For lazy loading use those two directly.
pub fn load_pathfinder(root: &Path, difficulty: PathfinderDifficulty) -> Result<PathfinderSet, DataError> {
    let mut set = PathfinderSet {
        images: Vec::new(),
        skipped_empty: Vec::new(),
    };
    for entry in read_pathfinder_metadata(root, difficulty)? {
        match load_grey_png(&entry.image)? {
            Some((width, height, pixels)) => set.images.push(GreyImage {
                width,
                height,
                pixels,
                label: entry.label,
            }),
            None => set.skipped_empty.push(entry.image),
        }
    }
    Ok(set)
}

/// A deterministic 80 / 10 / 10 split of `0..n` (LRA's `[:80%]`, `[80%:90%]`, `[90%:]` of a shuffled order):
/// the indices are shuffled with `StdRng::seed_from_u64(seed)`, then cut at ⌊0.8 n⌉ and ⌊0.9 n⌉ (rounded to the
/// nearest integer).
pub fn split_80_10_10(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let a = (n * 8 + 5) / 10;
    let b = (n * 9 + 5) / 10;
    let test = order.split_off(b);
    let val = order.split_off(a);
    (order, val, test)
}
