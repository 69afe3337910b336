//! Text out of uploaded files: PDF (text layer, page by page), DOCX (paragraphs, headings, lists, tables)
//! and XLSX (the first sheet as a CSV table). Every reader is bounded: the upload's size, how far a
//! compressed part may expand, how many parts and pages a file may have; anything beyond fails with a
//! reason an admin can act on instead of exhausting the server.

use std::io::Read;

use lianluo_domain::knowledge::SourceKind;

use crate::parse::{ParseError, decode_entities};

/// Largest file accepted for upload.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// Largest size one compressed part of a DOCX/XLSX or one PDF page's content may expand to.
pub const MAX_EXPANDED_BYTES: u64 = 64 * 1024 * 1024;
/// Most parts a DOCX/XLSX archive may hold.
const MAX_ARCHIVE_ENTRIES: usize = 5_000;
/// Most pages read from a PDF.
const MAX_PDF_PAGES: usize = 3_000;

fn invalid(msg: impl Into<String>) -> ParseError {
    ParseError::Invalid(msg.into())
}

/// The kind a file name's extension stands for, among the kinds uploaded as files.
pub fn kind_for_file_name(name: &str) -> Option<SourceKind> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match ext.as_str() {
        "pdf" => SourceKind::Pdf,
        "docx" => SourceKind::Docx,
        "xlsx" => SourceKind::Xlsx,
        "md" | "markdown" => SourceKind::Markdown,
        "txt" => SourceKind::Text,
        "html" | "htm" => SourceKind::Html,
        "csv" => SourceKind::FaqCsv,
        _ => return None,
    })
}

/// Reads an uploaded file as `kind`: the text kept as the source's content (Markdown for PDF and DOCX,
/// CSV for XLSX, the file's own text for the text kinds).
pub fn extract_text(kind: SourceKind, bytes: &[u8]) -> Result<String, ParseError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(invalid(format!("the file is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024))));
    }
    let text = match kind {
        SourceKind::Pdf => pdf(bytes)?,
        SourceKind::Docx => docx(bytes)?,
        SourceKind::Xlsx => xlsx(bytes)?,
        SourceKind::Markdown | SourceKind::Text | SourceKind::Html | SourceKind::FaqCsv => {
            if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"%PDF") || bytes.contains(&0) {
                return Err(invalid(format!("the file is not {} text", kind.as_str())));
            }
            String::from_utf8(bytes.to_vec())
                .map_err(|_| invalid("the file is not UTF-8 text; save it as UTF-8 and upload it again"))?
        }
        SourceKind::Qa | SourceKind::Website => {
            return Err(invalid(format!("a {} source is not uploaded as a file", kind.as_str())));
        }
    };
    if text.trim().is_empty() {
        return Err(invalid(match kind {
            SourceKind::Pdf => "the PDF has no text layer (a scan?); text recognition is not supported yet",
            _ => "no text found in the file",
        }));
    }
    Ok(text)
}

fn pdf(bytes: &[u8]) -> Result<String, ParseError> {
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(invalid("not a PDF file (no %PDF header)"));
    }
    let doc =
        lopdf::Document::load_mem(bytes).map_err(|e| invalid(format!("the PDF could not be read: {e}")))?;
    // A file cut short in transfer may still parse (the reader recovers what it can), and would be
    // indexed missing its end: a whole PDF ends with %%EOF.
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(invalid("the PDF is cut short (it has no end-of-file marker); upload the whole file"));
    }
    if doc.is_encrypted() {
        return Err(invalid("the PDF is password-protected; upload a copy without a password"));
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(invalid("the PDF has no pages"));
    }
    if pages.len() > MAX_PDF_PAGES {
        return Err(invalid(format!(
            "the PDF has {} pages; split it into files of at most {MAX_PDF_PAGES}",
            pages.len()
        )));
    }
    let mut out = String::new();
    for &n in pages.keys() {
        let text = match doc.extract_text_with_limit(&[n], MAX_EXPANDED_BYTES as usize) {
            Ok(t) => t,
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
                return Err(invalid(format!(
                    "page {n} of the PDF expands beyond {} MiB; refused",
                    MAX_EXPANDED_BYTES / (1024 * 1024)
                )));
            }
            // A page that cannot be read (an unusual font or a damaged stream) is skipped, not fatal.
            Err(e) => {
                tracing::debug!(page = n, error = %e, "skipping an unreadable PDF page");
                continue;
            }
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        out.push_str(&format!("## p. {n}\n\n"));
        out.push_str(&text.replace('\r', "\n"));
        out.push_str("\n\n");
    }
    Ok(out)
}

