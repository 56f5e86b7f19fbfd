//! The five LRA tasks as token sequences for one encoder: which files are read, how each example becomes ids,
//! how many classes.
//!
//! Ids of every task: 0 = padding, `1..=V` the task's tokens, then `[CLS]` = V + 1 and `[SEP]` = V + 2, so the
//! encoder's vocabulary is V + 3 ([`LraData::vocab_size`]).
//!
//! | task | tokens (V) | sequence | classes |
//! |---|---|---|---|
//! | `listops` | the 15 ListOps tokens ([`LISTOPS_VOCAB`] without padding) | `[CLS] x [SEP]` | 10 |
//! | `text` | bytes + 1 ([`byte_ids`], 256) | `[CLS] x [SEP]` | 2 |
//! | `retrieval` | bytes + 1 (256) | `[CLS] x₁ [SEP] x₂ [SEP]`, token types 0 / 1, each text cut to half the room | 2 |
//! | `image` | grey pixel + 1 (256), row-major 32 × 32 | `[CLS] x [SEP]` | 10 |
//! | `pathfinder` | grey pixel + 1 (256), row-major | `[CLS] x [SEP]` | 2 |
//!
//! Sequences longer than `max_length` are truncated (special tokens included). Differences from LRA, stated:
//! LRA's Retrieval is a two-tower model (each document encoded alone, then [u, v, u·v, u − v] fed to an MLP);
//! here both documents go through one encoder as a pair, which lets tokens of one document attend to the other.

use std::path::Path;

use crate::batch::{Encoded, Target};
use crate::data_error::DataError;
use crate::listops::{tokenize_listops, LISTOPS_VOCAB};
use crate::lra::{
    byte_ids, load_aan_dir, load_cifar10_dir, load_imdb_dir, load_listops_dir, load_pathfinder, load_text_csv,
    split_80_10_10, GreyImage, LraSplit, PathfinderDifficulty,
};

/// An LRA task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LraTask {
    /// ListOps: `basic_{train,val,test}.tsv`.
    ListOps,
    /// Byte-level IMDB: the `aclImdb` folder, or `{train,test}.csv` (`text,label` or `Source,Target`).
    Text,
    /// AAN pairs: `new_aan_pairs.{train,eval,test}.tsv`.
    Retrieval,
    /// Grey CIFAR-10: the binary batches `data_batch_{1..5}.bin`, `test_batch.bin`.
    Image,
    /// Pathfinder of one difficulty: `<difficulty>/metadata/*.npy` + PNGs, split 80 / 10 / 10.
    Pathfinder(PathfinderDifficulty),
}

impl LraTask {
    /// Parses `listops`, `text`, `retrieval`, `image`, `pathfinder` (= easy), `pathfinder-easy`,
    /// `pathfinder-intermediate`, `pathfinder-hard`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "listops" => LraTask::ListOps,
            "text" => LraTask::Text,
            "retrieval" => LraTask::Retrieval,
            "image" => LraTask::Image,
            "pathfinder" | "pathfinder-easy" => LraTask::Pathfinder(PathfinderDifficulty::Easy),
            "pathfinder-intermediate" => LraTask::Pathfinder(PathfinderDifficulty::Intermediate),
            "pathfinder-hard" => LraTask::Pathfinder(PathfinderDifficulty::Hard),
            _ => return None,
        })
    }

    /// The task's name in results (`listops`, …, `pathfinder-hard`).
    pub fn name(self) -> &'static str {
        match self {
            LraTask::ListOps => "listops",
            LraTask::Text => "text",
            LraTask::Retrieval => "retrieval",
            LraTask::Image => "image",
            LraTask::Pathfinder(PathfinderDifficulty::Easy) => "pathfinder-easy",
            LraTask::Pathfinder(PathfinderDifficulty::Intermediate) => "pathfinder-intermediate",
            LraTask::Pathfinder(PathfinderDifficulty::Hard) => "pathfinder-hard",
        }
    }

    /// Number of classes.
    pub fn num_labels(self) -> usize {
        match self {
            LraTask::ListOps | LraTask::Image => 10,
            LraTask::Text | LraTask::Retrieval | LraTask::Pathfinder(_) => 2,
        }
    }

    /// V, the number of task tokens (ids `1..=V`).
    pub fn task_tokens(self) -> usize {
        match self {
            LraTask::ListOps => LISTOPS_VOCAB.len() - 1,
            _ => 256,
        }
    }
}

/// A task's encoded splits.
#[derive(Debug, Clone)]
pub struct LraData {
    /// The task.
    pub task: LraTask,
    /// Training examples.
    pub train: Vec<Encoded>,
    /// Validation examples.
    pub val: Vec<Encoded>,
    /// Test examples.
    pub test: Vec<Encoded>,
}

