//! LRA loaders on small fixtures in the released layouts (`tests/fixtures/lra/README.md`).

use std::path::{Path, PathBuf};

use tabs_experiments::listops::{evaluate, parse};
use tabs_experiments::lra::{
    byte_ids, load_aan_dir, load_aan_tsv, load_cifar10_bin, load_cifar10_dir, load_grey_png, load_imdb_dir,
    load_listops_dir, load_listops_tsv, load_pathfinder, load_text_csv, read_pathfinder_metadata, rgb_to_grey_lra,
    split_80_10_10, LraSplit, PathfinderDifficulty, CIFAR10_RECORD,
};
use tabs_experiments::DataError;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lra")
}

#[test]
fn listops_release_layout() {
    let s = load_listops_dir(&fixtures().join("listops"), "basic").unwrap();
    let train: Vec<(&str, u8)> = s.train.iter().map(|e| (e.source.as_str(), e.target)).collect();
    assert_eq!(
        train,
        vec![
            ("( ( ( [MAX 4 ) 3 ) ] )", 4),
            ("( ( ( ( [SM 9 ) 9 ) 9 ) ] )", 7),
            ("( ( ( ( ( [MED 3 ) ( ( ( [SM 5 ) 6 ) ] ) ) 9 ) 0 ) ] )", 2),
        ]
    );
    // The hand-computed targets agree with the evaluator, and the strings are exactly LRA's to_string form.
    for e in s.train.iter().chain(&s.val) {
        assert_eq!(evaluate(&e.source).unwrap(), e.target);
        assert_eq!(parse(&e.source).unwrap().to_lra_string(), e.source);
    }
    assert_eq!(s.val[0].target, 8);
    assert_eq!((s.test[0].source.as_str(), s.test[0].target), ("[SM 2 3 ]", 5));
}

#[test]
fn listops_errors_name_line_and_column() {
    let err = load_listops_tsv(&fixtures().join("listops/bad_target.tsv")).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("bad_target.tsv:3: column \"Target\": label \"10\" is not one of an integer 0–9"),
        "{err}"
    );
    let err = load_listops_tsv(&fixtures().join("listops/bad_source.tsv")).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("bad_source.tsv:3: column \"Source\": incomplete expression (1 operator(s) still open)"),
        "{err}"
    );
    let err = load_listops_tsv(&fixtures().join("retrieval/new_aan_pairs.test.tsv")).unwrap_err();
    assert!(
        matches!(err, DataError::MissingColumn { ref column, .. } if column == "Source"),
        "{err}"
    );
}

#[test]
fn imdb_archive_layout() {
    let root = fixtures().join("text/aclImdb");
    let train = load_imdb_dir(&root, LraSplit::Train).unwrap();
    let got: Vec<(&str, usize)> = train.iter().map(|e| (e.text.as_str(), e.label)).collect();
    assert_eq!(
        got,
        vec![
            ("Dull.", 0),
            ("A fine film.<br /><br />Loved it.", 1),
            ("Great cast, \"great\" story.\nSecond line.", 1),
        ]
    );
    let test = load_imdb_dir(&root, LraSplit::Test).unwrap();
    assert_eq!(test.len(), 2);
    assert_eq!(
        load_imdb_dir(&root, LraSplit::Val).unwrap(),
        test,
        "LRA validates on the IMDB test set"
    );
    assert_eq!(test[1].text, "Wonderful — café scene.");
    // Byte-level ids (tfds ByteTextEncoder): UTF-8 bytes + 1; "é" is two bytes.
    let ids = byte_ids(&test[1].text, 4096);
    assert_eq!(ids.len(), test[1].text.len());
    assert_eq!(
        &ids[..3],
        &[u32::from(b'W') + 1, u32::from(b'o') + 1, u32::from(b'n') + 1]
    );
    assert!(ids.iter().all(|&i| (1..=256).contains(&i)));
    let err = load_imdb_dir(&fixtures().join("text/aclImdb_bad"), LraSplit::Test).unwrap_err();
    assert!(matches!(err, DataError::Utf8 { line: 1, .. }), "{err}");
}

