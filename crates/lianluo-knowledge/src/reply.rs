//! How well a reply answers a question: a mined candidate (a customer's question and the agent's reply
//! that followed it) is scored by the same re-ranker that scores the knowledge base's sentences, with
//! the reply standing in for the passage that search would have found. The best sentence's calibrated
//! probability is the candidate's confidence, so that an admin reviews the likely answers first and a
//! reply that answers something else sinks to the bottom.

use std::{collections::HashMap, sync::Arc};

use lianluo_domain::WorkspaceId;
use lianluo_models::Embedder;

use crate::{
    Answerer, Hit,
    chunk::sentences,
    lang,
    rerank::{self, FEATURES, Question},
};

/// A reply's score against its question.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyScore {
    /// The probability that the reply answers the question (0 when the customer asked nothing).
    pub confidence: f32,
    /// The reply's sentence that answers best.
    pub sentence: String,
}

/// Whether a customer's turn asks something: a question mark, a question word, or a request. "Sent it,
/// order [number]" and "still not working..." ask nothing that a knowledge base could answer.
pub fn asks_something(text: &str) -> bool {
    let lower = format!(" {} ", text.to_lowercase());
    if text.contains(['?', '？']) || !rerank::asks(text).is_empty() {
        return true;
    }
    const EN: &[&str] = &[
        " what ",
        " which ",
        " how ",
        " why ",
        " when ",
        " where ",
        " who ",
        " is there ",
        " are there ",
        " do you ",
        " does ",
        " can ",
        " could ",
        " would ",
        " will ",
        " should ",
        " is it ",
        " i need ",
        " i want ",
        " i'd like ",
        " please ",
    ];
    const ZH: &[&str] = &[
        "吗", "呢", "什么", "哪", "怎么", "如何", "多少", "几", "是否", "能否", "可否", "请问", "想要",
        "需要", "麻烦", "帮我",
    ];
    EN.iter().any(|w| lower.contains(w)) || ZH.iter().any(|w| text.contains(w))
}

impl Answerer {
    /// Scores each (question, reply) pair with `embedder` and the workspace's word statistics, given the
    /// questions' vectors (`embed_queries`, which the caller also groups repeats with); `None` when the
    /// embedder failed. Each distinct reply text is embedded once.
    pub async fn score_replies(
        &self,
        ws: WorkspaceId,
        embedder: &Arc<dyn Embedder>,
        pairs: &[(String, String)],
        question_vectors: &[Vec<f32>],
    ) -> Option<Vec<ReplyScore>> {
        if question_vectors.len() != pairs.len() {
            return None;
        }
        // The reply's sentences, and the reply itself when it has several (it stands for the passage).
        let mut texts: Vec<String> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        let split: Vec<Vec<String>> = pairs
            .iter()
            .map(|(_, reply)| {
                let mut parts: Vec<String> = sentences(reply)
                    .into_iter()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                if parts.is_empty() {
                    parts.push(reply.trim().to_string());
                }
                parts
            })
            .collect();
        for ((_, reply), parts) in pairs.iter().zip(&split) {
            for t in parts.iter().chain(std::iter::once(reply)) {
                if !at.contains_key(t) {
                    at.insert(t.clone(), texts.len());
                    texts.push(t.clone());
                }
            }
        }
        let vectors = embedder.embed(&texts).await.ok()?;
        let cos = |q: &[f32], t: &str| -> f32 { q.iter().zip(&vectors[at[t]]).map(|(a, b)| a * b).sum() };
        let model = rerank::tuned_for(embedder.id()).model;
        let mut out = Vec::with_capacity(pairs.len());
        for (((question, reply), parts), qv) in pairs.iter().zip(&split).zip(question_vectors) {
            let terms = crate::index::terms(question);
            // A reply is read against its question even when the knowledge has none of its words yet
            // (a new workspace): then every word counts the same.
            let mut weights = self.index.term_weights(ws, &terms);
            if weights.iter().all(Option::is_none) {
                weights = vec![Some(1.0); terms.len()];
            }
            let q = Question {
                language: lang::detect(question),
                weights,
                terms,
                asks: rerank::asks(question),
                calibration: embedder.calibration(),
                best_bm25: 1.0,
                has_vector: true,
            };
            // The reply is read as the passage search ranked first.
            let hit =
                Hit { bm25_score: Some(1.0), similarity: Some(cos(qv, reply)), ..Hit::given("", reply) };
            let mut features: Vec<[f32; FEATURES]> =
                parts.iter().map(|s| rerank::features(&q, &hit, 1, s, Some(cos(qv, s)))).collect();
            rerank::relate(&mut features);
            let (best, logit) = features
                .iter()
                .map(|f| model.logit(f))
                .enumerate()
                .fold((0, f32::MIN), |acc, (i, l)| if l > acc.1 { (i, l) } else { acc });
            let confidence = if asks_something(question) { model.confidence(logit) } else { 0.0 };
            out.push(ReplyScore { confidence, sentence: parts[best].clone() });
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_that_ask_nothing_are_recognised() {
        for asks in
            ["防水吗", "Does it come with a charger in the box", "有哪些颜色可以选？", "I need a VAT invoice"]
        {
            assert!(asks_something(asks), "{asks}");
        }
        for says in ["发了，订单号[number]", "Still not working...", "Great, thank you!", "收到，辛苦了"]
        {
            assert!(!asks_something(says), "{says}");
        }
    }
}
