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
    /// A special token of BERT is missing from the vocabulary.
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
    /// The `tokenizers` pipeline reported an error while encoding.
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

fn parse_error(path: &Path, reason: impl Into<String>) -> TokenizeError {
    TokenizeError::Parse {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn encode_error(error: impl std::fmt::Display) -> TokenizeError {
    TokenizeError::Encode {
        reason: error.to_string(),
    }
}

impl BertTokenizer {
    /// Loads a HuggingFace `tokenizer.json`, with its padding and truncation switched off; requires `[PAD]`,
    /// `[CLS]`, `[SEP]`, `[UNK]` and a post-processor (the `[CLS]`/`[SEP]` template).
    pub fn from_tokenizer_json(path: &Path) -> Result<Self, TokenizeError> {
        let bytes = std::fs::read(path).map_err(|source| TokenizeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut inner = Tokenizer::from_bytes(&bytes).map_err(|e| parse_error(path, e.to_string()))?;
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
        let mut pad = 0;
        for token in [PAD_TOKEN, CLS_TOKEN, SEP_TOKEN, UNK_TOKEN] {
            let id = inner
                .token_to_id(token)
                .ok_or_else(|| TokenizeError::MissingSpecialToken {
                    path: path.to_path_buf(),
                    token,
                })?;
            if token == PAD_TOKEN {
                pad = id;
            }
        }
        Ok(Self { inner, pad })
    }

    /// Loads `dir/tokenizer.json`.
    pub fn from_dir(dir: &Path) -> Result<Self, TokenizeError> {
        Self::from_tokenizer_json(&dir.join("tokenizer.json"))
    }

    /// Encodes one text, or a pair of texts, like transformers' `tokenizer(text, pair, truncation=...)`; an empty
    /// second text counts as no second text.
    pub fn encode(&self, text: &str, pair: Option<&str>, truncation: Truncation) -> Result<Encoding, TokenizeError> {
        let pair = pair.filter(|p| !p.is_empty());
        Ok(Encoding::from_hf(&self.encode_one(text, pair, truncation)?))
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
            .map(|(i, text)| self.encode_one(text, pairs.map(|p| p[i]), truncation))
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
                pad_id: self.pad,
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

    /// The texts without special tokens, then `TokenizerImpl::post_process`'s truncation (longest first,
    /// `max_length` minus the template's special tokens), then the `[CLS]`/`[SEP]` template.
    fn encode_one(
        &self,
        text: &str,
        pair: Option<&str>,
        truncation: Truncation,
    ) -> Result<tokenizers::Encoding, TokenizeError> {
        let first = self.inner.encode_fast(text, false).map_err(encode_error)?;
        let second = pair
            .map(|p| self.inner.encode_fast(p, false))
            .transpose()
            .map_err(encode_error)?;
        let processor = self.inner.get_post_processor();
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
}
