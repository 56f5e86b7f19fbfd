//! HuggingFace `tokenizer.json` pipelines called with transformers' semantics, for every encoder crate's
//! tokenizer (`tabs-deberta`'s SentencePiece / `tokenizer.json`, `tabs-bert`'s WordPiece).
//!
//! A pipeline is loaded with its stored padding and truncation switched off ([`pipeline_from_json`]); both are
//! chosen per call instead, as transformers' `tokenizer(text, pair, truncation=..., max_length=..., padding=...)`:
//!
//! * [`Truncation::LongestFirst`] counts the special tokens in `max_length` (`truncation=True, max_length=N`)
//!   and removes tokens from the end of the longer text, one at a time;
//! * [`Padding`] pads on the right with the pad id, token type 0 and attention 0;
//! * a single call with an empty second text (`tokenizer("a", "")`) treats it as no pair ([`encode`]), while a
//!   batch call keeps it ([`encode_batch`]).

use std::path::{Path, PathBuf};

use tokenizers::utils::padding::{pad_encodings, PaddingDirection, PaddingParams, PaddingStrategy};
use tokenizers::utils::truncation::{truncate_encodings, TruncationDirection, TruncationParams, TruncationStrategy};
use tokenizers::{PostProcessor, Tokenizer};

/// The padding token.
pub const PAD_TOKEN: &str = "[PAD]";
/// The classification token that starts every sequence.
pub const CLS_TOKEN: &str = "[CLS]";
/// The separator token that ends each text.
pub const SEP_TOKEN: &str = "[SEP]";
/// The unknown token.
pub const UNK_TOKEN: &str = "[UNK]";

/// Everything that can go wrong when loading a tokenizer or encoding text.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file was read but is not what was expected.
    #[error("cannot parse {path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was expected and what was found.
        reason: String,
    },
    /// A tokenizer file's extension is not one the tokenizer reads.
    #[error("{path}: expected a SentencePiece `.model` or a HuggingFace `tokenizer.json` (`.json`) file")]
    UnsupportedFile {
        /// The file.
        path: PathBuf,
    },
    /// A directory holds no tokenizer file.
    #[error("{dir}: expected {expected} in this directory, found none")]
    NotFound {
        /// The directory.
        dir: PathBuf,
        /// The file names looked for.
        expected: &'static str,
    },
    /// A special token the model needs is missing from the vocabulary.
    #[error("{path}: expected the special token {token} in the vocabulary")]
    MissingSpecialToken {
        /// The file.
        path: PathBuf,
        /// The missing token.
        token: &'static str,
    },
    /// `encode_batch` got a different number of second texts than texts.
    #[error("expected one second text per text: {texts} texts but {pairs} second texts")]
    PairCountMismatch {
        /// Number of texts.
        texts: usize,
        /// Number of second texts.
        pairs: usize,
    },
    /// `max_length` cannot even hold the special tokens.
    #[error("max_length {max_length} is too small: the special tokens alone take {special_tokens}")]
    MaxLengthTooSmall {
        /// The requested maximum length.
        max_length: usize,
        /// Number of special tokens the template adds.
        special_tokens: usize,
    },
    /// `decode` got an id outside the vocabulary.
    #[error("token id {id} is outside the vocabulary (expected an id below {vocab_size})")]
    UnknownId {
        /// The id.
        id: u32,
        /// Number of ids in the vocabulary, added tokens included.
        vocab_size: usize,
    },
    /// The `tokenizers` pipeline reported an error while encoding or decoding.
    #[error("tokenization failed: {reason}")]
    Encode {
        /// The error of the pipeline.
        reason: String,
    },
}

/// How to shorten encodings that are too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Truncation {
    /// Keep everything (transformers' `truncation=False`).
    #[default]
    None,
    /// Remove tokens from the end of the longer text, one at a time, until the encoding, special tokens
    /// included, has at most `max_length` tokens (transformers' `truncation=True, max_length=N`).
    LongestFirst {
        /// Maximum number of tokens, special tokens included.
        max_length: usize,
    },
}

/// How to pad the encodings of a batch (always on the right, with `[PAD]`, token type 0, attention 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// No padding (transformers' `padding=False`).
    #[default]
    None,
    /// Pad to the longest encoding of the batch (`padding="longest"`).
    Longest,
    /// Pad to this length (`padding="max_length", max_length=N`); longer encodings are left as they are.
    MaxLength(usize),
}