#[test]
fn text_csv_quoting() {
    let hf = load_text_csv(&fixtures().join("text/imdb_hf.csv")).unwrap();
    let got: Vec<(&str, usize)> = hf.iter().map(|e| (e.text.as_str(), e.label)).collect();
    assert_eq!(
        got,
        vec![("Good, really good.", 1), ("He said \"meh\"\nand left.", 0), ("", 0)]
    );
    let lra = load_text_csv(&fixtures().join("text/lra_style.csv")).unwrap();
    assert_eq!(lra[1].text, "quoted, text");
    assert_eq!(lra[1].label, 10);
    let err = load_text_csv(&fixtures().join("text/bad_label.csv")).unwrap_err();
    // The record starts on line 3 (and spans two lines).
    assert!(
        err.to_string()
            .ends_with("bad_label.csv:3: column \"label\": label \"pos\" is not one of a non-negative integer"),
        "{err}"
    );
    let err = load_text_csv(&fixtures().join("listops/basic_train.tsv")).unwrap_err();
    assert!(matches!(err, DataError::MissingColumn { .. }), "{err}");
}

#[test]
fn aan_pairs() {
    let dir = fixtures().join("retrieval");
    let train = load_aan_dir(&dir, LraSplit::Train).unwrap();
    assert_eq!(train.len(), 2);
    assert_eq!(train[0].label, 1);
    assert_eq!((train[0].id1.as_str(), train[0].id2.as_str()), ("P01-1001", "P02-2002"));
    assert_eq!(train[0].text1, "We parse \"trees\".");
    assert_eq!((train[1].label, train[1].text2.as_str()), (0, ""));
    assert_eq!(load_aan_dir(&dir, LraSplit::Val).unwrap()[0].label, 1);
    assert_eq!(load_aan_dir(&dir, LraSplit::Test).unwrap()[0].text1, "z");
    let err = load_aan_tsv(&dir.join("bad_fields.tsv")).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::FieldCount {
                line: 2,
                expected: 5,
                found: 4,
                ..
            }
        ),
        "{err}"
    );
    let err = load_aan_tsv(&dir.join("bad_label.tsv")).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("bad_label.tsv:2: column \"label\": label \"0.5\" is not one of 0 or 1"),
        "{err}"
    );
}

