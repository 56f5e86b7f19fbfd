//! DeBERTa-v3 tokenizer, equal to HuggingFace transformers' fast `DebertaV2Tokenizer`.
//!
//! # Pipeline
//!
//! The tokenizer is a [`tokenizers::Tokenizer`] holding exactly the pipeline that transformers'
//! `DebertaV2Converter` (in `convert_slow_tokenizer.py`) builds from a SentencePiece model, i.e. what the
//! `tokenizer.json` shipped with DeBERTa-v3 checkpoints contains:
//!
//! 1. **Added tokens** are split out of the raw text first: `[PAD]`=0, `[CLS]`=1, `[SEP]`=2 (the SentencePiece
//!    CONTROL pieces) and `[MASK]` (not in the SentencePiece vocabulary, so it gets the next id, 128000) match
//!    the raw text; `[UNK]`=3 matches the normalised text (`normalized: true`, as in the shipped file).
//! 2. **Normaliser**: `Strip` (both sides), `Precompiled` (the SentencePiece `nmt_nfkc` character map stored in
//!    the model: NFKC plus whitespace and control-character clean-up), `Replace(/ {2,}/, " ")`.
//! 3. **Pre-tokeniser**: `Metaspace('▁', prepend_scheme = always, split = true)`: spaces become `▁`, a `▁` is
//!    prepended, and the text is split before each `▁`.
//! 4. **Model**: `Unigram` over the SentencePiece pieces and scores, `unk_id` from the trainer spec (3), without
//!    byte fallback (the fast tokenizer emits `[UNK]` where SentencePiece would emit byte pieces).
//! 5. **Post-processor**: `[CLS] $A [SEP]`, pairs `[CLS] $A [SEP] $B:1 [SEP]:1` (token type 1 for the second
//!    text and its closing `[SEP]`).
//! 6. **Decoder**: `Metaspace` (turns `▁` back into spaces and drops the leading one).
//!
//! [`DebertaTokenizer::from_spm_model`] builds that pipeline directly from `spm.model` (a SentencePiece
//! `ModelProto`, read by the small protobuf reader in [`spm`]); no Python conversion step is involved.
//! [`DebertaTokenizer::from_tokenizer_json`] loads a HuggingFace `tokenizer.json` and switches off the padding and
//! truncation that such files may carry; both are then chosen per call ([`Truncation`], [`Padding`]).
//!
//! # Equality with transformers
//!
//! `encode` / `encode_batch` give the ids, token type ids and attention masks of
//! `tokenizer(text, text_pair, truncation=..., max_length=..., padding=...)` with the converted (`tokenizer.json`)
//! pipeline, including two call-level details of transformers:
//!
//! * a single call with an **empty second text** (`tokenizer("a", "")`) treats it as no pair (`[CLS] a [SEP]`),
//!   while a batch call (`tokenizer(["a"], [""])`) keeps it (`[CLS] a [SEP] [SEP]`);
//! * [`Truncation::LongestFirst`] counts the special tokens in `max_length`, like `truncation=True`.
//!
//! transformers 5.x's `AutoTokenizer` rebuilds the DeBERTa normaliser in Python without the `Precompiled` map
//! (`Replace(/\s{2,}|[\n\r\t]/)`, `NFC`, right `Strip`), so it differs from this (and from SentencePiece) on text
//! that NFKC changes, e.g. `ﬁ`, `Ａ`, `①`, `…` or a no-break space; on other text the ids are the same.

use std::collections::HashSet;
use std::path::Path;

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{NormalizerWrapper, Precompiled, Replace, Sequence as NormalizerSequence, Strip};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

pub use tabs_hf::text::Tokenize;
use tabs_hf::text::{encode_error, parse_error, pipeline_from_json, read, special_id, Pipeline};
pub use tabs_hf::text::{
    BatchEncoding, Encoding, Padding, TokenizeError, Truncation, CLS_TOKEN, PAD_TOKEN, SEP_TOKEN, UNK_TOKEN,
};

pub use spm::{PieceType, SentencePiece, SentencePieceModel};

/// The mask token of masked language modelling.
pub const MASK_TOKEN: &str = "[MASK]";

