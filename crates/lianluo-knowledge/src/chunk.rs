//! Cutting sections into passages small enough for the embedder and a citation, big enough to answer:
//! paragraphs are merged up to a budget; a long paragraph is split at sentence ends (。！？；.!?), and
//! only a sentence longer than the budget is cut inside.

use crate::{lang::estimate_tokens, parse::Section};

/// Most estimated tokens of a passage's text (the embedder reads 256; the heading goes in front).
pub const MAX_TOKENS: usize = 160;

/// A passage ready to be embedded and indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkText {
    /// The headings above, joined with " › ".
    pub heading: String,
    pub text: String,
    /// A question and its answer written by a person.
    pub curated: bool,
    /// The page the passage came from, for a website.
    pub url: Option<String>,
}

impl ChunkText {
    /// What the embedder and the full-text index read: heading and text together.
    pub fn indexed_text(&self) -> String {
        format!("{}\n{}", self.heading, self.text)
    }
}

/// Splits text after sentence-ending punctuation, keeping the punctuation.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '。' | '！' | '？' | '；' | '!' | '?' => true,
            // A period ends a sentence only before a space or the end ("3.5 mm" and "v2.1" do not).
            '.' => chars.peek().is_none_or(|&(_, n)| n.is_whitespace()),
            _ => false,
        };
        if end {
            // Closing quotes and brackets belong to the sentence they close.
            let mut stop = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if matches!(n, '」' | '”' | '"' | '\'' | ')' | '）' | '』') {
                    stop = j + n.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let s = text[start..stop].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = stop;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Cuts a sentence longer than the budget into pieces at whitespace or between characters.
fn hard_split(s: &str, budget: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for piece in s.split_inclusive(|c: char| c.is_whitespace() || crate::lang::is_cjk(c)) {
        if !cur.is_empty() && estimate_tokens(&cur) + estimate_tokens(piece) > budget {
            out.push(std::mem::take(&mut cur).trim().to_string());
        }
        cur.push_str(piece);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn joiner(a: &str, b: &str) -> &'static str {
    let cjk_edge = a.chars().last().is_some_and(crate::lang::is_cjk)
        || b.chars().next().is_some_and(crate::lang::is_cjk);
    if cjk_edge { "" } else { " " }
}

/// Turns sections into passages.
pub fn chunk_sections(sections: &[Section]) -> Vec<ChunkText> {
    chunk_sections_with(sections, MAX_TOKENS)
}

pub fn chunk_sections_with(sections: &[Section], budget: usize) -> Vec<ChunkText> {
    let mut out = Vec::new();
    for section in sections {
        let heading = section.headings.join(" › ");
        if section.qa {
            // A question and its answer stay together even when long: cutting would separate them.
            for p in &section.paragraphs {
                out.push(ChunkText {
                    heading: heading.clone(),
                    text: p.clone(),
                    curated: true,
                    url: section.url.clone(),
                });
            }
            continue;
        }
        let mut units: Vec<(String, bool)> = Vec::new(); // (text, starts a paragraph)
        for p in &section.paragraphs {
            if estimate_tokens(p) <= budget {
                units.push((p.clone(), true));
                continue;
            }
            let mut first = true;
            for s in sentences(p) {
                if estimate_tokens(s) <= budget {
                    units.push((s.to_string(), first));
                } else {
                    for h in hard_split(s, budget) {
                        units.push((h, first));
                        first = false;
                    }
                }
                first = false;
            }
        }
        let mut cur = String::new();
        for (u, para) in units {
            if !cur.is_empty() && estimate_tokens(&cur) + estimate_tokens(&u) > budget {
                out.push(ChunkText {
                    heading: heading.clone(),
                    text: std::mem::take(&mut cur),
                    curated: false,
                    url: section.url.clone(),
                });
            }
            if !cur.is_empty() {
                cur.push_str(if para { "\n" } else { joiner(&cur, &u) });
            }
            cur.push_str(&u);
        }
        if !cur.is_empty() {
            out.push(ChunkText { heading, text: cur, curated: false, url: section.url.clone() });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_end_at_chinese_and_english_marks() {
        assert_eq!(
            sentences("退货需在30天内申请。运费谁付？我们承担！Version 2.1 adds ANC. Done"),
            ["退货需在30天内申请。", "运费谁付？", "我们承担！", "Version 2.1 adds ANC.", "Done"]
        );
        assert_eq!(sentences("他说：“好的。”然后走了。"), ["他说：“好的。”", "然后走了。"]);
    }

    #[test]
    fn long_paragraphs_split_at_sentences_and_small_ones_merge() {
        let long = "这是一个很长的句子，用来测试分块是否在句号处切开。".repeat(12);
        let sections = vec![Section {
            headings: vec!["T".into(), "H".into()],
            paragraphs: vec!["Short one.".into(), "Short two.".into(), long.clone()],
            ..Default::default()
        }];
        let chunks = chunk_sections_with(&sections, 60);
        assert!(chunks.len() >= 3, "{chunks:?}");
        assert_eq!(chunks[0].heading, "T › H");
        assert!(chunks[0].text.starts_with("Short one.\nShort two."));
        for c in &chunks {
            assert!(estimate_tokens(&c.text) <= 60, "{}", c.text);
            assert!(c.text.ends_with('。') || c.text.ends_with('.'), "cut at a sentence end: {}", c.text);
        }
        let joined: String = chunks.iter().map(|c| c.text.replace('\n', "")).collect();
        assert_eq!(joined, format!("Short one.Short two.{long}"), "nothing lost");
    }

    #[test]
    fn a_sentence_without_ends_is_cut_inside() {
        let s =
            Section { headings: vec!["T".into()], paragraphs: vec!["字".repeat(500)], ..Default::default() };
        let chunks = chunk_sections_with(&[s], 100);
        assert_eq!(chunks.len(), 5);
        assert!(chunks.iter().all(|c| c.text.chars().count() == 100));
    }
}
