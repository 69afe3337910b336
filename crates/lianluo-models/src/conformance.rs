//! The contract every [`Embedder`] and [`ChatModel`] keeps, run against each implementation (the
//! embedded models directly, and the HTTP client against an OpenAI-compatible server).

use crate::{ChatMessage, ChatModel, ChatRequest, Embedder, Role, dot};

/// Vectors have the announced length and unit norm, come back in input order, and put a paraphrase
/// nearer than an unrelated sentence.
pub async fn embedder_contract(e: &dyn Embedder) {
    let texts: Vec<String> = [
        "How long do I have to return my headphones?",
        "What is the return window for earbuds?",
        "The weather in Shanghai is sunny today.",
        "How long do I have to return my headphones?",
    ]
    .map(String::from)
    .to_vec();
    let v = e.embed(&texts).await.expect("embed");
    assert_eq!(v.len(), texts.len(), "one vector per text");
    for x in &v {
        assert_eq!(x.len(), e.dimensions(), "vector length");
        let n = dot(x, x).sqrt();
        assert!((n - 1.0).abs() < 1e-3, "unit length, got {n}");
    }
    assert!(dot(&v[0], &v[3]) > 0.999, "the same text gives the same vector");
    assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.1, "a paraphrase is nearer than an unrelated text");
    // Order is kept however the implementation batches.
    let single = e.embed(&texts[2..3]).await.expect("embed one");
    assert!(dot(&single[0], &v[2]) > 0.999);
    assert!(e.embed(&[]).await.expect("embed nothing").is_empty());
}

/// The model answers, streams pieces that add up to the answer, counts tokens, honours `max_tokens`
/// and returns valid text for a Chinese prompt.
pub async fn chat_contract(m: &dyn ChatModel) {
    let request = ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, "You are a helpful assistant. Answer briefly."),
            ChatMessage::new(Role::User, "What is the capital of France?"),
        ],
        max_tokens: 24,
        temperature: 0.0,
    };
    let (tx, mut rx) = crate::token_stream();
    let out = m.chat(&request, Some(tx)).await.expect("chat");
    let mut streamed = String::new();
    let mut pieces = 0;
    while let Ok(p) = rx.try_recv() {
        streamed.push_str(&p);
        pieces += 1;
    }
    assert!(!out.text.trim().is_empty(), "an answer");
    assert_eq!(streamed, out.text, "the streamed pieces are the answer");
    assert!(pieces > 1, "the answer streams in pieces");
    assert!(out.text.contains("Paris"), "a sensible answer: {}", out.text);
    assert!(out.prompt_tokens > 5 && out.completion_tokens > 0, "token accounting: {out:?}");
    assert!(out.completion_tokens <= 24);

    let again = m.chat(&request, None).await.expect("chat again");
    assert_eq!(again.text, out.text, "temperature 0 is reproducible");

    // A listener that stops reading stops the model once its stream is full, as if it had gone: the
    // stream is bounded, and the answer so far comes back marked cancelled.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let stalled = m.chat(&request, Some(tx)).await.expect("chat to a stalled listener");
    assert_eq!(stalled.finish_reason, "cancelled", "{stalled:?}");
    assert!(stalled.completion_tokens < out.completion_tokens, "stopped early: {stalled:?}");
    drop(rx);

    let short = ChatRequest { max_tokens: 3, ..request.clone() };
    let cut = m.chat(&short, None).await.expect("short chat");
    assert_eq!(cut.finish_reason, "length");
    assert!(cut.completion_tokens <= 3);

    let zh = ChatRequest {
        messages: vec![ChatMessage::new(Role::User, "你好，请用中文介绍一下你自己。")],
        max_tokens: 16,
        temperature: 0.0,
    };
    let out = m.chat(&zh, None).await.expect("chat in Chinese");
    assert!(!out.text.contains('\u{fffd}'), "no broken characters: {}", out.text);
}