/// The word-boundary marker of SentencePiece.
const METASPACE: char = '▁';

/// Ids of DeBERTa's special tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SpecialIds {
    pad: u32,
    cls: u32,
    sep: u32,
    unk: u32,
    mask: u32,
}

/// The DeBERTa-v3 tokenizer (see the [module documentation](self) for the pipeline).
#[derive(Clone, Debug)]
pub struct DebertaTokenizer {
    inner: Pipeline,
    special: SpecialIds,
}

impl DebertaTokenizer {
    /// Builds the tokenizer from a SentencePiece model (`spm.model`), reproducing transformers'
    /// `DebertaV2Converter` (see the [module documentation](self)).
    ///
    /// The normaliser's `Strip` and `Replace(/ {2,}/)` steps stand for SentencePiece's `remove_extra_whitespaces`
    /// and the `Metaspace` prepend scheme for `add_dummy_prefix`; both flags are on in every DeBERTa model, and
    /// where a model switches one off, it is honoured (transformers' converter would ignore it).
    pub fn from_spm_model(path: &Path) -> Result<Self, TokenizeError> {
        let bytes = read(path)?;
        let model = SentencePieceModel::from_bytes(&bytes).map_err(|reason| parse_error(path, reason))?;
        let inner = pipeline_from_spm(&model).map_err(|reason| parse_error(path, reason))?;
        Self::from_inner(inner, path)
    }

    /// Loads a HuggingFace `tokenizer.json`, with its padding and truncation switched off (the DeBERTa-v3 file
    /// ships with both set to 128); [`Truncation`] and [`Padding`] are chosen per call instead.
    pub fn from_tokenizer_json(path: &Path) -> Result<Self, TokenizeError> {
        let bytes = read(path)?;
        // The charsmap is checked before `tokenizers` builds the pipeline: building already normalises the
        // `normalized` added tokens, which would index a damaged charsmap out of bounds.
        charsmap::check_tokenizer_json(&bytes).map_err(|reason| parse_error(path, reason))?;
        let inner = pipeline_from_json(&bytes, path)?;
        Self::from_inner(inner, path)
    }

    /// Loads `spm.model`-style files (extension `.model`) with [`Self::from_spm_model`] and `.json` files with
    /// [`Self::from_tokenizer_json`].
    pub fn from_file(path: &Path) -> Result<Self, TokenizeError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("model") => Self::from_spm_model(path),
            Some("json") => Self::from_tokenizer_json(path),
            _ => Err(TokenizeError::UnsupportedFile {
                path: path.to_path_buf(),
            }),
        }
    }

    /// Loads the tokenizer of a checkpoint directory: `spm.model` if present (what hub checkpoints ship), else
    /// `tokenizer.json`.
    pub fn from_dir(dir: &Path) -> Result<Self, TokenizeError> {
        let spm_path = dir.join("spm.model");
        if spm_path.is_file() {
            return Self::from_spm_model(&spm_path);
        }
        let json_path = dir.join("tokenizer.json");
        if json_path.is_file() {
            return Self::from_tokenizer_json(&json_path);
        }
        Err(TokenizeError::NotFound {
            dir: dir.to_path_buf(),
            expected: "`spm.model` or `tokenizer.json`",
        })
    }

    /// Turns ids back into text, like transformers'
    /// `decode(ids, skip_special_tokens=..., clean_up_tokenization_spaces=False)`.
    ///
    /// Unlike transformers, which drops unknown ids silently, an id outside the vocabulary is an error.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, TokenizeError> {
        let vocab_size = self.vocab_size();
        if let Some(&id) = ids.iter().find(|&&id| self.inner.id_to_token(id).is_none()) {
            return Err(TokenizeError::UnknownId { id, vocab_size });
        }
        self.inner.decode(ids, skip_special_tokens).map_err(encode_error)
    }

    /// Number of pieces of the model itself, without added tokens (128,000; transformers' `tokenizer.vocab_size`).
    pub fn base_vocab_size(&self) -> usize {
        self.inner.get_vocab_size(false)
    }

    /// Id of `[CLS]`.
    pub fn cls_id(&self) -> u32 {
        self.special.cls
    }

    /// Id of `[SEP]`.
    pub fn sep_id(&self) -> u32 {
        self.special.sep
    }

    /// Id of `[UNK]`.
    pub fn unk_id(&self) -> u32 {
        self.special.unk
    }

    /// Id of `[MASK]`.
    pub fn mask_id(&self) -> u32 {
        self.special.mask
    }

    /// Token (piece or added token) of an id, if the id is in the vocabulary.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The pipeline as a HuggingFace `tokenizer.json` (padding and truncation off); e.g. to convert `spm.model`.
    pub fn to_tokenizer_json(&self, pretty: bool) -> Result<String, TokenizeError> {
        self.inner.to_string(pretty).map_err(encode_error)
    }

    fn from_inner(inner: Tokenizer, path: &Path) -> Result<Self, TokenizeError> {
        let id = |token: &'static str| special_id(&inner, path, token);
        let special = SpecialIds {
            pad: id(PAD_TOKEN)?,
            cls: id(CLS_TOKEN)?,
            sep: id(SEP_TOKEN)?,
            unk: id(UNK_TOKEN)?,
            mask: id(MASK_TOKEN)?,
        };
        Ok(Self {
            inner: Pipeline(inner),
            special,
        })
    }
}