/// What every tokenizer of the tabs backbones offers, written once over its [`Pipeline`] and pad id:
/// transformers' `tokenizer(text, pair, truncation=..., padding=...)` semantics ([`encode`], [`encode_batch`]).
pub trait Tokenize {
    /// The `tokenizers` pipeline (padding and truncation off; chosen per call).
    fn pipeline(&self) -> &Pipeline;

    /// The padding id.
    fn pad_id(&self) -> u32;

    /// Encodes one text, or a pair of texts, like transformers' `tokenizer(text, pair, truncation=...)`; an empty
    /// second text (`Some("")`) counts as no second text, as in transformers.
    fn encode(&self, text: &str, pair: Option<&str>, truncation: Truncation) -> Result<Encoding, TokenizeError> {
        encode(self.pipeline(), text, pair, truncation)
    }

    /// Encodes a batch of texts (or of pairs, `pairs[i]` going with `texts[i]`), like transformers'
    /// `tokenizer(texts, pairs, truncation=..., padding=...)`; empty second texts are kept as pairs, as in
    /// transformers' batch call.
    fn encode_batch(
        &self,
        texts: &[&str],
        pairs: Option<&[&str]>,
        truncation: Truncation,
        padding: Padding,
    ) -> Result<BatchEncoding, TokenizeError> {
        encode_batch(self.pipeline(), self.pad_id(), texts, pairs, truncation, padding)
    }

    /// Number of ids, added tokens included (transformers' `len(tokenizer)`).
    fn vocab_size(&self) -> usize {
        self.pipeline().get_vocab_size(true)
    }

    /// The id of a token, if it is in the vocabulary.
    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.pipeline().token_to_id(token)
    }

    /// The underlying `tokenizers` pipeline.
    fn inner(&self) -> &Tokenizer {
        self.pipeline()
    }
}

/// A `tokenizers` pipeline whose `Debug` is a summary (a vocabulary can hold 128,000 entries); derefs to the
/// [`Tokenizer`].
#[derive(Clone)]
pub struct Pipeline(pub Tokenizer);

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("vocab_size", &self.0.get_vocab_size(true))
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for Pipeline {
    type Target = Tokenizer;
    fn deref(&self) -> &Tokenizer {
        &self.0
    }
}

/// The model inputs for one text or one pair of texts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoding {
    /// Token ids, special tokens included.
    pub input_ids: Vec<u32>,
    /// 0 for the first text and its special tokens, 1 for the second text and its closing `[SEP]`.
    pub token_type_ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Vec<u32>,
}

impl Encoding {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }

    fn from_hf(encoding: &tokenizers::Encoding) -> Self {
        Self {
            input_ids: encoding.get_ids().to_vec(),
            token_type_ids: encoding.get_type_ids().to_vec(),
            attention_mask: encoding.get_attention_mask().to_vec(),
        }
    }
}

/// The model inputs for a batch, one row per text (or pair).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchEncoding {
    /// Token ids per row.
    pub input_ids: Vec<Vec<u32>>,
    /// Token type ids per row.
    pub token_type_ids: Vec<Vec<u32>>,
    /// Attention mask per row.
    pub attention_mask: Vec<Vec<u32>>,
}

impl BatchEncoding {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }
}

