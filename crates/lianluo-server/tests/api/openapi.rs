//! The OpenAPI document matches the routes the server really serves.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{
    helpers::{Caller, TestApp},
    on_both_backends,
};

on_both_backends!(document_matches_routes);

/// The committed `docs/openapi.json` is the served document. Set `LIANLUO_UPDATE_OPENAPI=1` to rewrite it
/// after changing the API on purpose, and review the diff.
#[tokio::test]
async fn committed_document_is_current() {
    let app = TestApp::sqlite().await;
    let doc = app.get("/api/openapi.json", &Caller::Anonymous).await.expect(200);
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var("LIANLUO_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/openapi.json is out of date; rerun with LIANLUO_UPDATE_OPENAPI=1 and review the diff"
    );
}

fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.insert(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

async fn document_matches_routes(app: TestApp) {
    let doc = app.get("/api/openapi.json", &Caller::Anonymous).await.expect(200);
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), p.clone())))
        .collect();
    let served: BTreeSet<(String, String)> =
        lianluo_server::operations().iter().map(|o| (o.method.to_string(), o.path.to_string())).collect();
    assert_eq!(documented, served);
    // Every documented route exists: a request reaches a handler rather than the router's fallbacks.
    for (method, path) in &served {
        let path = path.replace("{id}", "0190b3c2-7a5e-7cc1-8f3e-1234567890ab");
        let res = app.call(method.parse().unwrap(), &path, &app.admin, Some(serde_json::json!({}))).await;
        let code = res.body["error"]["code"].as_str().unwrap_or("");
        assert!(code != "route_not_found" && code != "method_not_allowed", "{method} {path}: {}", res.body);
    }
    // Every schema reference resolves.
    let mut found = BTreeSet::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "dangling $ref {r}");
    }
    let ids: Vec<_> = doc["paths"]["/api/v1/conversations/{id}/messages"]["post"]["operationId"]
        .as_str()
        .into_iter()
        .collect();
    assert_eq!(ids, ["create_message"]);
}