impl Tokenize for DebertaTokenizer {
    fn pipeline(&self) -> &Pipeline {
        &self.inner
    }

    fn pad_id(&self) -> u32 {
        self.special.pad
    }
}

/// Builds the `DebertaV2Converter` pipeline (see the module documentation) from a parsed SentencePiece model.
fn pipeline_from_spm(model: &SentencePieceModel) -> Result<Tokenizer, String> {
    if model.model_type != spm::MODEL_TYPE_UNIGRAM {
        return Err(format!(
            "expected a Unigram SentencePiece model (trainer_spec.model_type 1), found model_type {}",
            model.model_type
        ));
    }
    let unk_id = usize::try_from(model.unk_id)
        .ok()
        .filter(|&id| id < model.pieces.len())
        .ok_or_else(|| {
            format!(
                "trainer_spec.unk_id {} is not a piece id (0..{})",
                model.unk_id,
                model.pieces.len()
            )
        })?;
    let vocab = model
        .pieces
        .iter()
        .map(|p| (p.piece.clone(), f64::from(p.score)))
        .collect();
    let unigram = Unigram::from(vocab, Some(unk_id), false).map_err(|e| format!("invalid Unigram vocabulary: {e}"))?;
    let mut tokenizer = Tokenizer::new(unigram);

    let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
    if model.remove_extra_whitespaces {
        normalizers.push(Strip::new(true, true).into());
    }
    if !model.precompiled_charsmap.is_empty() {
        charsmap::check(&model.precompiled_charsmap)?;
        let precompiled = Precompiled::from(&model.precompiled_charsmap)
            .map_err(|e| format!("normalizer_spec.precompiled_charsmap: {e}"))?;
        normalizers.push(precompiled.into());
    }
    if model.remove_extra_whitespaces {
        let replace = Replace::new(ReplacePattern::Regex(" {2,}".to_string()), " ")
            .map_err(|e| format!("cannot build the whitespace normaliser: {e}"))?;
        normalizers.push(replace.into());
    }
    tokenizer.with_normalizer(Some(NormalizerSequence::new(normalizers)));

    let prepend = if model.add_dummy_prefix {
        PrependScheme::Always
    } else {
        PrependScheme::Never
    };
    let metaspace = Metaspace::new(METASPACE, prepend, true);
    tokenizer.with_pre_tokenizer(Some(PreTokenizerSequence::new(vec![PreTokenizerWrapper::Metaspace(
        metaspace.clone(),
    )])));
    tokenizer.with_decoder(Some(DecoderWrapper::Metaspace(metaspace)));

    // Added tokens, in transformers' order: the CONTROL (special) and USER_DEFINED pieces of the model, then the
    // special tokens of the tokenizer class; a token already added is skipped, a token not in the model (`[MASK]`)
    // gets the next id.
    let mut added: Vec<AddedToken> = model
        .pieces
        .iter()
        .filter(|p| matches!(p.kind, PieceType::Control | PieceType::UserDefined))
        .map(|p| AddedToken::from(p.piece.clone(), p.kind == PieceType::Control).normalized(false))
        .collect();
    for token in [PAD_TOKEN, CLS_TOKEN, SEP_TOKEN, UNK_TOKEN, MASK_TOKEN] {
        added.push(AddedToken::from(token, true).normalized(token == UNK_TOKEN));
    }
    tokenizer.add_tokens(&added);

    let id = |token: &str| {
        tokenizer
            .token_to_id(token)
            .ok_or_else(|| format!("expected the piece {token}"))
    };
    let (cls, sep) = (id(CLS_TOKEN)?, id(SEP_TOKEN)?);
    let template = TemplateProcessing::builder()
        .try_single(format!("{CLS_TOKEN}:0 $A:0 {SEP_TOKEN}:0"))
        .and_then(|b| b.try_pair(format!("{CLS_TOKEN}:0 $A:0 {SEP_TOKEN}:0 $B:1 {SEP_TOKEN}:1")))
        .map_err(|e| format!("cannot build the [CLS]/[SEP] template: {e}"))?
        .special_tokens(vec![(CLS_TOKEN, cls), (SEP_TOKEN, sep)])
        .build()
        .map_err(|e| format!("cannot build the [CLS]/[SEP] template: {e}"))?;
    tokenizer.with_post_processor(Some(template));
    Ok(tokenizer)
}