type Archive<'a> = zip::ZipArchive<std::io::Cursor<&'a [u8]>>;

fn open_archive<'a>(bytes: &'a [u8], what: &str) -> Result<Archive<'a>, ParseError> {
    if !bytes.starts_with(b"PK") {
        return Err(invalid(format!("not a {what} file (not a zip archive)")));
    }
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| invalid(format!("the {what} file is damaged: {e}")))?;
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        return Err(invalid(format!("the {what} file has {} parts; refused", archive.len())));
    }
    Ok(archive)
}

/// Reads one part of an archive as text, refusing parts that claim or turn out to expand too far.
fn read_part(archive: &mut Archive<'_>, name: &str, what: &str) -> Result<Option<String>, ParseError> {
    let mut file = match archive.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(invalid(format!("the {what} file is damaged: {e}"))),
    };
    let limit = MAX_EXPANDED_BYTES;
    let bomb = || {
        invalid(format!(
            "{name} in the {what} file expands beyond {} MiB; refused (a zip bomb?)",
            limit / (1024 * 1024)
        ))
    };
    if file.size() > limit {
        return Err(bomb());
    }
    let mut buf = Vec::with_capacity(file.size() as usize);
    (&mut file)
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| invalid(format!("the {what} file is damaged: {e}")))?;
    if buf.len() as u64 > limit {
        return Err(bomb());
    }
    String::from_utf8(buf).map(Some).map_err(|_| invalid(format!("{name} in the {what} file is not UTF-8")))
}

/// One XML tag or the text between tags.
enum Xml<'a> {
    /// Name without prefix handling, whether it closes, whether it is empty (`<x/>`), and the raw tag.
    Tag {
        name: &'a str,
        closing: bool,
        empty: bool,
        raw: &'a str,
    },
    Text(&'a str),
}

/// Splits machine-written XML (Office parts) into tags and text. Comments, processing instructions and
/// declarations are skipped; CDATA is kept as text.
fn xml_tokens(xml: &str) -> impl Iterator<Item = Xml<'_>> {
    let mut rest = xml;
    std::iter::from_fn(move || {
        loop {
            if rest.is_empty() {
                return None;
            }
            if let Some(body) = rest.strip_prefix("<![CDATA[") {
                let end = body.find("]]>").unwrap_or(body.len());
                let text = &body[..end];
                rest = body.get(end + 3..).unwrap_or("");
                return Some(Xml::Text(text));
            }
            if rest.starts_with("<!--") {
                rest = rest.find("-->").map(|e| &rest[e + 3..]).unwrap_or("");
                continue;
            }
            if rest.starts_with('<') {
                let end = rest.find('>').unwrap_or(rest.len() - 1);
                let raw = &rest[1..end];
                rest = &rest[end + 1..];
                if raw.starts_with('?') || raw.starts_with('!') {
                    continue;
                }
                let closing = raw.starts_with('/');
                let empty = raw.ends_with('/');
                let name =
                    raw.trim_start_matches('/').split([' ', '\t', '\n', '\r', '/']).next().unwrap_or("");
                return Some(Xml::Tag { name, closing, empty, raw });
            }
            let end = rest.find('<').unwrap_or(rest.len());
            let text = &rest[..end];
            rest = &rest[end..];
            return Some(Xml::Text(text));
        }
    })
}

/// The value of an attribute in a raw tag (`w:val="Heading1"`).
fn attr<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(p) = raw[from..].find(name) {
        let at = from + p;
        let before_ok = at == 0 || raw.as_bytes()[at - 1].is_ascii_whitespace();
        let after = &raw[at + name.len()..];
        if before_ok && let Some(v) = after.strip_prefix("=\"") {
            return v.find('"').map(|e| &v[..e]);
        }
        from = at + name.len();
    }
    None
}