/// One CIFAR-10 binary record: label, then 1024 R, 1024 G, 1024 B bytes.
fn record(label: u8, rgb: impl Fn(usize) -> (u8, u8, u8)) -> Vec<u8> {
    let mut rec = vec![label];
    for channel in 0..3 {
        for p in 0..1024 {
            let (r, g, b) = rgb(p);
            rec.push([r, g, b][channel]);
        }
    }
    rec
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn cifar10_binary_to_lra_grey() {
    let dir = temp_dir("cifar-10-batches-bin");
    // Pixel p of image k: (p % 256, (p / 4) % 256, k); labels cycle 0..9.
    let image = |k: usize| {
        record((k % 10) as u8, move |p| {
            ((p % 256) as u8, ((p / 4) % 256) as u8, k as u8)
        })
    };
    let mut k = 0;
    for n in 1..=5 {
        let mut bytes = Vec::new();
        for _ in 0..4 {
            bytes.extend(image(k));
            k += 1;
        }
        std::fs::write(dir.join(format!("data_batch_{n}.bin")), bytes).unwrap();
    }
    std::fs::write(
        dir.join("test_batch.bin"),
        [image(100), record(3, |_| (0, 255, 0))].concat(),
    )
    .unwrap();

    let train = load_cifar10_dir(&dir, LraSplit::Train).unwrap();
    let val = load_cifar10_dir(&dir, LraSplit::Val).unwrap();
    let test = load_cifar10_dir(&dir, LraSplit::Test).unwrap();
    assert_eq!((train.len(), val.len(), test.len()), (18, 2, 2)); // 90 % of 20 in file order, then the rest
    assert_eq!(val[0].label, 8);
    assert_eq!(train[7].label, 7);
    let img = &train[5];
    assert_eq!((img.width, img.height, img.pixels.len()), (32, 32, 1024));
    for p in [0, 1, 37, 1023] {
        assert_eq!(
            img.pixels[p],
            rgb_to_grey_lra((p % 256) as u8, ((p / 4) % 256) as u8, 5)
        );
    }
    // Pure green: trunc(0.587 · 255.5) = 149 (TensorFlow's cast truncates).
    assert!(test[1].pixels.iter().all(|&v| v == 149));

    std::fs::write(dir.join("truncated.bin"), vec![0u8; CIFAR10_RECORD + 10]).unwrap();
    let err = load_cifar10_bin(&dir.join("truncated.bin")).unwrap_err();
    assert!(
        err.to_string()
            .contains("truncated.bin:2: truncated record: file has 3083 bytes"),
        "{err}"
    );
    std::fs::write(dir.join("label.bin"), record(12, |_| (0, 0, 0))).unwrap();
    let err = load_cifar10_bin(&dir.join("label.bin")).unwrap_err();
    assert!(matches!(err, DataError::BadLabel { line: 1, .. }), "{err}");
    assert!(matches!(
        load_cifar10_bin(&dir.join("missing.bin")),
        Err(DataError::Io { .. })
    ));
}

#[test]
fn pathfinder_metadata_and_png() {
    let root = fixtures().join("pathfinder32");
    let entries = read_pathfinder_metadata(&root, PathfinderDifficulty::Easy).unwrap();
    let names: Vec<(String, usize)> = entries
        .iter()
        .map(|e| {
            (
                e.image
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
                e.label,
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("curv_baseline/imgs/0/sample_0.png".to_owned(), 1),
            ("curv_baseline/imgs/0/sample_1.png".to_owned(), 0),
            ("curv_baseline/imgs/0/sample_2.png".to_owned(), 1),
            ("curv_baseline/imgs/1/sample_0.png".to_owned(), 1), // 2.npy before 10.npy
            ("curv_baseline/imgs/1/sample_1.png".to_owned(), 0),
        ]
    );
    let set = load_pathfinder(&root, PathfinderDifficulty::Easy).unwrap();
    assert_eq!(set.images.len(), 4);
    assert_eq!(set.skipped_empty.len(), 1);
    assert!(set.skipped_empty[0].ends_with("imgs/0/sample_2.png"));
    let grey = &set.images[0];
    assert_eq!((grey.width, grey.height, grey.label), (4, 3, 1));
    assert_eq!(grey.pixels, vec![0, 64, 128, 255, 1, 2, 3, 4, 250, 251, 252, 253]);
    // RGB → grey with LRA's formula: 76, 149, 29, 141 (module tests derive each).
    assert_eq!(set.images[1].pixels, vec![76, 149, 29, 141]);
    assert_eq!(set.images[2].pixels, vec![0x12, 0xff]); // 16-bit samples reduced to their high byte
    assert_eq!(set.images[3].pixels, vec![255, 0, 255]); // 1-bit grey expanded to 8 bits
    assert_eq!(
        load_grey_png(&root.join("curv_baseline/imgs/0/sample_2.png")).unwrap(),
        None
    );

    let err = read_pathfinder_metadata(&root, PathfinderDifficulty::Intermediate).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("0.npy:2: column \"field 4\": label \"yes\" is not one of 0 or 1"),
        "{err}"
    );
    let err = load_pathfinder(&root, PathfinderDifficulty::Hard).unwrap_err();
    assert!(
        matches!(err, DataError::Image { .. }) && err.to_string().contains("broken.png: cannot decode image"),
        "{err}"
    );
    let err = read_pathfinder_metadata(&fixtures(), PathfinderDifficulty::Easy).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
}

#[test]
fn eighty_ten_ten_is_deterministic() {
    let a = split_80_10_10(1000, 42);
    assert_eq!(a, split_80_10_10(1000, 42));
    assert_ne!(a, split_80_10_10(1000, 43));
    assert_eq!((a.0.len(), a.1.len(), a.2.len()), (800, 100, 100));
}

// ---------------------------------------------------------------------------------------------------------------
// The tasks as token sequences (tabs_experiments::lra_task)
// ---------------------------------------------------------------------------------------------------------------

use tabs_experiments::batch::Target;
use tabs_experiments::listops::tokenize_listops;
use tabs_experiments::lra_task::{load_lra, LraTask};

#[test]
fn task_names_round_trip() {
    for name in [
        "listops",
        "text",
        "retrieval",
        "image",
        "pathfinder-easy",
        "pathfinder-intermediate",
        "pathfinder-hard",
    ] {
        assert_eq!(LraTask::parse(name).unwrap().name(), name);
    }
    assert_eq!(LraTask::parse("pathfinder"), LraTask::parse("pathfinder-easy"));
    assert_eq!(LraTask::parse("cifar"), None);
}

#[test]
fn listops_becomes_cls_tokens_sep() {
    let d = load_lra(LraTask::ListOps, &fixtures().join("listops"), 2048, 0).unwrap();
    assert_eq!((d.vocab_size(), d.cls()), (18, 16));
    let e = &d.train[2];
    let body = tokenize_listops("( ( ( ( ( [MED 3 ) ( ( ( [SM 5 ) 6 ) ] ) ) 9 ) 0 ) ] )").unwrap();
    assert_eq!(e.input_ids.first(), Some(&16));
    assert_eq!(e.input_ids.last(), Some(&17));
    assert_eq!(&e.input_ids[1..e.input_ids.len() - 1], &body[..]);
    assert_eq!(e.target, Target::Class(2));
    // Truncation keeps [CLS] … [SEP] within max_length.
    let d = load_lra(LraTask::ListOps, &fixtures().join("listops"), 5, 0).unwrap();
    assert!(d
        .train
        .iter()
        .all(|e| e.input_ids.len() <= 5 && e.input_ids[4.min(e.input_ids.len() - 1)] == 17));
}

#[test]
fn text_is_bytes_plus_one() {
    let d = load_lra(LraTask::Text, &fixtures().join("text/aclImdb"), 12, 0).unwrap();
    let imdb = load_imdb_dir(&fixtures().join("text/aclImdb"), LraSplit::Train).unwrap();
    assert_eq!(d.train.len(), imdb.len());
    for (e, x) in d.train.iter().zip(&imdb) {
        assert_eq!(e.input_ids.len(), (x.text.len() + 2).min(12));
        assert_eq!(e.input_ids[1..e.input_ids.len() - 1], byte_ids(&x.text, 10)[..]);
        assert_eq!((e.input_ids[0], *e.input_ids.last().unwrap()), (257, 258));
        assert_eq!(e.target, Target::Class(x.label));
    }
    assert_eq!(d.val, d.test, "LRA evaluates IMDB on its test set");
}

#[test]
fn retrieval_pairs_share_the_room() {
    let dir = fixtures().join("retrieval");
    let d = load_lra(LraTask::Retrieval, &dir, 11, 0).unwrap();
    let raw = load_aan_dir(&dir, LraSplit::Train).unwrap();
    for (e, x) in d.train.iter().zip(&raw) {
        let seps: Vec<usize> = (0..e.input_ids.len()).filter(|&i| e.input_ids[i] == 258).collect();
        assert_eq!(seps.len(), 2);
        assert_eq!(seps[1], e.input_ids.len() - 1);
        let (a, b) = (&e.input_ids[1..seps[0]], &e.input_ids[seps[0] + 1..seps[1]]);
        // 8 ids of room: each side gets half unless the other side is shorter.
        let (la, lb) = (x.text1.len(), x.text2.len());
        let na = la.min(4.max(8usize.saturating_sub(lb)));
        assert_eq!((a.len(), b.len()), (na, lb.min(8 - na)), "{x:?}");
        assert_eq!(a, &byte_ids(&x.text1, na)[..]);
        assert_eq!(b, &byte_ids(&x.text2, b.len())[..]);
        let types: Vec<u32> = (0..e.input_ids.len()).map(|i| u32::from(i > seps[0])).collect();
        assert_eq!(e.token_type_ids, types);
        assert_eq!(e.target, Target::Class(x.label));
    }
}

#[test]
fn images_are_pixels_plus_one() {
    let dir = temp_dir("cifar-task");
    for n in 1..=5 {
        let bytes: Vec<u8> = (0..2)
            .flat_map(|k| record((n + k) as u8 % 10, |p| ((p % 200) as u8, 0, 0)))
            .collect();
        std::fs::write(dir.join(format!("data_batch_{n}.bin")), bytes).unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), record(4, |_| (0, 255, 0))).unwrap();
    let d = load_lra(LraTask::Image, &dir, 4096, 0).unwrap();
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (9, 1, 1));
    assert_eq!(d.test[0].input_ids.len(), 1026);
    assert!(d.test[0].input_ids[1..1025].iter().all(|&i| i == 150), "grey 149 + 1");
    assert_eq!(d.test[0].target, Target::Class(4));
    assert_eq!(d.train[0].input_ids[2], u32::from(rgb_to_grey_lra(1, 0, 0)) + 1);

    let d = load_lra(
        LraTask::Pathfinder(PathfinderDifficulty::Easy),
        &fixtures().join("pathfinder32"),
        64,
        1,
    )
    .unwrap();
    assert_eq!(
        d.train.len() + d.val.len() + d.test.len(),
        4,
        "the empty image is skipped"
    );
    let all: Vec<_> = d.train.iter().chain(&d.val).chain(&d.test).collect();
    let first = all.iter().find(|e| e.input_ids.len() == 14).expect("the 4×3 image");
    assert_eq!(
        &first.input_ids[1..13],
        &[1, 65, 129, 256, 2, 3, 4, 5, 251, 252, 253, 254]
    );
}