/// A minimal reader of the SentencePiece `ModelProto` (protobuf) of `spm.model`: the pieces, the trainer fields
/// the pipeline needs and the normaliser spec; every other field is skipped.
pub mod spm {
    /// `TrainerSpec.model_type` of a Unigram model.
    pub const MODEL_TYPE_UNIGRAM: i32 = 1;

    /// `SentencePiece.Type` of a piece.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum PieceType {
        /// An ordinary piece (1).
        Normal,
        /// The unknown piece (2).
        Unknown,
        /// A control symbol such as `[CLS]` (3): never produced from text by SentencePiece.
        Control,
        /// A user-defined symbol (4): always one piece.
        UserDefined,
        /// An unused piece (5).
        Unused,
        /// A byte piece `<0xNN>` for byte fallback (6).
        Byte,
    }

    impl PieceType {
        fn from_proto(value: u64) -> Result<Self, String> {
            Ok(match value {
                1 => Self::Normal,
                2 => Self::Unknown,
                3 => Self::Control,
                4 => Self::UserDefined,
                5 => Self::Unused,
                6 => Self::Byte,
                other => return Err(format!("expected a piece type 1..=6, found {other}")),
            })
        }
    }

    /// One piece of the vocabulary; its id is its position.
    #[derive(Debug, Clone, PartialEq)]
    pub struct SentencePiece {
        /// The piece, with `▁` for a space.
        pub piece: String,
        /// Its log probability (Unigram score).
        pub score: f32,
        /// Its type.
        pub kind: PieceType,
    }

    /// The fields of a SentencePiece `ModelProto` that the tokenizer uses.
    #[derive(Debug, Clone, PartialEq)]
    pub struct SentencePieceModel {
        /// The vocabulary, in id order.
        pub pieces: Vec<SentencePiece>,
        /// `trainer_spec.model_type` (1 Unigram, 2 BPE, 3 word, 4 char).
        pub model_type: i32,
        /// `trainer_spec.unk_id`.
        pub unk_id: i32,
        /// `trainer_spec.byte_fallback` (recorded; the fast tokenizer does not use it).
        pub byte_fallback: bool,
        /// `normalizer_spec.name`, e.g. `nmt_nfkc`.
        pub normalizer_name: String,
        /// `normalizer_spec.precompiled_charsmap`: the compiled normalisation rules.
        pub precompiled_charsmap: Vec<u8>,
        /// `normalizer_spec.add_dummy_prefix`: prepend a space (`▁`) to the text.
        pub add_dummy_prefix: bool,
        /// `normalizer_spec.remove_extra_whitespaces`: strip the text and collapse runs of spaces.
        pub remove_extra_whitespaces: bool,
    }

    impl SentencePieceModel {
        /// Parses a serialized `ModelProto`, checking each field against the wire type and range it must have.
        pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
            let mut model = Self {
                pieces: Vec::new(),
                model_type: MODEL_TYPE_UNIGRAM,
                unk_id: 0,
                byte_fallback: false,
                normalizer_name: String::new(),
                precompiled_charsmap: Vec::new(),
                add_dummy_prefix: true,
                remove_extra_whitespaces: true,
            };
            let mut has_normalizer_spec = false;
            let mut reader = Reader::new(bytes);
            while let Some((field, wire)) = reader.key()? {
                match field {
                    1 => {
                        let piece = parse_piece(reader.bytes_of(wire, "ModelProto.pieces")?)
                            .map_err(|e| format!("piece {}: {e}", model.pieces.len()))?;
                        model.pieces.push(piece);
                    }
                    2 => parse_trainer_spec(reader.bytes_of(wire, "ModelProto.trainer_spec")?, &mut model)?,
                    3 => {
                        has_normalizer_spec = true;
                        parse_normalizer_spec(reader.bytes_of(wire, "ModelProto.normalizer_spec")?, &mut model)?;
                    }
                    _ => reader.skip(wire)?,
                }
            }
            if model.pieces.is_empty() {
                return Err("expected a SentencePiece ModelProto with pieces, found no pieces".to_string());
            }
            if !has_normalizer_spec {
                return Err("expected a SentencePiece ModelProto with a normalizer_spec, found none".to_string());
            }
            let mut seen = std::collections::HashSet::with_capacity(model.pieces.len());
            for (id, piece) in model.pieces.iter().enumerate() {
                if piece.piece.is_empty() {
                    return Err(format!("piece {id} is empty"));
                }
                if !piece.score.is_finite() {
                    return Err(format!("piece {id} ({}) has a score that is not finite", piece.piece));
                }
                if !seen.insert(piece.piece.as_str()) {
                    return Err(format!("piece {id} ({}) appears twice", piece.piece));
                }
            }
            Ok(model)
        }
    }

    fn parse_piece(bytes: &[u8]) -> Result<SentencePiece, String> {
        let mut piece = SentencePiece {
            piece: String::new(),
            score: 0.0,
            kind: PieceType::Normal,
        };
        let mut reader = Reader::new(bytes);
        while let Some((field, wire)) = reader.key()? {
            match field {
                1 => piece.piece = reader.string_of(wire, "SentencePiece.piece")?,
                2 => piece.score = f32::from_bits(reader.fixed32_of(wire, "SentencePiece.score")?),
                3 => piece.kind = PieceType::from_proto(reader.varint_of(wire, "SentencePiece.type")?)?,
                _ => reader.skip(wire)?,
            }
        }
        Ok(piece)
    }

    fn parse_trainer_spec(bytes: &[u8], model: &mut SentencePieceModel) -> Result<(), String> {
        let mut reader = Reader::new(bytes);
        while let Some((field, wire)) = reader.key()? {
            match field {
                3 => model.model_type = int32(reader.varint_of(wire, "TrainerSpec.model_type")?),
                35 => model.byte_fallback = reader.varint_of(wire, "TrainerSpec.byte_fallback")? != 0,
                40 => model.unk_id = int32(reader.varint_of(wire, "TrainerSpec.unk_id")?),
                _ => reader.skip(wire)?,
            }
        }
        Ok(())
    }

    fn parse_normalizer_spec(bytes: &[u8], model: &mut SentencePieceModel) -> Result<(), String> {
        let mut reader = Reader::new(bytes);
        while let Some((field, wire)) = reader.key()? {
            match field {
                1 => model.normalizer_name = reader.string_of(wire, "NormalizerSpec.name")?,
                2 => {
                    let charsmap = reader.bytes_of(wire, "NormalizerSpec.precompiled_charsmap")?;
                    model.precompiled_charsmap = charsmap.to_vec();
                }
                3 => model.add_dummy_prefix = reader.varint_of(wire, "NormalizerSpec.add_dummy_prefix")? != 0,
                4 => {
                    let value = reader.varint_of(wire, "NormalizerSpec.remove_extra_whitespaces")?;
                    model.remove_extra_whitespaces = value != 0;
                }
                _ => reader.skip(wire)?,
            }
        }
        Ok(())
    }

    /// An `int32` field: protobuf sends negative values as 10-byte varints; keep the low 32 bits.
    fn int32(value: u64) -> i32 {
        value as u32 as i32
    }

    /// Protobuf wire types.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Wire {
        Varint,
        Fixed64,
        Bytes,
        Fixed32,
    }

    /// A cursor over one protobuf message.
    struct Reader<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl<'a> Reader<'a> {
        fn new(bytes: &'a [u8]) -> Self {
            Self { bytes, pos: 0 }
        }

        /// The next field number and wire type, or `None` at the end of the message.
        fn key(&mut self) -> Result<Option<(u64, Wire)>, String> {
            if self.pos == self.bytes.len() {
                return Ok(None);
            }
            let at = self.pos;
            let key = self.varint()?;
            let field = key >> 3;
            if field == 0 {
                return Err(format!(
                    "byte {at}: expected a protobuf field key, found field number 0"
                ));
            }
            let wire = match key & 7 {
                0 => Wire::Varint,
                1 => Wire::Fixed64,
                2 => Wire::Bytes,
                5 => Wire::Fixed32,
                other => {
                    return Err(format!(
                        "byte {at}: expected a protobuf wire type 0, 1, 2 or 5, found {other}"
                    ));
                }
            };
            Ok(Some((field, wire)))
        }

        fn varint(&mut self) -> Result<u64, String> {
            let mut value = 0u64;
            for i in 0..10 {
                let Some(&byte) = self.bytes.get(self.pos) else {
                    return Err(format!(
                        "byte {}: the data ends inside a varint (truncated file?)",
                        self.pos
                    ));
                };
                self.pos += 1;
                value |= u64::from(byte & 0x7f) << (7 * i);
                if byte & 0x80 == 0 {
                    return Ok(value);
                }
            }
            Err(format!("byte {}: varint longer than 10 bytes", self.pos))
        }

        fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
            let end = self
                .pos
                .checked_add(len)
                .filter(|&end| end <= self.bytes.len())
                .ok_or_else(|| {
                    format!(
                    "byte {}: a field of {len} bytes runs past the end of its message ({} bytes left; truncated file?)",
                    self.pos,
                    self.bytes.len() - self.pos
                )
                })?;
            let slice = &self.bytes[self.pos..end];
            self.pos = end;
            Ok(slice)
        }

        fn expect(&self, wire: Wire, expected: Wire, name: &str) -> Result<(), String> {
            if wire == expected {
                Ok(())
            } else {
                Err(format!(
                    "byte {}: expected {name} as {expected:?}, found wire type {wire:?}",
                    self.pos
                ))
            }
        }

        fn varint_of(&mut self, wire: Wire, name: &str) -> Result<u64, String> {
            self.expect(wire, Wire::Varint, name)?;
            self.varint()
        }

        fn fixed32_of(&mut self, wire: Wire, name: &str) -> Result<u32, String> {
            self.expect(wire, Wire::Fixed32, name)?;
            let bytes = self.take(4)?;
            Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        }

        fn bytes_of(&mut self, wire: Wire, name: &str) -> Result<&'a [u8], String> {
            self.expect(wire, Wire::Bytes, name)?;
            let len = usize::try_from(self.varint()?).map_err(|_| format!("{name}: length does not fit in memory"))?;
            self.take(len)
        }

        fn string_of(&mut self, wire: Wire, name: &str) -> Result<String, String> {
            let bytes = self.bytes_of(wire, name)?;
            String::from_utf8(bytes.to_vec()).map_err(|_| format!("{name}: expected UTF-8 text"))
        }

        fn skip(&mut self, wire: Wire) -> Result<(), String> {
            match wire {
                Wire::Varint => self.varint().map(|_| ()),
                Wire::Fixed64 => self.take(8).map(|_| ()),
                Wire::Fixed32 => self.take(4).map(|_| ()),
                Wire::Bytes => {
                    let len =
                        usize::try_from(self.varint()?).map_err(|_| "length does not fit in memory".to_string())?;
                    self.take(len).map(|_| ())
                }
            }
        }
    }
}

