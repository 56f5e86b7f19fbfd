//! ListOps (Nangia & Bowman, 2018) as generated for the Long Range Arena: generator, string forms, parser,
//! evaluator, TSV writer and the small token vocabulary.
//!
//! # The LRA recipe (`lra_benchmarks/data/listops.py`), followed here
//!
//! * Operators `[MIN`, `[MAX`, `[MED` (median, `int(np.median(args))`, i.e. the mean of the two middle values
//!   truncated for an even count) and `[SM` (sum modulo 10); each application is closed by `]`. Values are 0–9.
//! * `generate_tree(depth, max_depth, max_args)`, started at depth 1: below `max_depth`, draw r ~ U\[0, 1); if
//!   r > 0.25 (or at `max_depth`, always) the node is a leaf with a uniform value; otherwise it is an operator with
//!   n ~ U{2, …, max_args} arguments generated recursively (depth + 1), then an operator drawn uniformly.
//!   Defaults `max_depth = 10`, `max_args = 10`. The RNG draws happen in that order here too (r, then value or
//!   n, children, operator).
//! * Length = leaves + 2 per operator (its `[OP` and `]` tokens; parentheses are not counted). A tree is accepted
//!   when `min_length < length < max_length` (defaults 500 and 2000, strict), and kept once (a set of trees).
//! * The released `basic_{train,val,test}.tsv` are written by `csv.writer(delimiter='\t')` with the header
//!   `Source\tTarget` and Python's default `\r\n` line ends; `Source` is LRA's `to_string`, which wraps every
//!   (partial application, argument) pair in parentheses: `[MAX 4 3 ]` is written `( ( ( [MAX 4 ) 3 ) ] )`.
//!   [`Tree::to_lra_string`] writes exactly that; [`Tree::to_plain_string`] writes `[MAX 4 3 ]`; [`parse`] reads
//!   both (parentheses are ignored).
//! * LRA splits the set into 96 000 / 2 000 / 2 000. Python's `set` iteration order is not reproducible; here the
//!   order is generation order (first occurrence kept), split in that order.
//!
//! What is not reproduced: the exact released files (Python's Mersenne-Twister stream and `set` order cannot be
//! replayed with `StdRng`); the distribution of trees is the same. `StdRng` is ChaCha12 in `rand` 0.9: runs are
//! deterministic for a given seed and `rand` version.
//!
//! # Tokens
//!
//! [`tokenize_listops`] maps a source string to ids of a fixed 16-entry vocabulary ([`LISTOPS_VOCAB`]): 0 `<pad>`,
//! 1–10 the digits `0`–`9`, 11–14 `[MIN` `[MAX` `[MED` `[SM`, 15 `]`; parentheses are dropped. (LRA's own
//! `TokenTextEncoder` uses the alphanumeric `tfds` tokenizer, which drops the brackets — `]` included — and builds
//! its vocabulary from the training file; like the S4 code base we keep `]` as a token, since without it the
//! expression is ambiguous.)

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::data_error::DataError;

/// A ListOps operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `[MIN`: minimum.
    Min,
    /// `[MAX`: maximum.
    Max,
    /// `[MED`: median, `⌊(a₍ₖ₎ + a₍ₖ₊₁₎)/2⌋` for an even count (`int(np.median(...))`).
    Med,
    /// `[SM`: sum modulo 10.
    SumMod,
}

impl Op {
    /// The four operators in LRA's `OPERATORS` order.
    pub const ALL: [Op; 4] = [Op::Min, Op::Max, Op::Med, Op::SumMod];

    /// The opening token (`"[MIN"`, ...).
    pub fn token(self) -> &'static str {
        match self {
            Op::Min => "[MIN",
            Op::Max => "[MAX",
            Op::Med => "[MED",
            Op::SumMod => "[SM",
        }
    }

    fn from_token(token: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.token() == token)
    }

    /// Applies the operator to its (non-empty) arguments.
    pub fn apply(self, args: &[u8]) -> u8 {
        match self {
            Op::Min => args.iter().copied().min().unwrap_or(0),
            Op::Max => args.iter().copied().max().unwrap_or(0),
            Op::SumMod => (args.iter().map(|&a| u32::from(a)).sum::<u32>() % 10) as u8,
            Op::Med => {
                let mut sorted = args.to_vec();
                sorted.sort_unstable();
                let n = sorted.len();
                if n == 0 {
                    0
                } else if n % 2 == 1 {
                    sorted[n / 2]
                } else {
                    // np.median averages the two middle values; int() truncates (values are ≥ 0: floor).
                    ((u16::from(sorted[n / 2 - 1]) + u16::from(sorted[n / 2])) / 2) as u8
                }
            }
        }
    }
}

