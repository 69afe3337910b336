//! The embedded models keep the model contract.

use std::path::PathBuf;

use lianluo_models::{EmbeddedPaths, LlamaChat, MiniLm, conformance};

fn paths() -> EmbeddedPaths {
    let dir = std::env::var_os("LIANLUO_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/models"));
    EmbeddedPaths::in_dir(&dir)
}

#[tokio::test]
async fn embedded_embedder_keeps_the_contract() {
    let e = MiniLm::load(&paths().embedder_dir).expect("run scripts/fetch-models first");
    conformance::embedder_contract(&e).await;
}

#[tokio::test]
async fn embedded_chat_keeps_the_contract() {
    let m = LlamaChat::load(&paths().chat_gguf, 2).expect("run scripts/fetch-models first");
    conformance::chat_contract(&m).await;
}

#[test]
fn missing_model_files_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = MiniLm::load(dir.path()).err().expect("no model there").to_string();
    assert!(err.contains("config.json is missing"), "{err}");
    let err = LlamaChat::load(&dir.path().join("nope.gguf"), 2).err().expect("no model").to_string();
    assert!(err.contains("nope.gguf is missing"), "{err}");
    std::fs::write(dir.path().join("bad.gguf"), b"not a model").unwrap();
    let err = LlamaChat::load(&dir.path().join("bad.gguf"), 2).err().expect("not a model").to_string();
    assert!(err.contains("bad.gguf"), "{err}");
}
