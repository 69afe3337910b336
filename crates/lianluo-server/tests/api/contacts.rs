//! Contacts: identities across channels, attributes, tags, search and pages.

use serde_json::json;

use crate::{helpers::TestApp, on_both_backends};

on_both_backends!(contact_lifecycle, contact_search_and_cursor_pages);

async fn contact_lifecycle(app: TestApp) {
    let ch = app
        .post("/api/v1/channels", &app.admin, json!({"kind": "wechat", "name": "公众号"}))
        .await
        .expect(201);
    let ch = ch["id"].as_str().unwrap();
    let new = json!({
        "name": "Wang Fang",
        "identities": [
            {"kind": "email", "value": "Wang.Fang@Example.com"},
            {"kind": "phone", "value": "+86 139 1234 5678"},
            {"kind": "external", "channel_id": ch, "value": "oWx_openid_123"}
        ],
        "attributes": {"city": "深圳", "orders": 4},
        "tags": ["VIP", "vip", "repeat-buyer"]
    });
    let c = app.post("/api/v1/contacts", &app.admin, new).await.expect(201);
    let id = c["id"].as_str().unwrap();
    assert_eq!(c["identities"][0]["value"], "wang.fang@example.com");
    assert_eq!(c["identities"][1]["value"], "+8613912345678");
    assert_eq!(c["tags"], json!(["vip", "repeat-buyer"]));
    let dup = json!({"identities": [{"kind": "phone", "value": "+8613912345678"}]});
    app.post("/api/v1/contacts", &app.admin, dup).await.expect_error(409, "conflict");

    let patch = json!({"attributes": {"orders": 5, "city": null, "level": "gold"}, "name": null});
    let c = app.patch(&format!("/api/v1/contacts/{id}"), &app.admin, patch).await.expect(200);
    assert_eq!(c["attributes"], json!({"orders": 5, "level": "gold"}));
    assert_eq!(c["name"], json!(null));
    assert_eq!(app.get(&format!("/api/v1/contacts/{id}"), &app.admin).await.expect(200), c);
    app.delete(&format!("/api/v1/contacts/{id}"), &app.admin).await.expect(204);
    app.get(&format!("/api/v1/contacts/{id}"), &app.admin).await.expect_error(404, "not_found");
}

async fn contact_search_and_cursor_pages(app: TestApp) {
    for i in 0..12 {
        let body = json!({"name": format!("顾客 Customer {i:02}"), "identities": [{"kind": "email", "value": format!("c{i}@shop.example")}],
            "tags": if i % 3 == 0 { json!(["vip"]) } else { json!([]) }});
        app.post("/api/v1/contacts", &app.admin, body).await.expect(201);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/contacts?limit=5".to_string();
    loop {
        let page = app.get(&path, &app.admin).await.expect(200);
        seen.extend(
            page["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/contacts?limit=5&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    assert_eq!(seen[0], "顾客 Customer 11", "newest first");
    seen.dedup();
    assert_eq!(seen.len(), 12, "no duplicates across pages");
    let found = app.get("/api/v1/contacts?q=c7%40shop", &app.admin).await.expect(200);
    assert_eq!(found["items"][0]["name"], "顾客 Customer 07");
    let vip = app.get("/api/v1/contacts?tag=vip", &app.admin).await.expect(200);
    assert_eq!(vip["items"].as_array().unwrap().len(), 4);
}