/// A ListOps expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tree {
    /// A value 0–9.
    Leaf(u8),
    /// An operator applied to its arguments.
    Node {
        /// The operator.
        op: Op,
        /// The arguments (at least one).
        args: Vec<Tree>,
    },
}

impl Tree {
    /// The value of the expression (recursive evaluation).
    pub fn value(&self) -> u8 {
        match self {
            Tree::Leaf(v) => *v,
            Tree::Node { op, args } => {
                let values: Vec<u8> = args.iter().map(Tree::value).collect();
                op.apply(&values)
            }
        }
    }

    /// LRA's length: 1 per value, 2 per operator (`[OP` and `]`); parentheses are not counted.
    pub fn token_len(&self) -> usize {
        match self {
            Tree::Leaf(_) => 1,
            Tree::Node { args, .. } => 2 + args.iter().map(Tree::token_len).sum::<usize>(),
        }
    }

    /// Depth: 1 for a leaf, 1 + the deepest argument otherwise.
    pub fn depth(&self) -> usize {
        match self {
            Tree::Leaf(_) => 1,
            Tree::Node { args, .. } => 1 + args.iter().map(Tree::depth).max().unwrap_or(0),
        }
    }

    /// The form of the released LRA files (`to_string` of `listops.py`): `[MAX 4 3 ]` → `( ( ( [MAX 4 ) 3 ) ] )`.
    pub fn to_lra_string(&self) -> String {
        let mut out = String::new();
        self.write_lra(&mut out);
        out
    }

    fn write_lra(&self, out: &mut String) {
        match self {
            Tree::Leaf(v) => out.push_str(&v.to_string()),
            Tree::Node { op, args } => {
                // ((((op, a0), a1), ...), END): one "( " per pair, each pair closed after its right element.
                for _ in 0..=args.len() {
                    out.push_str("( ");
                }
                out.push_str(op.token());
                for arg in args {
                    out.push(' ');
                    arg.write_lra(out);
                    out.push_str(" )");
                }
                out.push_str(" ] )");
            }
        }
    }

    /// The bracket-only form: `[MAX 4 3 [MIN 2 3 ] 1 0 ]`.
    pub fn to_plain_string(&self) -> String {
        let mut out = String::new();
        self.write_plain(&mut out);
        out
    }

    fn write_plain(&self, out: &mut String) {
        match self {
            Tree::Leaf(v) => out.push_str(&v.to_string()),
            Tree::Node { op, args } => {
                out.push_str(op.token());
                for arg in args {
                    out.push(' ');
                    arg.write_plain(out);
                }
                out.push_str(" ]");
            }
        }
    }
}

impl fmt::Display for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain_string())
    }
}

/// Why a ListOps string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A token that is not a digit, an operator, `]`, `(` or `)`.
    #[error("token {index} ({token:?}) is not a digit, an operator ([MIN [MAX [MED [SM), ']' or a parenthesis")]
    UnknownToken {
        /// 0-based token position (whitespace-separated).
        index: usize,
        /// The token.
        token: String,
    },
    /// A `]` with no open operator.
    #[error("token {index}: ']' closes no operator")]
    UnmatchedClose {
        /// 0-based token position.
        index: usize,
    },
    /// An operator closed with no argument.
    #[error("token {index}: operator closed without arguments")]
    NoArguments {
        /// 0-based token position.
        index: usize,
    },
    /// Input ended inside an operator, or held no expression.
    #[error("incomplete expression ({open} operator(s) still open)")]
    Incomplete {
        /// Operators still open.
        open: usize,
    },
    /// More than one top-level expression.
    #[error("token {index}: trailing input after a complete expression")]
    Trailing {
        /// 0-based token position.
        index: usize,
    },
    /// Nesting deeper than [`MAX_PARSE_DEPTH`].
    #[error("nesting deeper than {MAX_PARSE_DEPTH}")]
    TooDeep,
    /// Parentheses do not balance (they are otherwise ignored).
    #[error("unbalanced parentheses")]
    UnbalancedParens,
}

/// Deepest nesting [`parse`] accepts (LRA trees have depth ≤ 10).
pub const MAX_PARSE_DEPTH: usize = 1000;