/// Checks of a SentencePiece `precompiled_charsmap` before `tokenizers` uses it: its normaliser indexes the
/// double-array trie and the normalised-text blob without bounds checks, so a damaged map would panic while
/// encoding instead of failing to load.
mod charsmap {
    use super::HashSet;

    /// Walks every trie node reachable by some UTF-8 byte, as `Precompiled::transform` does, and checks that each
    /// array index and each normalised-text offset is in bounds.
    pub(super) fn check(charsmap: &[u8]) -> Result<(), String> {
        let fail = |what: &str| format!("normalizer_spec.precompiled_charsmap: {what}");
        let header: [u8; 4] = charsmap
            .get(..4)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| fail("shorter than 4 bytes"))?;
        let units = (u32::from_le_bytes(header) / 4) as usize;
        let trie_end = units
            .checked_mul(4)
            .and_then(|n| n.checked_add(4))
            .filter(|&end| end <= charsmap.len());
        let trie_end = trie_end.ok_or_else(|| fail("the trie runs past the end of the map"))?;
        let array: Vec<usize> = charsmap[4..trie_end]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
            .collect();
        let normalized =
            std::str::from_utf8(&charsmap[trie_end..]).map_err(|_| fail("the normalised text is not UTF-8"))?;
        let Some(&root) = array.first() else {
            return Err(fail("the trie is empty"));
        };
        let offset = |unit: usize| (unit >> 10) << ((unit & (1 << 9)) >> 6);
        let label = |unit: usize| unit & ((1 << 31) | 0xff);
        let has_leaf = |unit: usize| (unit >> 8) & 1 == 1;
        let value = |unit: usize| unit & ((1 << 31) - 1);

