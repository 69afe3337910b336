//! Mining a resolved conversation for question/answer candidates: what the customer asked and what an
//! agent answered. The candidates only count once an admin approves them; mining keeps the ones worth an
//! admin's look (a real question, a substantive answer), drops greetings, thanks and one-word turns, and
//! hides order numbers, phone numbers and email addresses.

use crate::lang::{Lang, detect, is_cjk};

/// One turn of a conversation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn<'a> {
    Customer(&'a str),
    /// An agent's reply to the customer (not a note, not the AI agent), with its position in the thread.
    Agent(&'a str, usize),
    /// Anything else (the AI agent, notes, system lines): it does not break a question from its answer.
    Other,
}

/// A mined pair.
#[derive(Debug, Clone, PartialEq)]
pub struct MinedPair {
    pub question: String,
    pub answer: String,
    /// Position of the agent's (first) reply in the thread.
    pub reply_at: usize,
    pub language: Lang,
}

/// Longest question kept, in characters (longer customer turns are cut at the end).
const MAX_QUESTION_CHARS: usize = 1_000;
/// Longest answer kept, in characters.
const MAX_ANSWER_CHARS: usize = 4_000;

/// "Words" of a text: Han characters count one each, other runs of letters and digits one each.
fn weight(text: &str) -> usize {
    let han = text.chars().filter(|c| is_cjk(*c)).count();
    let words = text.split(|c: char| !c.is_alphanumeric() || is_cjk(c)).filter(|w| !w.is_empty()).count();
    han + words
}

/// Greetings, thanks and acknowledgements that carry no question or answer.
fn is_small_talk(text: &str) -> bool {
    let t: String = text
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || is_cjk(*c) || c.is_whitespace())
        .collect();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    const PHRASES: &[&str] = &[
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank you",
        "thx",
        "ok",
        "okay",
        "great",
        "bye",
        "goodbye",
        "good",
        "yes",
        "no",
        "sure",
        "got it",
        "cool",
        "thanks a lot",
        "thank you very much",
        "perfect",
        "你好",
        "您好",
        "谢谢",
        "多谢",
        "好的",
        "好",
        "嗯",
        "嗯嗯",
        "收到",
        "再见",
        "在吗",
        "在",
        "是的",
        "对",
        "没有了",
        "不客气",
        "谢谢你",
        "好的谢谢",
        "ok谢谢",
        "hi there",
        "you're welcome",
        "youre welcome",
        "anything else",
    ];
    t.is_empty() || PHRASES.contains(&t.as_str())
}

/// Hides what belongs to one customer (order and phone numbers, email addresses) so that a candidate
/// reads as the general question it is: "[number]", "[email]".
pub fn redact(text: &str) -> String {
    let mut out = Vec::new();
    for word in text.split(' ') {
        let (head, rest): (String, String) = {
            // Keep leading and trailing punctuation around the word.
            let start = word.find(|c: char| c.is_alphanumeric()).unwrap_or(word.len());
            let end = word
                .rfind(|c: char| c.is_alphanumeric())
                .map(|e| e + word[e..].chars().next().map_or(1, char::len_utf8))
                .unwrap_or(start);
            (word[..start].to_string(), word[end.max(start)..].to_string())
        };
        let core = &word[head.len()..word.len() - rest.len()];
        let replaced = if core.contains('@') && core.contains('.') {
            "[email]".to_string()
        } else {
            redact_numbers(core)
        };
        out.push(format!("{head}{replaced}{rest}"));
    }
    out.join(" ")
}

