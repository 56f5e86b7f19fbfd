//! The public names a backbone crate gives the skeleton, declared once for every backbone.
//!
//! A backbone supplies embeddings `E`, attention `A` and a config `C`; the skeleton then is
//! `EncoderModel<B, E, A, C>` (the encoder) and `SequenceClassifier<B, E, A, C>` (the classifier). Each crate
//! names these, the shared input / output types and the one error type in its own words (`DebertaModel`,
//! `BertModel`, …) through [`backbone_names!`](crate::backbone_names).

/// Declares a backbone's type names for the skeleton on `$embeddings`, `$attention` and `$config`:
///
/// ```ignore
/// tabs_hf::backbone_names! {
///     family: "BERT", embeddings: Embeddings, attention: Attention, config: BertConfig,
///     error: BertError, input: BertInput, output: BertOutput, model: BertModel,
///     classifier: BertForSequenceClassification,
/// }
/// ```
///
/// declares `BertError` (= [`ModelError`](crate::ModelError)), `Result<T>`, `BertInput<B>` (= `EncoderInput<B>`:
/// ids `[b, T]`, mask `[b, T]`, optional token types `[b, T]`), `BertOutput<B>` (= `EncoderOutput<B>`: last hidden
/// state `[b, T, d]`, each layer's gates, the token mask), `BertModel<B>` (the encoder with optional TABS gates)
/// and `BertForSequenceClassification<B>` (pooler → dropout → classifier; `num_labels` = 1 is regression).
#[macro_export]
macro_rules! backbone_names {
    (
        family: $family:literal, embeddings: $embeddings:ident, attention: $attention:ident, config: $config:ident,
        error: $error:ident, input: $input:ident, output: $output:ident, model: $model:ident,
        classifier: $classifier:ident $(,)?
    ) => {
        #[doc = concat!("The one error type of the backbones, [`tabs_hf::ModelError`], as ", $family, " names it: ")]
        #[doc = "checkpoint and config errors naming file and key, invalid inputs, adapter errors."]
        pub use $crate::ModelError as $error;

        /// Result alias of the crate.
        pub type Result<T> = ::std::result::Result<T, $error>;

        /// A batch of inputs: ids `[b, T]`, attention mask `[b, T]` (1 = real token), optional token types
        /// `[b, T]` (the one input type of every tabs encoder).
        pub type $input<B> = $crate::EncoderInput<B>;

        /// The encoder's outputs: last hidden state `[b, T, d]`, each layer's gates, the token mask.
        pub type $output<B> = $crate::EncoderOutput<B>;

        #[doc = concat!("The ", $family, " encoder with optional TABS gates: the skeleton's `EncoderModel`.")]
        pub type $model<B> = $crate::EncoderModel<B, $embeddings<B>, $attention<B>, $config>;

        #[doc = concat!("The ", $family, " sequence classifier: the skeleton's `SequenceClassifier` ")]
        #[doc = "(pooler → dropout → classifier; `num_labels` = 1 is regression)."]
        pub type $classifier<B> = $crate::SequenceClassifier<B, $embeddings<B>, $attention<B>, $config>;

        pub use $crate::ClassifierOutput;
    };
}