/// The bytes of a tokenizer file.
pub fn read(path: &Path) -> Result<Vec<u8>, TokenizeError> {
    std::fs::read(path).map_err(|source| TokenizeError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A [`TokenizeError::Parse`] naming `path`.
pub fn parse_error(path: &Path, reason: impl Into<String>) -> TokenizeError {
    TokenizeError::Parse {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A [`TokenizeError::Encode`] from the pipeline's error.
pub fn encode_error(error: impl std::fmt::Display) -> TokenizeError {
    TokenizeError::Encode {
        reason: error.to_string(),
    }
}

/// The pipeline of a `tokenizer.json`'s bytes (`path` names it in errors), with its stored padding and truncation
/// switched off; it must have a post-processor (the `[CLS]`/`[SEP]` template).
pub fn pipeline_from_json(bytes: &[u8], path: &Path) -> Result<Tokenizer, TokenizeError> {
    let mut inner = Tokenizer::from_bytes(bytes).map_err(|e| parse_error(path, e.to_string()))?;
    inner
        .with_truncation(None)
        .map_err(|e| parse_error(path, format!("cannot switch truncation off: {e}")))?;
    inner.with_padding(None);
    if inner.get_post_processor().is_none() {
        return Err(parse_error(
            path,
            "expected a post_processor adding [CLS] and [SEP], found none",
        ));
    }
    Ok(inner)
}

/// The id of a special token the model needs (`path` names the tokenizer file in the error).
pub fn special_id(tokenizer: &Tokenizer, path: &Path, token: &'static str) -> Result<u32, TokenizeError> {
    tokenizer
        .token_to_id(token)
        .ok_or_else(|| TokenizeError::MissingSpecialToken {
            path: path.to_path_buf(),
            token,
        })
}

/// One text, or a pair, like transformers' `tokenizer(text, pair, truncation=...)`: an empty second text counts
/// as no second text.
pub fn encode(
    tokenizer: &Tokenizer,
    text: &str,
    pair: Option<&str>,
    truncation: Truncation,
) -> Result<Encoding, TokenizeError> {
    let pair = pair.filter(|p| !p.is_empty());
    Ok(Encoding::from_hf(&encode_one(tokenizer, text, pair, truncation)?))
}

/// A batch of texts (or of pairs, `pairs[i]` going with `texts[i]`), like transformers'
/// `tokenizer(texts, pairs, truncation=..., padding=...)`; empty second texts are kept as pairs, as in
/// transformers' batch call. Padding uses `pad_id`.
pub fn encode_batch(
    tokenizer: &Tokenizer,
    pad_id: u32,
    texts: &[&str],
    pairs: Option<&[&str]>,
    truncation: Truncation,
    padding: Padding,
) -> Result<BatchEncoding, TokenizeError> {
    if let Some(pairs) = pairs {
        if pairs.len() != texts.len() {
            return Err(TokenizeError::PairCountMismatch {
                texts: texts.len(),
                pairs: pairs.len(),
            });
        }
    }
    let mut encodings = texts
        .iter()
        .enumerate()
        .map(|(i, text)| encode_one(tokenizer, text, pairs.map(|p| p[i]), truncation))
        .collect::<Result<Vec<_>, _>>()?;
    let strategy = match padding {
        Padding::None => None,
        Padding::Longest => Some(PaddingStrategy::BatchLongest),
        Padding::MaxLength(length) => Some(PaddingStrategy::Fixed(length)),
    };
    if let Some(strategy) = strategy {
        let params = PaddingParams {
            strategy,
            direction: PaddingDirection::Right,
            pad_to_multiple_of: None,
            pad_id,
            pad_type_id: 0,
            pad_token: PAD_TOKEN.to_string(),
        };
        pad_encodings(&mut encodings, &params).map_err(encode_error)?;
    }
    let mut batch = BatchEncoding::default();
    for encoding in &encodings {
        let row = Encoding::from_hf(encoding);
        batch.input_ids.push(row.input_ids);
        batch.token_type_ids.push(row.token_type_ids);
        batch.attention_mask.push(row.attention_mask);
    }
    Ok(batch)
}

/// Without the empty-pair rule of single calls: the texts without special tokens, then the truncation of
/// `TokenizerImpl::post_process` (longest first, `max_length` minus the template's special tokens), then the
/// post-processor's template.
fn encode_one(
    tokenizer: &Tokenizer,
    text: &str,
    pair: Option<&str>,
    truncation: Truncation,
) -> Result<tokenizers::Encoding, TokenizeError> {
    let first = tokenizer.encode_fast(text, false).map_err(encode_error)?;
    let second = pair
        .map(|p| tokenizer.encode_fast(p, false))
        .transpose()
        .map_err(encode_error)?;
    let processor = tokenizer.get_post_processor();
    let (first, second) = match truncation {
        Truncation::None => (first, second),
        Truncation::LongestFirst { max_length } => {
            let special_tokens = processor.map_or(0, |p| p.added_tokens(second.is_some()));
            let Some(budget) = max_length.checked_sub(special_tokens) else {
                return Err(TokenizeError::MaxLengthTooSmall {
                    max_length,
                    special_tokens,
                });
            };
            let params = TruncationParams {
                direction: TruncationDirection::Right,
                max_length: budget,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            };
            truncate_encodings(first, second, &params).map_err(encode_error)?
        }
    };
    match processor {
        Some(processor) => processor.process(first, second, true).map_err(encode_error),
        None => Ok(tokenizers::Encoding::merge(std::iter::once(first).chain(second), false)),
    }
}