        let mut seen = HashSet::new();
        let mut stack = vec![offset(root)];
        while let Some(node) = stack.pop() {
            if !seen.insert(node) {
                continue;
            }
            // Bytes 0x01..=0xF4 can occur in UTF-8 text (0x00 ends the search).
            for byte in 1..=0xf4usize {
                let child = node ^ byte;
                let unit = *array.get(child).ok_or_else(|| fail("a trie index is out of bounds"))?;
                if label(unit) != byte {
                    continue;
                }
                let next = child ^ offset(unit);
                if has_leaf(unit) {
                    let leaf = *array.get(next).ok_or_else(|| fail("a trie leaf is out of bounds"))?;
                    let start = value(leaf);
                    if start > normalized.len() || !normalized.is_char_boundary(start) {
                        return Err(fail("a normalised-text offset is out of bounds"));
                    }
                }
                stack.push(next);
            }
        }
        Ok(())
    }

    /// Checks every `Precompiled` step of the normaliser of a `tokenizer.json` (the rest of the file is skipped).
    pub(super) fn check_tokenizer_json(json: &[u8]) -> Result<(), String> {
        #[derive(serde::Deserialize)]
        struct NormalizerOnly {
            #[serde(default)]
            normalizer: Option<serde_json::Value>,
        }
        let file: NormalizerOnly =
            serde_json::from_slice(json).map_err(|e| format!("expected a tokenizer.json object: {e}"))?;
        let Some(normalizer) = file.normalizer else {
            return Ok(());
        };
        let mut pending = vec![&normalizer];
        while let Some(node) = pending.pop() {
            match node {
                serde_json::Value::Object(map) => {
                    if map.get("type").and_then(|t| t.as_str()) == Some("Precompiled") {
                        if let Some(encoded) = map.get("precompiled_charsmap").and_then(|c| c.as_str()) {
                            check(&base64_decode(encoded)?)?;
                        }
                    }
                    pending.extend(map.values());
                }
                serde_json::Value::Array(items) => pending.extend(items),
                _ => {}
            }
        }
        Ok(())
    }

    /// Decodes standard base64 (with or without `=` padding).
    fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
        let sextet = |c: u8| match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        };
        let trimmed = text.trim_end_matches('=').as_bytes();
        let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &c in trimmed {
            let v = sextet(c).ok_or("precompiled_charsmap: expected base64 text")?;
            buffer = (buffer << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        Ok(out)
    }
}
