//! Unit tests of `src/data_error.rs`.

// From `src/data_error.rs` (unit tests live here so that `cargo test` does not compile the library twice).
mod data_error_units {
    use std::path::Path;
    use tabs_experiments::data_error::*;

    fn lines(bytes: &[u8]) -> Result<Vec<(usize, String)>, DataError> {
        Lines::new(Path::new("x.tsv"), bytes).collect()
    }

    #[test]
    fn crlf_bom_and_final_newline() {
        assert_eq!(
            lines(b"\xEF\xBB\xBFa\tb\r\nc\td\r\n").unwrap(),
            vec![(1, "a\tb".to_owned()), (2, "c\td".to_owned())]
        );
        assert_eq!(
            lines(b"a\n\nb").unwrap(),
            vec![(1, "a".to_owned()), (2, String::new()), (3, "b".to_owned())]
        );
        assert!(lines(b"").unwrap().is_empty());
    }

    #[test]
    fn bad_utf8_names_the_line() {
        let err = lines(b"ok\n\xFF\n").unwrap_err();
        assert_eq!(err.to_string(), "x.tsv:2: not valid UTF-8");
    }

    #[test]
    fn messages_name_file_line_and_column() {
        let e = DataError::malformed(Path::new("d/f.tsv"), 7, Some("label"), "bad");
        assert_eq!(e.to_string(), "d/f.tsv:7: column \"label\": bad");
        let e = DataError::FieldCount {
            path: "f.tsv".into(),
            line: 3,
            expected: 2,
            found: 1,
            header: vec!["sentence".into(), "label".into()],
        };
        assert_eq!(
            e.to_string(),
            "f.tsv:3: expected 2 tab-separated fields, found 1 (columns [\"sentence\", \"label\"])"
        );
    }
}