impl LraData {
    /// The encoder's vocabulary: padding + V task tokens + `[CLS]` + `[SEP]`.
    pub fn vocab_size(&self) -> usize {
        self.task.task_tokens() + 3
    }

    /// `[CLS]` id (V + 1).
    pub fn cls(&self) -> u32 {
        (self.task.task_tokens() + 1) as u32
    }
}

/// `[CLS] ids [SEP]`, cut to `max_length` (≥ 2).
fn single(task: LraTask, ids: impl Iterator<Item = u32>, max_length: usize, label: usize) -> Encoded {
    let v = task.task_tokens() as u32;
    let mut out = vec![v + 1];
    out.extend(ids.take(max_length.max(2) - 2));
    out.push(v + 2);
    let n = out.len();
    Encoded {
        input_ids: out,
        token_type_ids: vec![0; n],
        target: Target::Class(label),
    }
}

/// `[CLS] a [SEP] b [SEP]` with token types 0 / 1; each side gets at most half of `max_length − 3` (a short side
/// leaves its room to the other).
fn pair(a: &[u32], b: &[u32], max_length: usize, label: usize) -> Encoded {
    let v = 256u32;
    let room = max_length.max(3) - 3;
    let na = a.len().min((room / 2).max(room.saturating_sub(b.len())));
    let nb = b.len().min(room - na);
    let mut ids = vec![v + 1];
    ids.extend(&a[..na]);
    ids.push(v + 2);
    let first = ids.len();
    ids.extend(&b[..nb]);
    ids.push(v + 2);
    let types = (0..ids.len()).map(|i| u32::from(i >= first)).collect();
    Encoded {
        input_ids: ids,
        token_type_ids: types,
        target: Target::Class(label),
    }
}

fn pixels(task: LraTask, img: &GreyImage, max_length: usize) -> Encoded {
    single(
        task,
        img.pixels.iter().map(|&p| u32::from(p) + 1),
        max_length,
        img.label,
    )
}

/// Reads and encodes `task` from `dir` (layouts in the module docs and [`crate::lra`]). `seed` chooses the
/// Pathfinder split.
pub fn load_lra(task: LraTask, dir: &Path, max_length: usize, seed: u64) -> Result<LraData, DataError> {
    let (train, val, test) = match task {
        LraTask::ListOps => {
            let s = load_listops_dir(dir, "basic")?;
            let enc = |v: &[crate::listops::ListOpsExample]| -> Result<Vec<Encoded>, DataError> {
                v.iter()
                    .map(|e| {
                        let ids = tokenize_listops(&e.source)
                            .map_err(|err| DataError::InvalidArgument(format!("ListOps source: {err}")))?;
                        Ok(single(task, ids.into_iter(), max_length, e.target as usize))
                    })
                    .collect()
            };
            (enc(&s.train)?, enc(&s.val)?, enc(&s.test)?)
        }
        LraTask::Text => {
            let split = |s: LraSplit, csv: &str| {
                if dir.join("train").is_dir() {
                    load_imdb_dir(dir, s)
                } else {
                    load_text_csv(&dir.join(csv))
                }
            };
            let enc = |v: Vec<crate::lra::TextExample>| {
                v.into_iter()
                    .map(|e| single(task, byte_ids(&e.text, max_length).into_iter(), max_length, e.label))
                    .collect::<Vec<_>>()
            };
            let train = enc(split(LraSplit::Train, "train.csv")?);
            let test = enc(split(LraSplit::Test, "test.csv")?);
            (train, test.clone(), test)
        }
        LraTask::Retrieval => {
            let enc = |s: LraSplit| -> Result<Vec<Encoded>, DataError> {
                Ok(load_aan_dir(dir, s)?
                    .into_iter()
                    .map(|e| {
                        let (a, b) = (byte_ids(&e.text1, max_length), byte_ids(&e.text2, max_length));
                        pair(&a, &b, max_length, e.label)
                    })
                    .collect())
            };
            let test = if dir.join("new_aan_pairs.test.tsv").exists() {
                enc(LraSplit::Test)?
            } else {
                Vec::new()
            };
            (enc(LraSplit::Train)?, enc(LraSplit::Val)?, test)
        }
        LraTask::Image => {
            let enc = |s: LraSplit| -> Result<Vec<Encoded>, DataError> {
                Ok(load_cifar10_dir(dir, s)?
                    .iter()
                    .map(|i| pixels(task, i, max_length))
                    .collect())
            };
            (enc(LraSplit::Train)?, enc(LraSplit::Val)?, enc(LraSplit::Test)?)
        }
        LraTask::Pathfinder(d) => {
            let set = load_pathfinder(dir, d)?;
            let (a, b, c) = split_80_10_10(set.images.len(), seed);
            let pick = |idx: Vec<usize>| idx.iter().map(|&i| pixels(task, &set.images[i], max_length)).collect();
            (pick(a), pick(b), pick(c))
        }
    };
    Ok(LraData { task, train, val, test })
}
