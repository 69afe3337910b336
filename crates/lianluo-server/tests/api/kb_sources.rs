//! Knowledge from files, websites and past conversations: PDF, DOCX and XLSX uploads are read and cited,
//! hostile files are refused with a reason and harm nothing; a website is crawled within its site; mined
//! conversation answers count only once an admin approves them.

use std::io::Write;

use axum::{
    body::Body,
    http::{Method, Request, header},
};
use serde_json::{Value, json};

use crate::{
    helpers::{Caller, TestApp},
    on_both_backends,
};

fn token(app: &TestApp) -> String {
    let Caller::Token(t) = app.admin.clone() else { unreachable!("the admin uses a token") };
    t
}

async fn send_file(app: &TestApp, method: Method, path: &str, body: Vec<u8>) -> crate::helpers::Response {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", token(app)))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}

async fn wait_indexed(app: &TestApp, id: &str) -> Value {
    crate::helpers::wait_indexed(app, &app.admin, id, std::time::Duration::from_secs(30)).await
}

async fn answer(app: &TestApp, question: &str) -> Value {
    app.post("/api/v1/kb/answer", &app.admin, json!({ "question": question })).await.expect(200)
}

/// A zip archive of the given parts, deflated.
fn zip(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in parts {
        out.start_file(*name, opts).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style>
<w:style w:type="paragraph" w:styleId="1"><w:name w:val="heading 2"/></w:style>
</w:styles>"#;

/// A Word document: a heading and its paragraphs (`Heading1` style), then a table.
fn docx(heading: &str, paragraphs: &[&str]) -> Vec<u8> {
    let mut body =
        format!(r#"<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>{heading}</w:t></w:r></w:p>"#);
    for p in paragraphs {
        // Runs split mid-sentence, as Word does.
        let (a, b) = p.split_at(p.char_indices().nth(p.chars().count() / 2).unwrap().0);
        body.push_str(&format!(
            r#"<w:p><w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">{a}</w:t></w:r><w:r><w:t>{b}</w:t></w:r></w:p>"#
        ));
    }
    body.push_str(
        r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Model</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Lumio Desk Lamp &amp; Dock</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#,
    );
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    zip(&[("word/document.xml", document.as_bytes()), ("word/styles.xml", STYLES.as_bytes())])
}

/// An Excel workbook whose first sheet is a question/answer table.
fn xlsx(rows: &[(&str, &str)]) -> Vec<u8> {
    let mut strings = vec!["问题", "答案"];
    for (q, a) in rows {
        strings.push(q);
        strings.push(a);
    }
    let shared: String = strings.iter().map(|s| format!("<si><t>{s}</t></si>")).collect();
    let shared = format!(
        r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">{shared}</sst>"#,
        strings.len()
    );
    let mut sheet = String::new();
    for r in 0..=rows.len() {
        sheet.push_str(&format!(
            r#"<row r="{n}"><c r="A{n}" t="s"><v>{q}</v></c><c r="B{n}" t="s"><v>{a}</v></c></row>"#,
            n = r + 1,
            q = 2 * r,
            a = 2 * r + 1
        ));
    }
    let sheet = format!(
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet}</sheetData></worksheet>"#
    );
    zip(&[("xl/sharedStrings.xml", shared.as_bytes()), ("xl/worksheets/sheet1.xml", sheet.as_bytes())])
}

/// A one-page PDF with the lines in Helvetica.
fn pdf(lines: &[&str]) -> Vec<u8> {
    use lopdf::{
        Document, Object, Stream,
        content::{Content, Operation},
        dictionary,
    };
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut ops = vec![Operation::new("BT", vec![]), Operation::new("Tf", vec!["F1".into(), 12.into()])];
    ops.push(Operation::new("Td", vec![72.into(), 720.into()]));
    for line in lines {
        ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
        ops.push(Operation::new("Td", vec![0.into(), (-16).into()]));
    }
    ops.push(Operation::new("ET", vec![]));
    let content = Content { operations: ops };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

async fn files_are_read_cited_and_hostile_ones_refused(app: TestApp) {
    // DOCX: headings from the styles, runs joined, tables kept.
    let manual = docx(
        "Warranty",
        &[
            "The Lumio desk lamp has a warranty of two years from delivery.",
            "台灯的保修期为两年，自签收之日起计算。",
        ],
    );
    let made =
        send_file(&app, Method::POST, "/api/v1/kb/files?name=Lamp%20manual.docx", manual).await.expect(201);
    assert_eq!((made["kind"].as_str(), made["title"].as_str()), (Some("docx"), Some("Lamp manual")));
    let docx_id = made["id"].as_str().unwrap().to_string();
    assert_eq!(wait_indexed(&app, &docx_id).await["status"], "indexed");
    let chunks = app.get(&format!("/api/v1/kb/sources/{docx_id}/chunks"), &app.admin).await.expect(200);
    let chunks = chunks["items"].as_array().unwrap();
    assert!(chunks.iter().all(|c| c["heading"] == "Lamp manual › Warranty"), "{chunks:?}");
    let all: String = chunks.iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert!(all.contains("a warranty of two years from delivery."), "{all}");
    assert!(all.contains("台灯的保修期为两年"), "{all}");
    assert!(all.contains("Model · Lumio Desk Lamp & Dock"), "{all}");
    let a = answer(&app, "How long is the lamp's warranty?").await;
    assert_eq!(a["answered"], true, "{a}");
    assert!(a["text"].as_str().unwrap().contains("two years"), "{a}");
    assert_eq!(a["citations"][0]["source_id"], docx_id.as_str());

    // XLSX: a question/answer sheet becomes curated entries.
    let table = xlsx(&[
        ("Do you deliver to Hong Kong?", "Yes, delivery to Hong Kong takes 3 to 5 working days."),
        ("可以开发票吗？", "可以，下单时填写发票抬头，电子发票会发送到您的邮箱。"),
    ]);
    let made =
        send_file(&app, Method::POST, "/api/v1/kb/files?name=faq.xlsx&title=FAQ", table).await.expect(201);
    let xlsx_id = made["id"].as_str().unwrap().to_string();
    let indexed = wait_indexed(&app, &xlsx_id).await;
    assert_eq!((indexed["status"].as_str(), indexed["chunk_count"].as_i64()), (Some("indexed"), Some(2)));
    let a = answer(&app, "开发票怎么弄？").await;
    assert_eq!(a["answered"], true, "{a}");
    assert!(a["text"].as_str().unwrap().contains("发票抬头"), "{a}");

    // PDF: the text layer, page by page.
    let care = pdf(&[
        "Lumio Care Plus",
        "Lumio Care Plus covers accidental damage for 24 months.",
        "Claims are made online.",
    ]);
    // The same file cut short in transfer is refused, not indexed without its end.
    let end = care.windows(5).rposition(|w| w == b"%%EOF").unwrap();
    let e = send_file(&app, Method::POST, "/api/v1/kb/files?name=care.pdf", care[..end].to_vec())
        .await
        .expect_error(422, "invalid_body");
    assert!(e.contains("cut short"), "{e}");
    let made = send_file(&app, Method::POST, "/api/v1/kb/files?name=care.pdf", care).await.expect(201);
    let pdf_id = made["id"].as_str().unwrap().to_string();
    assert_eq!(wait_indexed(&app, &pdf_id).await["status"], "indexed");
    let source = app.get(&format!("/api/v1/kb/sources/{pdf_id}"), &app.admin).await.expect(200);
    assert!(source["content"].as_str().unwrap().contains("accidental damage for 24 months"), "{source}");
    let hits = app
        .post("/api/v1/kb/search", &app.admin, json!({ "query": "accidental damage cover" }))
        .await
        .expect(200);
    assert_eq!(hits["hits"][0]["source_id"], pdf_id.as_str(), "{hits}");
    assert_eq!(hits["hits"][0]["heading"], "care › p. 1");

    // Hostile and broken files are refused with the reason; nothing is stored.
    let bomb = zip(&[("word/document.xml", &vec![b' '; 70 * 1024 * 1024])]);
    assert!(bomb.len() < 1024 * 1024, "the bomb is small on the wire");
    let e = send_file(&app, Method::POST, "/api/v1/kb/files?name=bomb.docx", bomb)
        .await
        .expect_error(422, "invalid_body");
    assert!(e.contains("expands beyond 64 MiB"), "{e}");
    let e = send_file(
        &app,
        Method::POST,
        "/api/v1/kb/files?name=broken.pdf",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog".to_vec(),
    )
    .await
    .expect_error(422, "invalid_body");
    assert!(e.contains("broken.pdf: the PDF could not be read"), "{e}");
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    let e = send_file(&app, Method::POST, "/api/v1/kb/files?name=scan.pdf", png)
        .await
        .expect_error(422, "invalid_body");
    assert!(e.contains("not a PDF file"), "{e}");
    let e = send_file(&app, Method::POST, "/api/v1/kb/files?name=notes.docx", b"just some text".to_vec())
        .await
        .expect_error(422, "invalid_body");
    assert!(e.contains("not a DOCX file"), "{e}");
    let no_doc = zip(&[("hello.txt", b"hi")]);
    let e = send_file(&app, Method::POST, "/api/v1/kb/files?name=empty.docx", no_doc)
        .await
        .expect_error(422, "invalid_body");
    assert!(e.contains("word/document.xml is missing"), "{e}");
    send_file(&app, Method::POST, "/api/v1/kb/files?name=setup.exe", b"MZ".to_vec())
        .await
        .expect_error(415, "unsupported_file");
    send_file(&app, Method::POST, "/api/v1/kb/files?name=huge.pdf", vec![b'%'; 21 * 1024 * 1024])
        .await
        .expect_error(413, "payload_too_large");
    app.post("/api/v1/kb/sources", &app.admin, json!({ "kind": "pdf", "title": "x", "content": "y" }))
        .await
        .expect_error(422, "validation_failed");
    let sources = app.get("/api/v1/kb/sources", &app.admin).await.expect(200);
    let sources = sources["items"].as_array().unwrap();
    assert_eq!(sources.len(), 3, "the refused files left nothing behind");
    assert!(sources.iter().all(|s| s["status"] == "indexed"), "{sources:?}");
    assert_eq!(
        answer(&app, "How long is the lamp's warranty?").await["answered"],
        true,
        "the rest still works"
    );

    // A new version of the file replaces the old text; a file of another kind is refused.
    let v2 = docx("Warranty", &["The Lumio desk lamp has a warranty of three years from delivery."]);
    let replaced =
        send_file(&app, Method::PUT, &format!("/api/v1/kb/sources/{docx_id}/file?name=lamp-v2.docx"), v2)
            .await
            .expect(200);
    assert_eq!(replaced["status"], "queued");
    assert_eq!(wait_indexed(&app, &docx_id).await["status"], "indexed");
    let a = answer(&app, "How long is the lamp's warranty?").await;
    assert!(a["text"].as_str().unwrap().contains("three years"), "{a}");
    send_file(
        &app,
        Method::PUT,
        &format!("/api/v1/kb/sources/{docx_id}/file?name=faq.xlsx"),
        xlsx(&[("a b c", "d e f g h")]),
    )
    .await
    .expect_error(422, "validation_failed");

    // Only admins add knowledge.
    let (_, agent) = app.agent(&app.admin, "agent.files@example.com").await;
    let Caller::Browser { cookie, csrf } = agent else { unreachable!() };
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/kb/files?name=a.txt")
        .header(header::COOKIE, cookie)
        .header("x-csrf-token", csrf.unwrap())
        .body(Body::from("Some text"))
        .unwrap();
    app.send(req).await.expect_error(403, "forbidden");
}

/// A small help centre served on 127.0.0.1: an index linking to pages, another site, a page robots.txt
/// disallows, a redirect within the site and a file that is not HTML.
async fn help_site() -> String {
    use axum::{
        Router,
        response::{Html, IntoResponse, Redirect},
        routing::get,
    };
    let page = |title: &'static str, body: &'static str| {
        get(move || async move {
            Html(format!("<html><head><title>{title}</title></head><body>{body}</body></html>"))
        })
    };
    let app = Router::new()
        .route(
            "/",
            page(
                "Lumio Help",
                r#"<h1>Help centre</h1><p>Find answers about orders and products.</p>
                <a href="/shipping">Shipping</a> <a href="returns#policy">Returns</a> <a href="/old-warranty">Warranty</a>
                <a href="/private/staff">Staff</a> <a href="https://elsewhere.example/">Elsewhere</a>
                <a href="/catalog.zip">Catalog</a> <a href="mailto:help@lumio.example">Mail us</a>"#,
            ),
        )
        .route(
            "/shipping",
            page(
                "Shipping",
                "<h2>Delivery times</h2><p>Orders placed before 4 pm leave our warehouse the same day; delivery in mainland China takes 1 to 3 days.</p><a href=\"/\">Home</a>",
            ),
        )
        // Served compressed, as many sites do.
        .route(
            "/returns",
            get(|| async {
                use std::io::Write;
                let html = "<html><head><title>Returns</title></head><body><h2>Returns</h2>\
                            <p>Unused items can be returned within 30 days.</p></body></html>";
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(html.as_bytes()).unwrap();
                let headers = [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_ENCODING, "gzip")];
                (headers, gz.finish().unwrap()).into_response()
            }),
        )
        .route("/old-warranty", get(|| async { Redirect::permanent("/warranty") }))
        .route("/warranty", page("Warranty", "<h2>Warranty</h2><p>Every Lumio lamp carries a two-year warranty.</p>"))
        .route("/private/staff", page("Staff", "<p>Staff discount codes: never show these to customers.</p>"))
        .route("/catalog.zip", get(|| async { ([(header::CONTENT_TYPE, "application/zip")], "PK...").into_response() }))
        .route("/robots.txt", get(|| async { "User-agent: *\nDisallow: /private\n" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

async fn websites_are_crawled_within_the_site(app: TestApp) {
    let site = help_site().await;
    let made = app
        .post(
            "/api/v1/kb/sources",
            &app.admin,
            json!({ "kind": "website", "title": "Lumio Help", "url": site }),
        )
        .await
        .expect(201);
    assert_eq!(made["page_limit"], 50, "the default page limit");
    let id = made["id"].as_str().unwrap().to_string();
    let indexed = wait_indexed(&app, &id).await;
    assert_eq!(indexed["status"], "indexed", "{indexed}");
    let chunks = app.get(&format!("/api/v1/kb/sources/{id}/chunks"), &app.admin).await.expect(200);
    let mut pages: Vec<String> = chunks["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["url"].as_str().unwrap().trim_start_matches(&site).to_string())
        .collect();
    pages.dedup();
    assert_eq!(
        pages,
        ["", "shipping", "returns", "warranty"],
        "same site, robots.txt honoured, redirects followed"
    );
    let all: String =
        chunks["items"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert!(!all.contains("discount codes"), "{all}");
    assert!(
        all.contains("Unused items can be returned within 30 days"),
        "a gzip page is read as text: {all}"
    );

    let a = answer(&app, "When does my order leave the warehouse?").await;
    assert_eq!(a["answered"], true, "{a}");
    assert_eq!(a["citations"][0]["url"], format!("{site}shipping"), "the answer cites the page");

    // A smaller page limit crawls again.
    let edited = app
        .patch(&format!("/api/v1/kb/sources/{id}"), &app.admin, json!({ "page_limit": 2 }))
        .await
        .expect(200);
    assert_eq!(edited["status"], "queued");
    wait_indexed(&app, &id).await;
    let chunks = app.get(&format!("/api/v1/kb/sources/{id}/chunks"), &app.admin).await.expect(200);
    let mut pages: Vec<&str> =
        chunks["items"].as_array().unwrap().iter().map(|c| c["url"].as_str().unwrap()).collect();
    pages.dedup();
    assert_eq!(pages.len(), 2, "{pages:?}");

    // Bad input is refused up front; an unreachable site fails with the reason.
    app.post("/api/v1/kb/sources", &app.admin, json!({ "kind": "website", "title": "No address" }))
        .await
        .expect_error(422, "validation_failed");
    app.post(
        "/api/v1/kb/sources",
        &app.admin,
        json!({ "kind": "website", "title": "x", "url": site, "page_limit": 5000 }),
    )
    .await
    .expect_error(422, "validation_failed");
    app.patch(&format!("/api/v1/kb/sources/{id}"), &app.admin, json!({ "content": "text" }))
        .await
        .expect_error(422, "validation_failed");
    let gone = app
        .post(
            "/api/v1/kb/sources",
            &app.admin,
            json!({ "kind": "website", "title": "Gone", "url": "http://127.0.0.1:9/" }),
        )
        .await
        .expect(201);
    let failed = wait_indexed(&app, gone["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("could not be fetched"), "{failed}");
}

/// A care page whose server is down for its first request (503) and answers after that, and a page
/// that is gone (404), served on 127.0.0.1.
async fn flaky_site() -> String {
    use axum::{
        Router,
        http::StatusCode,
        response::{Html, IntoResponse},
        routing::get,
    };
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let care = get(move || {
        let calls = calls.clone();
        async move {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
            }
            Html(
                "<html><head><title>Lamp care</title></head><body><h2>Cleaning the shade</h2>\
                 <p>Wipe the Lumio lamp's shade with a dry microfibre cloth; never put water on the base.</p>\
                 </body></html>",
            )
            .into_response()
        }
    });
    let app = Router::new().route("/", care).route("/moved-away", get(|| async { StatusCode::NOT_FOUND }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

/// The background job that indexes a source.
async fn index_job(app: &TestApp, source: &str) -> Value {
    let jobs = app.get("/api/v1/jobs?lane=background", &app.admin).await.expect(200);
    let job = jobs["items"].as_array().unwrap().iter().find(|j| j["payload"]["source"] == source);
    job.unwrap_or_else(|| panic!("no job indexes {source}: {jobs}")).clone()
}

async fn sites_that_do_not_answer_are_tried_again(app: TestApp) {
    let site = flaky_site().await;
    let made = app
        .post("/api/v1/kb/sources", &app.admin, json!({ "kind": "website", "title": "Care", "url": site }))
        .await
        .expect(201);
    let id = made["id"].as_str().unwrap().to_string();
    // The site answers 503: the source says why and that it is tried again; its job waits out the
    // back-off with the reason.
    let failed = wait_indexed(&app, &id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("503") && error.contains("tried again automatically"), "{failed}");
    let job = index_job(&app, &id).await;
    assert_eq!((&job["state"], &job["attempts"]), (&json!("pending"), &json!(1)), "{job}");
    assert!(job["error"].as_str().unwrap().contains("503"), "{job}");
    assert_eq!(lianluo_server::jobs::run_until_idle(&app.state).await.unwrap(), 0, "not before its time");

    // An admin has it tried now; the site answers, and the page is indexed and cited.
    let job_id = job["id"].as_str().unwrap();
    let now = app.post(&format!("/api/v1/jobs/{job_id}/retry"), &app.admin, json!({})).await.expect(200);
    assert_eq!((&now["state"], &now["attempts"]), (&json!("pending"), &json!(1)), "{now}");
    let indexed = wait_indexed(&app, &id).await;
    assert_eq!(indexed["status"], "indexed", "{indexed}");
    assert_eq!(indexed["error"], Value::Null, "{indexed}");
    let done = app.get(&format!("/api/v1/jobs/{job_id}"), &app.admin).await.expect(200);
    assert_eq!((&done["state"], &done["attempts"]), (&json!("done"), &json!(2)), "{done}");
    let a = answer(&app, "How do I clean the lamp shade?").await;
    assert_eq!(a["answered"], true, "{a}");
    assert_eq!(a["citations"][0]["url"], site.as_str(), "{a}");

    // A page that is gone will not come back by trying again: the job is done, the reason is on the
    // source, and nothing is left waiting.
    let gone = app
        .post(
            "/api/v1/kb/sources",
            &app.admin,
            json!({ "kind": "website", "title": "Old care", "url": format!("{site}moved-away") }),
        )
        .await
        .expect(201);
    let gone_id = gone["id"].as_str().unwrap();
    let failed = wait_indexed(&app, gone_id).await;
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("404") && !error.contains("tried again"), "{failed}");
    let job = index_job(&app, gone_id).await;
    assert_eq!((&job["state"], &job["result"]["status"]), (&json!("done"), &json!("failed")), "{job}");
    app.run_jobs().await;
}

/// Runs the workspace's queued mining job and returns what it found.
async fn mining_report(app: &TestApp) -> Value {
    assert_eq!(app.run_jobs().await, 1);
    let run = app.get("/api/v1/kb/candidates/mine", &app.admin).await.expect(200);
    assert_eq!(run["state"], "done", "{run}");
    run["report"].clone()
}

async fn resolved_conversations_become_candidates_after_approval(app: TestApp) {
    let (channel, contact) = app.channel_and_contact(&app.admin).await;
    let talk = |turns: &'static [(&'static str, &'static str)]| {
        let app = &app;
        let (channel, contact) = (channel.clone(), contact.clone());
        async move {
            let id = app.conversation(&app.admin, &channel, &contact, None).await;
            for (kind, content) in turns {
                app.post(
                    &format!("/api/v1/conversations/{id}/messages"),
                    &app.admin,
                    json!({ "kind": kind, "content": content }),
                )
                .await
                .expect(201);
            }
            id
        }
    };
    let wrap = talk(&[
        ("incoming", "hi"),
        ("outgoing", "Hello! How can I help?"),
        ("incoming", "Do you offer gift wrapping for orders?"),
        ("note", "check the gift policy"),
        ("outgoing", "Yes, gift wrapping is free: tick 'gift' at checkout and add a card message."),
        ("incoming", "thanks"),
    ])
    .await;
    let invoice = talk(&[
        ("incoming", "能开专票吗？"),
        ("outgoing", "可以开增值税专用发票，请把公司开票信息发给我们。"),
    ])
    .await;
    let open = talk(&[
        ("incoming", "Where is my parcel?"),
        ("outgoing", "It left our warehouse yesterday evening."),
    ])
    .await;
    let again = talk(&[
        ("incoming", "Do you offer gift wrapping for my order?"),
        ("outgoing", "We do: gift wrapping is free, just tick 'gift' when you check out."),
    ])
    .await;
    // A reply that answers something else, and a question asked twice whose first reply only stalls.
    let colour = talk(&[
        ("incoming", "Which colours does the speaker come in?"),
        ("outgoing", "It ships from our Shanghai warehouse within two days of your order."),
    ])
    .await;
    let stalled = talk(&[
        ("incoming", "How long is the warranty on the watch?"),
        ("outgoing", "Thanks for waiting, let me look into that for you."),
    ])
    .await;
    let warranty = talk(&[
        ("incoming", "How long is the warranty for the watch?"),
        ("outgoing", "The watch has a two-year warranty from the day it is delivered."),
    ])
    .await;
    for id in [&wrap, &invoice, &again, &colour, &stalled, &warranty] {
        app.patch(&format!("/api/v1/conversations/{id}"), &app.admin, json!({ "status": "resolved" }))
            .await
            .expect(200);
    }
    let _ = open;

    // Before approval the mined answer does not count.
    assert_eq!(app.get("/api/v1/kb/candidates/mine", &app.admin).await.expect(200)["state"], "idle");
    let started = app.post("/api/v1/kb/candidates/mine", &app.admin, json!({})).await.expect(202);
    assert_eq!(started["state"], "queued", "{started}");
    let mined = mining_report(&app).await;
    assert_eq!(mined["conversations"], 6, "only resolved conversations are read");
    let added = mined["added"].as_array().unwrap();
    assert_eq!(added.len(), 4, "{mined}");
    assert_eq!(mined["repeats"], 2, "the same question asked again is counted, not listed twice");
    let pending = app.get("/api/v1/kb/candidates", &app.admin).await.expect(200);
    let items = pending["items"].as_array().unwrap();
    let confidences: Vec<f64> = items.iter().map(|c| c["confidence"].as_f64().unwrap()).collect();
    assert!(confidences.windows(2).all(|w| w[0] >= w[1]), "most likely answers first: {pending}");
    let recommended: Vec<bool> = items.iter().map(|c| c["recommended"].as_bool().unwrap()).collect();
    assert_eq!(
        recommended,
        [true, true, true, false],
        "the reply about shipping is not recommended: {pending}"
    );
    assert!(items[3]["question"].as_str().unwrap().contains("colours"), "{pending}");
    // Of two replies to the same question, the one that answers it is kept.
    let kept = items.iter().find(|c| c["question"].as_str().unwrap().contains("warranty")).unwrap();
    assert!(kept["answer"].as_str().unwrap().contains("two-year warranty"), "{kept}");
    assert_eq!(kept["asked"], 2, "{kept}");
    let gift = items.iter().find(|c| c["question"].as_str().unwrap().contains("gift wrapping")).unwrap();
    assert_eq!(gift["asked"], 2, "{pending}");
    assert!(gift["answer"].as_str().unwrap().contains("gift wrapping is free"), "{gift}");
    assert_eq!(gift["status"], "pending");
    app.post("/api/v1/kb/candidates/mine", &app.admin, json!({ "conversations": 10 })).await.expect(202);
    let again = mining_report(&app).await;
    assert_eq!(again["added"], json!([]), "a reply is mined once");
    assert_eq!(answer(&app, "Is gift wrapping available?").await["answered"], false);

    // Approved (edited), it answers the next customer at once; rejected, it never counts.
    let gift_id = gift["id"].as_str().unwrap();
    let approved = app
        .post(
            &format!("/api/v1/kb/candidates/{gift_id}/decision"),
            &app.admin,
            json!({ "approve": true, "answer": "Yes, gift wrapping is free: choose 'gift' at checkout and write a card message." }),
        )
        .await
        .expect(200);
    assert_eq!(approved["candidate"]["status"], "approved");
    assert_eq!(approved["source"]["status"], "indexed");
    assert_eq!(approved["source"]["kind"], "qa");
    let a = answer(&app, "Is gift wrapping available?").await;
    assert_eq!(a["answered"], true, "{a}");
    assert!(a["text"].as_str().unwrap().contains("choose 'gift' at checkout"), "{a}");
    app.post(&format!("/api/v1/kb/candidates/{gift_id}/decision"), &app.admin, json!({ "approve": false }))
        .await
        .expect_error(409, "conflict");
    let invoice_id =
        added.iter().find(|c| c["conversation_id"] == invoice.as_str()).unwrap()["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/kb/candidates/{invoice_id}/decision"),
        &app.admin,
        json!({ "approve": false }),
    )
    .await
    .expect(200);
    let left = app.get("/api/v1/kb/candidates", &app.admin).await.expect(200)["items"].clone();
    assert_eq!(left.as_array().unwrap().len(), 2, "the two undecided ones are left: {left}");
    let rejected = app.get("/api/v1/kb/candidates?status=rejected", &app.admin).await.expect(200);
    assert_eq!(rejected["items"][0]["question"], "能开专票吗？");
    assert_eq!(answer(&app, "能开专票吗？").await["answered"], false);

    // Wrong ids and other roles get clear errors.
    app.post(
        &format!("/api/v1/kb/candidates/{}/decision", uuid::Uuid::now_v7()),
        &app.admin,
        json!({ "approve": true }),
    )
    .await
    .expect_error(404, "not_found");
    app.post(
        &format!("/api/v1/kb/candidates/{invoice_id}/decision"),
        &app.admin,
        json!({ "approve": true, "answer": " " }),
    )
    .await
    .expect_error(422, "validation_failed");
    let (_, agent) = app.agent(&app.admin, "agent.mine@example.com").await;
    app.get("/api/v1/kb/candidates", &agent).await.expect_error(403, "forbidden");
}

/// A handbook of `n` sections, one passage each.
fn handbook(topic: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "## {topic} {i}\n\nStep {i} of the {topic} procedure: check the device, note serial {i}, and \
                 write down what the customer saw before step {}.\n",
                i + 1
            )
        })
        .collect()
}

async fn long_sources_show_progress_and_workspaces_index_side_by_side(app: TestApp) {
    app.workspace("bravo", "admin@bravo.example").await;
    let b_browser = app.login("admin@bravo.example", crate::helpers::ADMIN_PASSWORD).await;
    let b = app.token_for(&b_browser, "admin").await;
    let add = |caller: Caller, title: &'static str| {
        let app = &app;
        async move {
            let body = json!({ "kind": "markdown", "title": title, "content": handbook(title, 96) });
            app.post("/api/v1/kb/sources", &caller, body).await.expect(201)["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    // Workspace A queues two long sources, then workspace B one.
    let a1 = add(app.admin.clone(), "Repair").await;
    let a2 = add(app.admin.clone(), "Returns").await;
    let b1 = add(b.clone(), "Setup").await;
    // A node with two job workers (a workspace may run one job at a time), whatever the machine's cores.
    let mut node = app.state.clone();
    node.config =
        std::sync::Arc::new(lianluo_server::ServerConfig { job_workers: 2, ..(*node.config).clone() });
    let workers = lianluo_server::jobs::spawn(node);

    let mut seen_progress = Vec::new(); // (passages done, total) of A's first source
    let mut side_by_side = false;
    let mut a_waited_for_b1 = false;
    let started = std::time::Instant::now();
    loop {
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "indexing did not finish");
        let a = app.get("/api/v1/kb/sources", &app.admin).await.expect(200)["items"].clone();
        let bs = app.get("/api/v1/kb/sources", &b).await.expect(200)["items"].clone();
        let find = |items: &Value, id: &str| {
            items.as_array().unwrap().iter().find(|s| s["id"] == id).cloned().expect("listed")
        };
        let (s_a1, s_a2, s_b1) = (find(&a, &a1), find(&a, &a2), find(&bs, &b1));
        if s_a1["status"] == "processing" {
            let p = &s_a1["progress"];
            if p["stage"] == "embedding" {
                seen_progress
                    .push((p["passages_done"].as_u64().unwrap(), p["passages_total"].as_u64().unwrap()));
            }
        } else {
            assert!(s_a1.get("progress").is_none(), "progress only while indexing: {s_a1}");
        }
        // A's two sources run one after the other, in whichever order their tasks start; B's runs beside
        // whichever of them runs, and does not wait behind the other one.
        let a_running = s_a1["status"] == "processing" || s_a2["status"] == "processing";
        let a_waiting = s_a1["status"] == "queued" || s_a2["status"] == "queued";
        side_by_side |= a_running && s_b1["status"] == "processing";
        a_waited_for_b1 |= s_b1["status"] == "processing" && a_waiting;
        if [&s_a1, &s_a2, &s_b1].iter().all(|s| s["status"] == "indexed") {
            assert_eq!(s_a1["chunk_count"], 96, "{s_a1}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        seen_progress.iter().any(|&(done, total)| total == 96 && done < total),
        "the passages embedded so far are shown out of the total: {seen_progress:?}"
    );
    assert!(
        seen_progress.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress only moves forward: {seen_progress:?}"
    );
    // The last job is recorded done just after its source is indexed.
    let started = std::time::Instant::now();
    while app.store.unfinished_jobs().await.unwrap() > 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the jobs did not end");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    workers.abort();
    assert!(side_by_side, "the two workspaces' sources were indexed at the same time");
    assert!(a_waited_for_b1, "workspace B did not wait for all of workspace A's queue");
    let one = app.get(&format!("/api/v1/kb/sources/{a1}"), &app.admin).await.expect(200);
    assert!(one.get("progress").is_none() && one["status"] == "indexed", "{one}");
    // Each source was one job, done, and the admins see them in their own workspace's queue.
    for (caller, ids) in [(&app.admin, vec![&a1, &a2]), (&b, vec![&b1])] {
        let jobs = app.get("/api/v1/jobs", caller).await.expect(200)["items"].clone();
        let jobs = jobs.as_array().unwrap();
        assert_eq!(jobs.len(), ids.len(), "{jobs:?}");
        for job in jobs {
            assert_eq!((job["kind"].as_str(), job["state"].as_str()), (Some("index_source"), Some("done")));
            assert!(ids.iter().any(|id| job["payload"]["source"] == id.as_str()), "{job}");
            assert_eq!(job["result"]["passages"], 96, "{job}");
        }
    }
}

on_both_backends!(
    long_sources_show_progress_and_workspaces_index_side_by_side,
    files_are_read_cited_and_hostile_ones_refused,
    websites_are_crawled_within_the_site,
    sites_that_do_not_answer_are_tried_again,
    resolved_conversations_become_candidates_after_approval,
);