/// Heading levels of a DOCX's paragraph styles: built-in "heading N" and "Title", or an outline level.
fn docx_heading_styles(styles: &str) -> std::collections::HashMap<String, usize> {
    let mut out = std::collections::HashMap::new();
    let mut current: Option<String> = None;
    for t in xml_tokens(styles) {
        let Xml::Tag { name, closing, raw, .. } = t else { continue };
        match (name, closing) {
            ("w:style", false) => current = attr(raw, "w:styleId").map(str::to_string),
            ("w:style", true) => current = None,
            ("w:name", false) => {
                let Some(id) = &current else { continue };
                let v = attr(raw, "w:val").unwrap_or("").to_ascii_lowercase();
                if v == "title" {
                    out.insert(id.clone(), 1);
                } else if let Some(n) =
                    v.strip_prefix("heading ").and_then(|n| n.trim().parse::<usize>().ok())
                {
                    out.insert(id.clone(), n.clamp(1, 6));
                }
            }
            ("w:outlineLvl", false) => {
                if let (Some(id), Some(n)) =
                    (&current, attr(raw, "w:val").and_then(|v| v.parse::<usize>().ok()))
                {
                    out.entry(id.clone()).or_insert((n + 1).clamp(1, 6));
                }
            }
            _ => {}
        }
    }
    out
}

fn docx(bytes: &[u8]) -> Result<String, ParseError> {
    let mut archive = open_archive(bytes, "DOCX")?;
    let document = read_part(&mut archive, "word/document.xml", "DOCX")?
        .ok_or_else(|| invalid("not a DOCX file (word/document.xml is missing)"))?;
    let styles = read_part(&mut archive, "word/styles.xml", "DOCX")?.unwrap_or_default();
    let headings = docx_heading_styles(&styles);

    let mut out = String::new();
    let mut para = String::new();
    let mut level = 0usize;
    let mut list = false;
    let mut in_text = false;
    let mut cells: Option<Vec<String>> = None;
    for t in xml_tokens(&document) {
        match t {
            Xml::Tag { name: "w:p", closing: false, empty, .. } => {
                para.clear();
                level = 0;
                list = false;
                if empty {
                    continue;
                }
            }
            Xml::Tag { name: "w:pStyle", raw, .. } => {
                if let Some(l) = attr(raw, "w:val").and_then(|v| headings.get(v)) {
                    level = *l;
                }
            }
            Xml::Tag { name: "w:outlineLvl", raw, .. } => {
                if let Some(n) = attr(raw, "w:val").and_then(|v| v.parse::<usize>().ok())
                    && n < 9
                {
                    level = (n + 1).clamp(1, 6);
                }
            }
            Xml::Tag { name: "w:numPr", closing: false, .. } => list = true,
            Xml::Tag { name: "w:t", closing, empty, .. } => in_text = !closing && !empty,
            Xml::Tag { name: "w:tab", closing: false, .. } => para.push(' '),
            Xml::Tag { name: "w:br" | "w:cr", closing: false, .. } => para.push(' '),
            Xml::Tag { name: "w:tr", closing: false, .. } => cells = Some(Vec::new()),
            Xml::Tag { name: "w:tc", closing: false, .. } => {
                if let Some(c) = &mut cells {
                    c.push(String::new());
                }
            }
            Xml::Tag { name: "w:tr", closing: true, .. } => {
                if let Some(row) = cells.take() {
                    let row: Vec<String> =
                        row.into_iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
                    if !row.is_empty() {
                        out.push_str(&format!("- {}\n\n", row.join(" · ")));
                    }
                }
            }
            Xml::Tag { name: "w:p", closing: true, .. } => {
                let text = para.split_whitespace().collect::<Vec<_>>().join(" ");
                if text.is_empty() {
                    continue;
                }
                if let Some(row) = &mut cells {
                    // A paragraph inside a table cell belongs to the cell.
                    if let Some(cell) = row.last_mut() {
                        cell.push(' ');
                        cell.push_str(&text);
                    }
                    continue;
                }
                if level > 0 {
                    out.push_str(&format!("{} {text}\n\n", "#".repeat(level)));
                } else if list {
                    out.push_str(&format!("- {text}\n"));
                } else {
                    out.push_str(&format!("{text}\n\n"));
                }
            }
            Xml::Text(s) if in_text => para.push_str(&decode_entities(s)),
            _ => {}
        }
    }
    Ok(out)
}

/// Column index of a cell reference such as `C7` (A is 0).
fn column_of(reference: &str) -> usize {
    reference
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .fold(0usize, |n, c| {
            n.saturating_mul(26).saturating_add((c.to_ascii_uppercase() as u8 - b'A' + 1) as usize)
        })
        .saturating_sub(1)
}

