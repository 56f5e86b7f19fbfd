//! DeBERTa-v2/v3 for TABS (to come: issue 3).