// From `src/lra.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod lra_units {
    use tabs_experiments::lra::*;

    #[test]
    fn grey_formula_truncates_like_tensorflow() {
        assert_eq!(rgb_to_grey_lra(0, 0, 0), 0);
        assert_eq!(rgb_to_grey_lra(255, 255, 255), 255);
        // 0.2989·255.5 = 76.37, 0.5870·255.5 = 149.98, 0.1140·255.5 = 29.13.
        assert_eq!(rgb_to_grey_lra(255, 0, 0), 76);
        assert_eq!(rgb_to_grey_lra(0, 255, 0), 149);
        assert_eq!(rgb_to_grey_lra(0, 0, 255), 29);
        // (100·0.2989 + 150·0.587 + 200·0.114)/255 · 255.5 = 141.02.
        assert_eq!(rgb_to_grey_lra(100, 150, 200), 141);
    }

    #[test]
    fn byte_ids_shift_by_one() {
        assert_eq!(byte_ids("Ab", 10), vec![66, 99]);
        assert_eq!(byte_ids("é", 10), vec![0xC3 + 1, 0xA9 + 1]);
        assert_eq!(byte_ids("abc", 2).len(), 2);
    }

    #[test]
    fn split_sizes_and_cover() {
        let (a, b, c) = split_80_10_10(101, 3);
        assert_eq!((a.len(), b.len(), c.len()), (81, 10, 10));
        let mut all: Vec<usize> = a.into_iter().chain(b).chain(c).collect();
        all.sort_unstable();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
    }
}
