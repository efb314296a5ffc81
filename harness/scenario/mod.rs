//! The scenario file: model, loading and validation.
