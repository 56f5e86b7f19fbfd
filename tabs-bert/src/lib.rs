//! BERT-family encoders (BERT, MiniLM) with TABS adapters.
