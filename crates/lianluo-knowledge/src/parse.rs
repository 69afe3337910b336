//! Reading a source's content into sections: a heading path and the paragraphs under it. Every reader is
//! linear in its input and fails with a reason an admin can act on.

use lianluo_domain::knowledge::SourceKind;

/// A part of a source under one heading path.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    /// Headings from the outermost in; the source's title first.
    pub headings: Vec<String>,
    pub paragraphs: Vec<String>,
    /// A question/answer entry: kept whole as one passage.
    pub qa: bool,
    /// The page the section came from, for a website.
    pub url: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("{0}")]
    Invalid(String),
}

/// Reads `content` as `kind`; `title` heads every section.
pub fn parse_source(kind: SourceKind, title: &str, content: &str) -> Result<Vec<Section>, ParseError> {
    // Invisible characters and full-width letters go first, so that no reader (nor the checks after it)
    // sees a word split or disguised by them.
    let content = &crate::guard::clean(content);
    let sections = match kind {
        SourceKind::Markdown | SourceKind::Pdf | SourceKind::Docx => markdown(title, content),
        SourceKind::Text => text(title, content),
        SourceKind::Html | SourceKind::Website => html(title, content),
        SourceKind::FaqCsv | SourceKind::Xlsx => faq_csv(title, content)?,
        SourceKind::Qa => qa(title, content),
    };
    let sections: Vec<Section> = sections.into_iter().filter(|s| !s.paragraphs.is_empty()).collect();
    if sections.is_empty() {
        return Err(ParseError::Invalid("no text found in the source".into()));
    }
    Ok(sections)
}

fn push_paragraph(section: &mut Section, buf: &mut String) {
    let p = buf.split_whitespace().collect::<Vec<_>>().join(" ");
    // Joining lines of Chinese text must not put spaces between characters.
    let p = join_cjk_lines(&p);
    if !p.is_empty() {
        section.paragraphs.push(p);
    }
    buf.clear();
}

/// Removes a space that only came from a line break between two Han characters.
fn join_cjk_lines(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' '
            && i > 0
            && i + 1 < chars.len()
            && crate::lang::is_cjk(chars[i - 1])
            && crate::lang::is_cjk(chars[i + 1])
        {
            continue;
        }
        out.push(c);
    }
    out
}

/// Drops inline Markdown: emphasis markers, code ticks, link targets and images.
fn inline_markdown(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '_' | '`' => {}
            '!' if chars.peek() == Some(&'[') => {}
            ']' if chars.peek() == Some(&'(') => {
                // Skip "(target)".
                for d in chars.by_ref() {
                    if d == ')' {
                        break;
                    }
                }
            }
            '[' => {}
            _ => out.push(c),
        }
    }
    out
}

fn markdown(title: &str, content: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut cur = Section { headings: vec![title.to_string()], ..Default::default() };
    let mut buf = String::new();
    let mut in_code = false;
    for raw in content.lines() {
        let line = raw.trim_end();
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let trimmed = line.trim_start();
        let level = trimmed.chars().take_while(|&c| c == '#').count();
        if !in_code && (1..=6).contains(&level) && trimmed[level..].starts_with(' ') {
            push_paragraph(&mut cur, &mut buf);
            sections.push(std::mem::take(&mut cur));
            let text = inline_markdown(trimmed[level..].trim());
            headings.retain(|(l, _)| *l < level);
            headings.push((level, text));
            cur.headings =
                std::iter::once(title.to_string()).chain(headings.iter().map(|(_, h)| h.clone())).collect();
            cur.headings.dedup();
            continue;
        }
        if trimmed.is_empty() || trimmed.chars().all(|c| matches!(c, '-' | '=' | '*' | '|' | ':' | ' ')) {
            push_paragraph(&mut cur, &mut buf);
            continue;
        }
        // List items and table rows are paragraphs of their own.
        let item = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
            .or_else(|| trimmed.strip_prefix("+ "));
        let is_row = trimmed.starts_with('|');
        if item.is_some() || is_row {
            push_paragraph(&mut cur, &mut buf);
            let text = item.unwrap_or(trimmed).trim_matches('|').replace('|', " · ");
            buf.push_str(&inline_markdown(&text));
            push_paragraph(&mut cur, &mut buf);
            continue;
        }
        if !buf.is_empty() {
            buf.push(' ');
        }
        buf.push_str(&inline_markdown(trimmed.trim_start_matches('>').trim()));
    }
    push_paragraph(&mut cur, &mut buf);
    sections.push(cur);
    sections
}

