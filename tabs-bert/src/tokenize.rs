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

use tabs_hf::text::{self, pipeline_from_json, special_id};
pub use tabs_hf::text::{
    BatchEncoding, Encoding, Padding, TokenizeError, Truncation, CLS_TOKEN, PAD_TOKEN, SEP_TOKEN, UNK_TOKEN,
};
use tokenizers::Tokenizer;

/// The BERT tokenizer (see the [module documentation](self)).
#[derive(Clone)]
pub struct BertTokenizer {
    inner: Tokenizer,
    pad: u32,
}

impl std::fmt::Debug for BertTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertTokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("pad", &self.pad)
            .finish_non_exhaustive()
    }
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
        Ok(Self { inner, pad })
    }

    /// Loads `dir/tokenizer.json`.
    pub fn from_dir(dir: &Path) -> Result<Self, TokenizeError> {
        Self::from_tokenizer_json(&dir.join("tokenizer.json"))
    }

    /// Encodes one text, or a pair of texts, like transformers' `tokenizer(text, pair, truncation=...)`; an empty
    /// second text counts as no second text.
    pub fn encode(&self, text: &str, pair: Option<&str>, truncation: Truncation) -> Result<Encoding, TokenizeError> {
        text::encode(&self.inner, text, pair, truncation)
    }

    /// Encodes a batch of texts (or of pairs, `pairs[i]` going with `texts[i]`), like transformers'
    /// `tokenizer(texts, pairs, truncation=..., padding=...)`.
    pub fn encode_batch(
        &self,
        texts: &[&str],
        pairs: Option<&[&str]>,
        truncation: Truncation,
        padding: Padding,
    ) -> Result<BatchEncoding, TokenizeError> {
        text::encode_batch(&self.inner, self.pad, texts, pairs, truncation, padding)
    }

    /// Number of ids, added tokens included (transformers' `len(tokenizer)`).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Id of `[PAD]`.
    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// Id of a token, if it is in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The underlying `tokenizers` pipeline.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}