fn xlsx(bytes: &[u8]) -> Result<String, ParseError> {
    let mut archive = open_archive(bytes, "XLSX")?;
    let shared = read_part(&mut archive, "xl/sharedStrings.xml", "XLSX")?.unwrap_or_default();
    let mut strings = Vec::new();
    let mut cur: Option<String> = None;
    let mut in_text = false;
    let mut in_phonetic = false;
    for t in xml_tokens(&shared) {
        match t {
            Xml::Tag { name: "si", closing: false, .. } => cur = Some(String::new()),
            Xml::Tag { name: "si", closing: true, .. } => strings.push(cur.take().unwrap_or_default()),
            // Phonetic hints (ruby) are not part of the cell's text.
            Xml::Tag { name: "rPh", closing, empty, .. } => in_phonetic = !closing && !empty,
            Xml::Tag { name: "t", closing, empty, .. } => in_text = !closing && !empty,
            Xml::Text(s) if in_text && !in_phonetic => {
                if let Some(c) = &mut cur {
                    c.push_str(&decode_entities(s));
                }
            }
            _ => {}
        }
    }
    // The first sheet: the lowest-numbered worksheet part.
    let sheet_name = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|n| {
            let num = n.strip_prefix("xl/worksheets/sheet")?.strip_suffix(".xml")?.parse::<u32>().ok()?;
            Some((num, n))
        })
        .min()
        .map(|(_, n)| n)
        .ok_or_else(|| invalid("not an XLSX workbook (it has no worksheet)"))?;
    let sheet = read_part(&mut archive, &sheet_name, "XLSX")?.unwrap_or_default();

    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut col = 0usize;
    let mut cell_type = String::new();
    let mut value = String::new();
    let mut in_value = false;
    for t in xml_tokens(&sheet) {
        match t {
            Xml::Tag { name: "row", closing: false, .. } => row.clear(),
            Xml::Tag { name: "row", closing: true, .. } => rows.push(std::mem::take(&mut row)),
            Xml::Tag { name: "c", closing: false, empty, raw } => {
                col = attr(raw, "r").map(column_of).unwrap_or(row.len());
                cell_type = attr(raw, "t").unwrap_or("n").to_string();
                value.clear();
                if empty {
                    continue;
                }
            }
            Xml::Tag { name: "c", closing: true, .. } => {
                let text = if cell_type == "s" {
                    value
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| strings.get(i))
                        .cloned()
                        .unwrap_or_default()
                } else {
                    value.clone()
                };
                if col < 1_000 {
                    if row.len() <= col {
                        row.resize(col + 1, String::new());
                    }
                    row[col] = text;
                }
            }
            Xml::Tag { name: "v" | "t", closing, empty, .. } => in_value = !closing && !empty,
            Xml::Text(s) if in_value => value.push_str(&decode_entities(s)),
            _ => {}
        }
    }
    let mut csv = csv::Writer::from_writer(Vec::new());
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for mut r in rows.into_iter().filter(|r| r.iter().any(|c| !c.trim().is_empty())) {
        r.resize(width, String::new());
        csv.write_record(&r).map_err(|e| invalid(format!("the sheet could not be read: {e}")))?;
    }
    let bytes = csv.into_inner().map_err(|e| invalid(format!("the sheet could not be read: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("the sheet is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_choose_the_reader() {
        assert_eq!(kind_for_file_name("Manual V2.PDF"), Some(SourceKind::Pdf));
        assert_eq!(kind_for_file_name("faq.xlsx"), Some(SourceKind::Xlsx));
        assert_eq!(kind_for_file_name("setup.exe"), None);
        assert_eq!(kind_for_file_name("README"), None);
    }

    #[test]
    fn cell_references_name_columns() {
        assert_eq!([column_of("A1"), column_of("C7"), column_of("Z2"), column_of("AA10")], [0, 2, 25, 26]);
    }

    #[test]
    fn xml_tokens_and_attributes() {
        let xml =
            r#"<?xml version="1.0"?><w:p><w:pStyle w:val="Heading2"/><!-- x --><w:t>A &amp; B</w:t></w:p>"#;
        let tokens: Vec<String> = xml_tokens(xml)
            .map(|t| match t {
                Xml::Tag { name, closing, raw, .. } => {
                    format!("{}{name}:{}", if closing { "/" } else { "" }, attr(raw, "w:val").unwrap_or(""))
                }
                Xml::Text(s) => s.to_string(),
            })
            .collect();
        assert_eq!(tokens, ["w:p:", "w:pStyle:Heading2", "w:t:", "A &amp; B", "/w:t:", "/w:p:"]);
    }
}