fn text(title: &str, content: &str) -> Vec<Section> {
    let mut cur = Section { headings: vec![title.to_string()], ..Default::default() };
    let mut buf = String::new();
    for line in content.lines() {
        if line.trim().is_empty() {
            push_paragraph(&mut cur, &mut buf);
        } else {
            buf.push(' ');
            buf.push_str(line.trim());
        }
    }
    push_paragraph(&mut cur, &mut buf);
    vec![cur]
}

fn qa(title: &str, content: &str) -> Vec<Section> {
    let mut s = Section { headings: vec![title.to_string()], qa: true, ..Default::default() };
    let answer = content.split_whitespace().collect::<Vec<_>>().join(" ");
    if !answer.is_empty() {
        s.paragraphs.push(answer);
    }
    vec![s]
}

fn faq_csv(title: &str, content: &str) -> Result<Vec<Section>, ParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(content.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().map_err(|e| ParseError::Invalid(format!("not a CSV table: {e}")))?.clone();
    let find =
        |names: &[&str]| headers.iter().position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)));
    let q = find(&["question", "q", "问题", "问"]);
    let a = find(&["answer", "a", "答案", "回答", "答"]);
    let Some(q) = q else {
        return Err(ParseError::Invalid(
            "the table needs a question column (question or 问题), and usually an answer column (answer or 答案)"
                .into(),
        ));
    };
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| ParseError::Invalid(format!("row {}: {e}", i + 2)))?;
        let question = row.get(q).unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
        let answer =
            a.and_then(|a| row.get(a)).unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
        if question.is_empty() {
            continue;
        }
        out.push(if answer.is_empty() {
            // A question without an answer (a question bank): matched as it is, under the table's title.
            Section { headings: vec![title.to_string()], paragraphs: vec![question], qa: true, url: None }
        } else {
            Section {
                headings: vec![title.to_string(), question],
                paragraphs: vec![answer],
                qa: true,
                url: None,
            }
        });
    }
    if out.is_empty() {
        return Err(ParseError::Invalid("the table has no rows with a question".into()));
    }
    Ok(out)
}

/// Reads HTML without building a tree: drops scripts, styles and tags, keeps headings (h1-h6) as section
/// breaks and block elements as paragraph breaks, decodes common entities.
fn html(title: &str, content: &str) -> Vec<Section> {
    // Text a browser would not show (hidden elements, comments) is a known way to plant instructions.
    let visible = crate::guard::strip_hidden_html(content);
    let content = visible.as_str();
    let mut md = String::with_capacity(content.len() / 2);
    let lower = content.to_ascii_lowercase();
    let bytes = content.as_bytes();
    let mut i = 0;
    let mut heading_open = false;
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let Some(end) = content[i..].find('>').map(|e| i + e) else { break };
            let tag = lower[i + 1..end]
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("");
            let closing = lower[i + 1..].starts_with('/');
            if !closing && matches!(tag, "script" | "style" | "noscript" | "template" | "svg" | "head") {
                let close = format!("</{tag}");
                i = lower[end..].find(&close).map(|c| end + c).unwrap_or(bytes.len());
                continue;
            }
            if tag.starts_with("!--") {
                i = lower[i..].find("-->").map(|c| i + c + 3).unwrap_or(bytes.len());
                continue;
            }
            match tag {
                "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                    if closing {
                        heading_open = false;
                        md.push('\n');
                    } else {
                        heading_open = true;
                        let level = tag[1..].parse::<usize>().unwrap_or(1);
                        md.push_str("\n\n");
                        md.push_str(&"#".repeat(level));
                        md.push(' ');
                    }
                }
                "p" | "div" | "section" | "article" | "br" | "tr" | "table" | "ul" | "ol" | "dl" | "dd"
                | "dt" | "blockquote" | "main" | "header" | "footer" | "nav" | "aside" => md.push_str("\n\n"),
                "li" if !closing => md.push_str("\n- "),
                "td" | "th" => md.push(' '),
                _ => {}
            }
            i = end + 1;
            continue;
        }
        let next = content[i..].find('<').map(|n| i + n).unwrap_or(bytes.len());
        let chunk = decode_entities(&content[i..next]);
        if heading_open {
            md.push_str(&chunk.replace('\n', " "));
        } else {
            md.push_str(&chunk);
        }
        i = next;
    }
    markdown(title, &md.replace(['*', '_', '`'], ""))
}

pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let Some(end) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" => Some(' '),
            n if n.starts_with("#x") || n.starts_with("#X") => {
                u32::from_str_radix(&n[2..], 16).ok().and_then(char::from_u32)
            }
            n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_heading_paths_and_lists() {
        let s = parse_source(
            SourceKind::Markdown,
            "Manual",
            "# AirBeat 2\nIntro line one\nline two.\n\n## Pairing\n- Hold the button for **3 s**.\n- See [the app](https://x.example).\n\n## 保修\n保修期为\n一年。",
        )
        .unwrap();
        assert_eq!(s[0].headings, ["Manual", "AirBeat 2"]);
        assert_eq!(s[0].paragraphs, ["Intro line one line two."]);
        assert_eq!(s[1].headings, ["Manual", "AirBeat 2", "Pairing"]);
        assert_eq!(s[1].paragraphs, ["Hold the button for 3 s.", "See the app."]);
        assert_eq!(s[2].paragraphs, ["保修期为一年。"]);
    }

    #[test]
    fn html_drops_scripts_and_keeps_headings() {
        let s = parse_source(
            SourceKind::Html,
            "Page",
            "<html><head><title>x</title><script>alert('x<y')</script></head><body><h2>Shipping &amp; returns</h2>\
             <p>Free over &yen;99 &#x2014; fast.</p><!-- hidden --><ul><li>One</li><li>Two</li></ul></body></html>",
        )
        .unwrap();
        assert_eq!(s[0].headings, ["Page", "Shipping & returns"]);
        assert_eq!(s[0].paragraphs, ["Free over &yen;99 — fast.", "One", "Two"]);
    }

    #[test]
    fn faq_tables_need_their_columns() {
        let s = parse_source(SourceKind::FaqCsv, "FAQ", "\u{feff}问题,答案\n怎么退货？,30天内可退。\n,\n")
            .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].headings[1].as_str(), s[0].qa), ("怎么退货？", true));
        let e = parse_source(SourceKind::FaqCsv, "FAQ", "a,b,c\n1,2,3").unwrap_err();
        assert!(e.to_string().contains("question column"));
        assert!(parse_source(SourceKind::Text, "T", " \n\n ").is_err());
        // A question bank: questions without answers (or without an answer column) are kept as they are.
        let bank =
            parse_source(SourceKind::FaqCsv, "Bank", "question\nHow do I reset it?\n\nWhere is my parcel?\n")
                .unwrap();
        assert_eq!(bank.len(), 2);
        assert_eq!(
            (bank[0].headings.as_slice(), bank[0].paragraphs[0].as_str()),
            (&["Bank".to_string()][..], "How do I reset it?")
        );
        let mixed = parse_source(SourceKind::FaqCsv, "FAQ", "question,answer\nA?,Yes.\nB?,\n").unwrap();
        assert_eq!(mixed[1].paragraphs, ["B?"]);
    }
}
