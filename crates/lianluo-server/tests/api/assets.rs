//! The agent workspace and the widget are served by the binary itself, with a strict page policy.

use axum::http::header;

use crate::{
    helpers::{Caller, TestApp},
    on_both_backends,
};

on_both_backends!(the_workspace_and_widget_are_embedded);

async fn the_workspace_and_widget_are_embedded(app: TestApp) {
    let page = app.get("/", &Caller::Anonymous).await;
    let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = page.expect(200);
    assert!(html.as_str().unwrap().contains("/assets/app.js"));
    assert!(!html.as_str().unwrap().contains("http"), "no asset from another host");
    for (path, kind) in [
        ("/assets/app.js", "application/javascript"),
        ("/assets/app.css", "text/css"),
        ("/widget.js", "application/javascript"),
    ] {
        let res = app.get(path, &Caller::Anonymous).await;
        assert!(res.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind), "{path}");
        assert!(res.expect(200).as_str().unwrap().len() > 1000, "{path} has content");
    }
    // The demo shop exists only when `lianluo demo` turns it on.
    app.get("/demo/shop", &Caller::Anonymous).await.expect_error(404, "route_not_found");
}