/// Parses either string form (parentheses are ignored but must balance). Iterative: no recursion on input depth.
pub fn parse(source: &str) -> Result<Tree, ParseError> {
    // Stack of open operators with the arguments collected so far.
    let mut stack: Vec<(Op, Vec<Tree>)> = Vec::new();
    let mut done: Option<Tree> = None;
    let mut parens: i64 = 0;
    for (index, token) in source.split_whitespace().enumerate() {
        let finished = match token {
            "(" => {
                parens += 1;
                continue;
            }
            ")" => {
                parens -= 1;
                if parens < 0 {
                    return Err(ParseError::UnbalancedParens);
                }
                continue;
            }
            "]" => {
                let (op, args) = stack.pop().ok_or(ParseError::UnmatchedClose { index })?;
                if args.is_empty() {
                    return Err(ParseError::NoArguments { index });
                }
                Tree::Node { op, args }
            }
            _ => {
                if let Some(op) = Op::from_token(token) {
                    if done.is_some() {
                        return Err(ParseError::Trailing { index });
                    }
                    if stack.len() >= MAX_PARSE_DEPTH {
                        return Err(ParseError::TooDeep);
                    }
                    stack.push((op, Vec::new()));
                    continue;
                }
                match token.as_bytes() {
                    [d @ b'0'..=b'9'] => Tree::Leaf(d - b'0'),
                    _ => {
                        return Err(ParseError::UnknownToken {
                            index,
                            token: token.to_owned(),
                        })
                    }
                }
            }
        };
        match stack.last_mut() {
            Some((_, args)) => args.push(finished),
            None if done.is_none() => done = Some(finished),
            None => return Err(ParseError::Trailing { index }),
        }
    }
    if parens != 0 {
        return Err(ParseError::UnbalancedParens);
    }
    if !stack.is_empty() {
        return Err(ParseError::Incomplete { open: stack.len() });
    }
    done.ok_or(ParseError::Incomplete { open: 0 })
}

/// Parses and evaluates a ListOps string.
pub fn evaluate(source: &str) -> Result<u8, ParseError> {
    parse(source).map(|t| t.value())
}

/// Settings of the generator (defaults: LRA's `basic` task).
#[derive(Debug, Clone, PartialEq)]
pub struct ListOpsConfig {
    /// Maximum tree depth (a node at this depth is always a leaf). LRA: 10.
    pub max_depth: usize,
    /// Maximum number of arguments of an operator (at least 2). LRA: 10.
    pub max_args: usize,
    /// Accepted lengths are strictly greater than this. LRA: 500.
    pub min_length: usize,
    /// Accepted lengths are strictly smaller than this. LRA: 2000.
    pub max_length: usize,
    /// A node (below `max_depth`) is an operator when r ≤ this, r ~ U\[0, 1). LRA's `VALUE_P`: 0.25.
    pub operator_probability: f64,
    /// Give up after this many drawn trees (0 = no limit). Guards against windows that are (nearly) empty.
    pub max_attempts: u64,
}

impl Default for ListOpsConfig {
    fn default() -> Self {
        ListOpsConfig {
            max_depth: 10,
            max_args: 10,
            min_length: 500,
            max_length: 2000,
            operator_probability: 0.25,
            max_attempts: 0,
        }
    }
}

impl ListOpsConfig {
    fn validate(&self) -> Result<(), DataError> {
        let bad = |m: String| Err(DataError::InvalidArgument(m));
        if self.max_depth == 0 {
            return bad("listops: max_depth must be ≥ 1".into());
        }
        if self.max_args < 2 {
            return bad(format!("listops: max_args must be ≥ 2, got {}", self.max_args));
        }
        if !(0.0..=1.0).contains(&self.operator_probability) {
            return bad(format!(
                "listops: operator_probability {} not in [0, 1]",
                self.operator_probability
            ));
        }
        if self.max_length <= self.min_length + 1 {
            return bad(format!(
                "listops: no integer length lies strictly between {} and {}",
                self.min_length, self.max_length
            ));
        }
        let longest = self.longest_possible();
        if longest <= self.min_length {
            return bad(format!(
                "listops: the longest tree (depth {}, {} args) has {longest} tokens, not more than min_length {}",
                self.max_depth, self.max_args, self.min_length
            ));
        }
        Ok(())
    }

    /// Length of the largest tree the settings allow: L(max_depth) = 1, L(d) = 2 + max_args · L(d + 1).
    pub fn longest_possible(&self) -> usize {
        if self.operator_probability <= 0.0 {
            return 1;
        }
        let mut len: usize = 1;
        for _ in 1..self.max_depth {
            len = len.saturating_mul(self.max_args).saturating_add(2);
        }
        len
    }
}

/// Draws one tree exactly as LRA's `generate_tree(1, max_depth, max_args)` (no length filter). Settings are not
/// validated here (a `max_args` below 2 acts as 2); [`generate`] validates them.
pub fn generate_tree(rng: &mut StdRng, config: &ListOpsConfig) -> Tree {
    generate_at(rng, config, 1)
}