/// Replaces runs of six or more digits (with the letters stuck to their front, as in "LM28284642") by
/// "[number]".
fn redact_numbers(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '-') {
                j += 1;
            }
            let digits = chars[i..j].iter().filter(|c| c.is_ascii_digit()).count();
            if digits >= 6 {
                // Letters right before the digits belong to the number ("LM" in "LM28284642").
                while out.ends_with(|c: char| c.is_ascii_alphabetic() || c == '-') {
                    out.pop();
                }
                out.push_str("[number]");
            } else {
                out.extend(&chars[i..j]);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn join(parts: &[&str]) -> String {
    let mut out = String::new();
    for p in parts {
        let p = p.split_whitespace().collect::<Vec<_>>().join(" ");
        if p.is_empty() {
            continue;
        }
        if !out.is_empty() {
            let cjk_edge = out.chars().last().is_some_and(is_cjk) || p.chars().next().is_some_and(is_cjk);
            out.push_str(if cjk_edge { "" } else { " " });
        }
        out.push_str(&p);
    }
    out
}

/// The question/answer pairs of one conversation.
pub fn mine(turns: &[Turn<'_>]) -> Vec<MinedPair> {
    let mut out = Vec::new();
    let mut asked: Vec<&str> = Vec::new();
    let mut answer: Vec<&str> = Vec::new();
    let mut reply_at = 0;
    let flush = |asked: &mut Vec<&str>, answer: &mut Vec<&str>, reply_at: usize, out: &mut Vec<MinedPair>| {
        if !asked.is_empty() && !answer.is_empty() {
            let question: String = redact(&join(asked)).chars().take(MAX_QUESTION_CHARS).collect();
            let a: String = redact(&join(answer)).chars().take(MAX_ANSWER_CHARS).collect();
            if weight(&question) >= 3 && weight(&a) >= 5 {
                out.push(MinedPair { language: detect(&question), question, answer: a, reply_at });
            }
        }
        asked.clear();
        answer.clear();
    };
    for turn in turns {
        match *turn {
            Turn::Customer(text) => {
                if !answer.is_empty() {
                    flush(&mut asked, &mut answer, reply_at, &mut out);
                }
                if !is_small_talk(text) {
                    asked.push(text);
                }
            }
            Turn::Agent(text, at) => {
                if asked.is_empty() || is_small_talk(text) {
                    continue;
                }
                if answer.is_empty() {
                    reply_at = at;
                }
                answer.push(text);
            }
            Turn::Other => {}
        }
    }
    flush(&mut asked, &mut answer, reply_at, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_questions_with_the_agent_replies_that_follow() {
        let turns = [
            Turn::Customer("hi"),
            Turn::Agent("Hello! How can I help?", 1),
            Turn::Customer("Can I return headphones I opened?"),
            Turn::Customer("They were a gift"),
            Turn::Other,
            Turn::Agent("Yes, opened items can be returned within 30 days", 5),
            Turn::Agent("if nothing is missing from the box.", 6),
            Turn::Customer("thanks"),
            Turn::Agent("You're welcome", 8),
            Turn::Customer("发票怎么开？"),
            Turn::Agent("下单时在结算页填写发票抬头即可，电子发票会发到您的邮箱。", 10),
        ];
        let pairs = mine(&turns);
        assert_eq!(pairs.len(), 2, "{pairs:?}");
        assert_eq!(pairs[0].question, "Can I return headphones I opened? They were a gift");
        assert_eq!(
            pairs[0].answer,
            "Yes, opened items can be returned within 30 days if nothing is missing from the box."
        );
        assert_eq!((pairs[0].reply_at, pairs[0].language), (5, Lang::En));
        assert_eq!((pairs[1].question.as_str(), pairs[1].language), ("发票怎么开？", Lang::Zh));
    }

    #[test]
    fn one_customers_details_are_hidden() {
        assert_eq!(redact("订单号LM28284642，今天就要给我换新的"), "订单号[number]，今天就要给我换新的");
        assert_eq!(
            redact("Order LM-2828-4642 (mail me at chen.jing@example.com), or call 13800138000."),
            "Order [number] (mail me at [email]), or call [number]."
        );
        assert_eq!(
            redact("The 65W charger fits USB-C 3.1 and costs 159 yuan"),
            "The 65W charger fits USB-C 3.1 and costs 159 yuan"
        );
    }

    #[test]
    fn greetings_and_one_word_answers_are_dropped() {
        let turns = [Turn::Customer("hello"), Turn::Agent("Hi there, what can I do for you today?", 1)];
        assert!(mine(&turns).is_empty());
        let turns = [Turn::Customer("Is the store open on Sunday?"), Turn::Agent("Yes.", 1)];
        assert!(mine(&turns).is_empty(), "too short to teach anything");
    }
}
