//! The HTTP model clients keep the same contract as the embedded models, against a real
//! OpenAI-compatible server: Lianluo's own `/v1` API serving its embedded models. A provider that does
//! not answer, or refuses the key, gives a clear error.

use lianluo_models::{ChatModel, OpenAiChat, OpenAiEmbedder, OpenAiEndpoint, conformance};

use crate::helpers::{Caller, TestApp};

fn endpoint(base_url: String, key: Option<String>, timeout_secs: u64) -> OpenAiEndpoint {
    OpenAiEndpoint { base_url, api_key: key, model: "lianluo".into(), timeout_secs, max_retries: 1 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_models_keep_the_contract_against_an_openai_compatible_server() {
    let app = TestApp::sqlite().await;
    let addr = app.serve().await;
    let Caller::Token(key) = &app.admin else { panic!("an API token") };
    let ep = endpoint(format!("http://{addr}/v1"), Some(key.clone()), 30);
    let embedder = OpenAiEmbedder::connect(ep.clone()).await.expect("connect");
    conformance::embedder_contract(&embedder).await;
    conformance::chat_contract(&OpenAiChat::new(ep)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_or_a_silent_provider_is_a_clear_error() {
    let app = TestApp::sqlite().await;
    let addr = app.serve().await;
    let wrong = endpoint(format!("http://{addr}/v1"), Some("ll_wrong".into()), 5);
    let err = OpenAiEmbedder::connect(wrong).await.err().expect("refused").to_string();
    assert!(err.contains("401"), "{err}");

    let silent_addr = crate::helpers::silent_server().await;
    let ep = endpoint(format!("http://{silent_addr}/v1"), None, 1);
    let request = lianluo_models::ChatRequest {
        messages: vec![lianluo_models::ChatMessage::new(lianluo_models::Role::User, "hello")],
        max_tokens: 8,
        temperature: 0.0,
    };
    let started = std::time::Instant::now();
    let err = OpenAiChat::new(ep).chat(&request, None).await.expect_err("times out").to_string();
    assert!(err.contains("did not answer within 1 s"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "gives up after its retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_embed_questions_as_search_does() {
    let app = TestApp::sqlite().await;
    let embed = |body: serde_json::Value| app.post("/v1/embeddings", &app.admin, body);
    let text = "how long is the return window?";
    let vector = |r: &serde_json::Value| -> Vec<f64> {
        r["data"][0]["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    };
    let passage = vector(&embed(serde_json::json!({ "input": text })).await.expect(200));
    let document =
        vector(&embed(serde_json::json!({ "input": text, "input_type": "document" })).await.expect(200));
    let query = vector(&embed(serde_json::json!({ "input": text, "input_type": "query" })).await.expect(200));
    assert_eq!(passage, document, "passages are the default");
    assert_eq!(query.len(), passage.len());
    assert!((query.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-3, "unit length");
    // The default embedder reads questions with its own prefix, as search does.
    let cosine: f64 = query.iter().zip(&passage).map(|(a, b)| a * b).sum();
    assert!(cosine < 0.999, "a question is embedded differently from a passage: {cosine}");
    embed(serde_json::json!({ "input": text, "input_type": "sentence" }))
        .await
        .expect_error(422, "invalid_body");
}

/// A workspace's own provider reaches public addresses only, checked when it connects: a name that
/// resolves to the server's own network (here `localhost`), or a private address written out, is refused
/// before any request (or key) is sent; the operator's own endpoints may be anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_provider_cannot_reach_the_servers_network() {
    use lianluo_models::Embedder;
    let app = TestApp::sqlite().await;
    let addr = app.serve().await;
    let Caller::Token(key) = &app.admin else { panic!("an API token") };
    let port = addr.rsplit(':').next().unwrap();
    let request = lianluo_models::ChatRequest {
        messages: vec![lianluo_models::ChatMessage::new(lianluo_models::Role::User, "hello")],
        max_tokens: 8,
        temperature: 0.0,
    };
    for base in [format!("http://localhost:{port}/v1"), format!("http://127.0.0.1:{port}/v1")] {
        let ep = endpoint(base.clone(), Some(key.clone()), 5);
        let err =
            OpenAiChat::public_only(ep.clone()).chat(&request, None).await.expect_err("refused").to_string();
        assert!(err.contains("private network"), "{base}: {err}");
        let err = OpenAiEmbedder::public_only(ep.clone())
            .embed(&["x".into()])
            .await
            .expect_err("refused")
            .to_string();
        assert!(err.contains("private network"), "{base}: {err}");
        // The operator's endpoint at the same address works.
        assert!(OpenAiChat::new(ep).chat(&request, None).await.is_ok(), "{base}");
    }
}

/// The embedded chat model answers one request at a time with a bounded queue behind it: when the queue
/// is full the next request is refused at once with 429 and `Retry-After`, streamed or not, instead of
/// waiting; once the queue drains, requests are served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_model_queue_is_refused_at_once_with_retry_after() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/models");
    let gguf = lianluo_models::EmbeddedPaths::in_dir(&dir).chat_gguf;
    // Its own copy of the model, with room for one waiting request.
    let chat = tokio::task::spawn_blocking(move || lianluo_models::LlamaChat::load_with_queue(&gguf, 2, 1))
        .await
        .unwrap()
        .expect("run scripts/fetch-models first");
    let chat = std::sync::Arc::new(chat);
    let app = TestApp::sqlite_with_chat(chat.clone()).await;
    let long = |stream: bool| {
        serde_json::json!({
            "model": "lianluo",
            "messages": [{ "role": "user", "content": "Tell a long story about a lighthouse keeper and a storm." }],
            "max_tokens": 64,
            "stream": stream,
        })
    };
    let calls = (0..5).map(|_| app.post("/v1/chat/completions", &app.admin, long(false)));
    let outcomes = futures_util::future::join_all(calls).await;
    let served = outcomes.iter().filter(|r| r.status == 200).count();
    let refused: Vec<_> = outcomes.iter().filter(|r| r.status == 429).collect();
    assert_eq!(served + refused.len(), 5, "each request is served or refused");
    assert_eq!(served, 2, "one runs and one waits");
    for r in &refused {
        assert_eq!(r.body["error"]["code"], "queue_full", "{}", r.body);
        assert_eq!(r.headers["retry-after"], "5");
    }
    // A streamed request while the queue is full is refused before any event is sent. It is sent once
    // the model reports the queue full (one request running, one waiting), however slow the machine.
    let (_, _, streamed) = tokio::join!(
        app.post("/v1/chat/completions", &app.admin, long(false)),
        app.post("/v1/chat/completions", &app.admin, long(false)),
        async {
            let full = async {
                while lianluo_models::ChatModel::busy(chat.as_ref()).is_none() {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            };
            tokio::time::timeout(std::time::Duration::from_secs(60), full).await.expect("the queue fills");
            app.post("/v1/chat/completions", &app.admin, long(true)).await
        }
    );
    assert_eq!(streamed.status, 429, "{}", streamed.body);
    assert!(streamed.headers.contains_key("retry-after"));
    // The queue drained: served again.
    app.post("/v1/chat/completions", &app.admin, long(false)).await.expect(200);
}
