//! The BERT WordPiece tokenizer from a HuggingFace `tokenizer.json`, equal to transformers' `BertTokenizer`
//! (fast) on the same file.
//!
//! The file holds the whole pipeline (BERT normaliser: clean-up, CJK spacing, lower-casing and accent stripping
//! for uncased models; `BertPreTokenizer`: whitespace and punctuation splits; `WordPiece` with `##` continuation
//! pieces and `[UNK]`; post-processor `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B:1 [SEP]:1`). Loading switches off the
//! padding and truncation such files may carry (sentence-transformers' all-MiniLM-L6-v2 ships `max_length` 128);
//! both are chosen per call instead ([`Truncation`], [`Padding`]), with transformers' semantics:
//!
//! * [`Truncation::LongestFirst`] counts the special tokens in `max_length` (`truncation=True, max_length=N`)
//!   and removes tokens from the end of the longer text, one at a time;
//! * a single call with an empty second text (`tokenizer("a", "")`) treats it as no pair.

use std::path::Path;

pub use tabs_hf::text::Tokenize;
use tabs_hf::text::{self, pipeline_from_json, special_id, Pipeline};
pub use tabs_hf::text::{
    BatchEncoding, Encoding, Padding, TokenizeError, Truncation, CLS_TOKEN, PAD_TOKEN, SEP_TOKEN, UNK_TOKEN,
};

/// The BERT tokenizer (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct BertTokenizer {
    inner: Pipeline,
    pad: u32,
}

impl BertTokenizer {
    /// Loads a HuggingFace `tokenizer.json`, with its padding and truncation switched off; requires `[PAD]`,
    /// `[CLS]`, `[SEP]`, `[UNK]` and a post-processor (the `[CLS]`/`[SEP]` template).
    pub fn from_tokenizer_json(path: &Path) -> Result<Self, TokenizeError> {
        let inner = pipeline_from_json(&text::read(path)?, path)?;
        for token in [CLS_TOKEN, SEP_TOKEN, UNK_TOKEN] {
            special_id(&inner, path, token)?;
        }
        let pad = special_id(&inner, path, PAD_TOKEN)?;
        Ok(Self {
            inner: Pipeline(inner),
            pad,
        })
    }

    /// Loads `dir/tokenizer.json`.
    pub fn from_dir(dir: &Path) -> Result<Self, TokenizeError> {
        Self::from_tokenizer_json(&dir.join("tokenizer.json"))
    }
}

impl Tokenize for BertTokenizer {
    fn pipeline(&self) -> &Pipeline {
        &self.inner
    }

    fn pad_id(&self) -> u32 {
        self.pad
    }
}