fn generate_at(rng: &mut StdRng, config: &ListOpsConfig, depth: usize) -> Tree {
    // r is drawn only below max_depth (as in LRA); at max_depth the node is a leaf whatever the probability.
    if depth >= config.max_depth || rng.random::<f64>() > config.operator_probability {
        return Tree::Leaf(rng.random_range(0..10u8));
    }
    let n = rng.random_range(2..=config.max_args.max(2));
    let args: Vec<Tree> = (0..n).map(|_| generate_at(rng, config, depth + 1)).collect();
    let op = Op::ALL[rng.random_range(0..Op::ALL.len())];
    Tree::Node { op, args }
}

/// One example: the source string (LRA form) and its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListOpsExample {
    /// The expression, as in the released files (`( ( [MAX 4 ) ... ] )`).
    pub source: String,
    /// Its value, 0–9.
    pub target: u8,
}

/// Generates `count` distinct trees whose length lies strictly inside the window, deterministically from `seed`
/// (first occurrence kept, generation order). Errors if the settings admit no tree or `max_attempts` runs out.
pub fn generate(config: &ListOpsConfig, count: usize, seed: u64) -> Result<Vec<ListOpsExample>, DataError> {
    config.validate()?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut seen: HashSet<String> = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    let mut attempts: u64 = 0;
    while out.len() < count {
        if config.max_attempts != 0 && attempts >= config.max_attempts {
            return Err(DataError::InvalidArgument(format!(
                "listops: only {} of {count} trees in ({}, {}) after {attempts} attempts",
                out.len(),
                config.min_length,
                config.max_length
            )));
        }
        attempts += 1;
        let tree = generate_tree(&mut rng, config);
        let len = tree.token_len();
        if len > config.min_length && len < config.max_length {
            let source = tree.to_lra_string();
            if seen.insert(source.clone()) {
                out.push(ListOpsExample {
                    source,
                    target: tree.value(),
                });
            }
        }
    }
    Ok(out)
}

/// Train / val / test examples.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOpsSplits {
    /// `<task>_train.tsv`.
    pub train: Vec<ListOpsExample>,
    /// `<task>_val.tsv`.
    pub val: Vec<ListOpsExample>,
    /// `<task>_test.tsv`.
    pub test: Vec<ListOpsExample>,
}

/// Generates `train + val + test` distinct examples (one pool, as LRA) and splits them in order.
pub fn generate_splits(
    config: &ListOpsConfig,
    train: usize,
    val: usize,
    test: usize,
    seed: u64,
) -> Result<ListOpsSplits, DataError> {
    let mut all = generate(config, train + val + test, seed)?;
    let test_part = all.split_off(train + val);
    let val_part = all.split_off(train);
    Ok(ListOpsSplits {
        train: all,
        val: val_part,
        test: test_part,
    })
}

/// The TSV text of `examples`: header `Source\tTarget`, one row per example, `\r\n` line ends (Python's
/// `csv.writer` default, as in the released files).
pub fn to_tsv(examples: &[ListOpsExample]) -> String {
    let mut out = String::from("Source\tTarget\r\n");
    for e in examples {
        out.push_str(&e.source);
        out.push('\t');
        out.push_str(&e.target.to_string());
        out.push_str("\r\n");
    }
    out
}

/// Writes [`to_tsv`] to `path`.
pub fn write_tsv(path: &Path, examples: &[ListOpsExample]) -> Result<(), DataError> {
    let mut file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    file.write_all(to_tsv(examples).as_bytes())
        .map_err(|e| DataError::io(path, e))
}

/// Writes `<dir>/<task>_train.tsv`, `<task>_val.tsv`, `<task>_test.tsv` (LRA's names; task `basic`).
pub fn write_splits(dir: &Path, task: &str, splits: &ListOpsSplits) -> Result<(), DataError> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    for (name, part) in [("train", &splits.train), ("val", &splits.val), ("test", &splits.test)] {
        write_tsv(&dir.join(format!("{task}_{name}.tsv")), part)?;
    }
    Ok(())
}

/// The token vocabulary of [`tokenize_listops`]; index = id.
pub const LISTOPS_VOCAB: [&str; 16] = [
    "<pad>", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[MIN", "[MAX", "[MED", "[SM", "]",
];

/// Id of `<pad>`.
pub const LISTOPS_PAD: u32 = 0;

/// Maps a ListOps string (either form) to ids of [`LISTOPS_VOCAB`]; parentheses are dropped.
pub fn tokenize_listops(source: &str) -> Result<Vec<u32>, ParseError> {
    source
        .split_whitespace()
        .enumerate()
        .filter(|(_, t)| *t != "(" && *t != ")")
        .map(|(index, token)| {
            LISTOPS_VOCAB
                .iter()
                .skip(1)
                .position(|v| *v == token)
                .map(|p| p as u32 + 1)
                .ok_or_else(|| ParseError::UnknownToken {
                    index,
                    token: token.to_owned(),
                })
        })
        .collect()
}
