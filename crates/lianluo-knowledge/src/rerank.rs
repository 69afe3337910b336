//! Re-ranking: every sentence of the best passages is scored against the question by a small logistic
//! model, whose output is the probability that the sentence answers it. Its features are what a reader
//! would weigh: how close in meaning the passage and the sentence are (the embedder's cosine, read on the
//! embedder's own scale), how many of the question's telling words they contain (weighted by the
//! workspace's own statistics), where the fused search ranked the passage, and whether the sentence states
//! the kind of thing the question asks for ("how long" wants a duration, "can I" a rule, "how do I" a
//! step). The weights are fitted on our own training questions (`eval/kb-lumio-train.jsonl`, never the
//! test set) by `lianluo eval kb --fit`, and then scaled once more (Platt) so that the best sentence's
//! probability reads as the chance that the answer is right.

use lianluo_models::Calibration;

use crate::{
    index::{Hit, terms},
    lang::{self, Lang},
};

/// Number of features a candidate sentence is described by.
pub const FEATURES: usize = 13;

/// The features' names, in order (for `lianluo eval kb --fit` and its report).
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "passage cosine (scaled)",
    "sentence cosine (scaled)",
    "passage covers the question's words",
    "sentence covers the question's words",
    "BM25 score / best BM25 score",
    "1 / fused rank",
    "sentence states what the question asks for",
    "written by a person (Q&A)",
    "same language as the question",
    "searched by words only",
    "sentence cosine − the best candidate's",
    "sentence coverage − the best candidate's",
    "heaviest question word the sentence and its headings lack",
];

/// What a question asks for, from its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asks {
    Duration,
    Price,
    Permission,
    Steps,
    Time,
    Place,
}

const ASKS: &[(Asks, &[&str], &[&str])] = &[
    (
        Asks::Duration,
        &[
            "how long",
            "how many days",
            "how many hours",
            "how many weeks",
            "how many months",
            "how soon",
            "how quickly",
        ],
        &["多久", "多长时间", "几天", "多少天", "几个小时", "多少小时", "多长", "几个月", "多少年", "几年"],
    ),
    (
        Asks::Price,
        &["how much", "price", "cost", "fee", "charge", "pay for"],
        &["多少钱", "价格", "费用", "收费", "钱", "贵", "价"],
    ),
    (
        Asks::Permission,
        &[
            "can i",
            "can you",
            "may i",
            "is it possible",
            "allowed",
            "do you accept",
            "do you support",
            "is it ok",
            "am i able",
            "could i",
        ],
        &["能不能", "可不可以", "可以", "能否", "能吗", "允许", "支持", "行不行", "行吗", "能", "可否"],
    ),
    (
        Asks::Steps,
        &["how do i", "how to", "how can i", "what should i do", "what do i do", "steps", "how do you"],
        &["怎么", "如何", "怎样", "怎么办", "步骤", "咋", "方法"],
    ),
    (Asks::Time, &["when ", "what time", "what day"], &["什么时候", "何时", "几点", "哪天"]),
    (Asks::Place, &["where"], &["哪里", "在哪", "哪儿", "什么地方"]),
];

/// The kinds of thing a question asks for (none for "what is your return policy").
pub fn asks(question: &str) -> Vec<Asks> {
    let lower = format!("{} ", question.to_lowercase());
    ASKS.iter()
        .filter(|(_, en, zh)| en.iter().any(|p| lower.contains(p)) || zh.iter().any(|p| question.contains(p)))
        .map(|(a, _, _)| *a)
        .collect()
}

fn has_number_then(s: &str, units: &[&str]) -> bool {
    let lower = s.to_lowercase();
    let chars: Vec<(usize, char)> = lower.char_indices().collect();
    for (n, &(i, c)) in chars.iter().enumerate() {
        let digit_end = (c.is_ascii_digit() || "一二两三四五六七八九十百半".contains(c))
            && chars.get(n + 1).is_none_or(|(_, d)| !d.is_ascii_digit());
        if digit_end {
            let rest = lower[i + c.len_utf8()..].trim_start_matches([' ', '-', '+', ',']);
            if units.iter().any(|u| rest.starts_with(u)) {
                return true;
            }
        }
    }
    false
}

const DURATION_UNITS: &[&str] = &[
    "second",
    "minute",
    "min",
    "hour",
    "h ",
    "hr",
    "day",
    "week",
    "month",
    "year",
    "business day",
    "working day",
    "秒",
    "分钟",
    "小时",
    "个小时",
    "天",
    "日",
    "周",
    "星期",
    "个月",
    "月",
    "年",
    "个工作日",
    "工作日",
];

/// Whether a sentence states the kind of thing asked for.
fn states(sentence: &str, asks: Asks) -> bool {
    let l = sentence.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| l.contains(w));
    match asks {
        Asks::Duration => {
            has_number_then(sentence, DURATION_UNITS)
                || any(&["within", "内", "以内", "at once", "immediately", "立即", "当天"])
        }
        Asks::Price => any(&[
            "¥", "$", "yuan", "rmb", "元", "free", "免费", "fee", "cost", "costs", "price", "费", "价",
            "off", "discount", "折",
        ]),
        Asks::Permission => any(&[
            "can ",
            "cannot",
            "can't",
            "may ",
            "allowed",
            "not allowed",
            "must",
            "only",
            "permitted",
            "accept",
            "support",
            "eligible",
            "not ",
            "no ",
            "可以",
            "不能",
            "允许",
            "禁止",
            "支持",
            "不支持",
            "须",
            "只",
            "接受",
            "可",
            "不",
            "无法",
            "能",
        ]),
        Asks::Steps => any(&[
            "tap", "press", "hold", "open", "go to", "select", "click", "enter", "turn", "reset", "contact",
            "send", "choose", "put", "place", "charge", "update", "pair", "sign", "fill", "点击", "长按",
            "按住", "打开", "进入", "选择", "前往", "联系", "发送", "放入", "重置", "点", "按", "填写",
            "登录", "更新", "配对", "充电", ">", "›",
        ]),
        Asks::Time => {
            has_number_then(sentence, DURATION_UNITS)
                || any(&[
                    "after",
                    "before",
                    "within",
                    "when",
                    "until",
                    "后",
                    "前",
                    "内",
                    "时",
                    "工作日",
                    "点",
                ])
        }
        Asks::Place => any(&[
            " at ", " in ", "address", "store", "page", "menu", "under", ">", "›", "在", "页面", "地址",
            "门店", "设置", "网点", "中心",
        ]),
    }
}

/// +1 when the sentence states everything the question asks for, −1 when it states none of it, 0 when
/// the question asks for nothing in particular; in between when it asks for several things.
pub fn type_match(asks: &[Asks], sentence: &str) -> f32 {
    if asks.is_empty() {
        return 0.0;
    }
    let hit = asks.iter().filter(|a| states(sentence, **a)).count() as f32;
    2.0 * hit / asks.len() as f32 - 1.0
}

/// How much of the question a text covers, 0 to 1: the share of the question's words found in it, each
/// weighted by how telling it is in the workspace. Words none of the workspace's passages contain
/// (paraphrases, or things the knowledge does not cover) count at 0.6 of the average weight; when no
/// word of the question is known at all the knowledge has nothing on it. A Chinese word counts half when
/// all its characters appear in the text.
pub fn coverage(query_terms: &[String], weights: &[Option<f32>], text: &str) -> f32 {
    let known: Vec<f32> = weights.iter().flatten().copied().collect();
    if known.is_empty() {
        return 0.0;
    }
    let text_terms = terms(text);
    let unknown_weight = 0.6 * known.iter().sum::<f32>() / known.len() as f32;
    let (mut total, mut found) = (0.0, 0.0);
    for (t, w) in query_terms.iter().zip(weights) {
        let w = w.unwrap_or(unknown_weight);
        total += w;
        if text_terms.iter().any(|p| p == t) {
            found += w;
        } else if t.chars().count() >= 2 && t.chars().all(|c| lang::is_cjk(c) && text.contains(c)) {
            found += w * 0.5;
        }
    }
    if total > 0.0 { found / total } else { 0.0 }
}

/// The most telling word of the question that `text` lacks, as a share of the question's most telling
/// word (0: every word is there; 1: the most telling one is missing). An unanswerable question about a
/// covered product usually shares all but one telling word with the closest sentence ("does the power
/// bank support *wireless* charging?").
pub fn missing(query_terms: &[String], weights: &[Option<f32>], text: &str) -> f32 {
    let known: Vec<f32> = weights.iter().flatten().copied().collect();
    if known.is_empty() {
        return 1.0;
    }
    let unknown_weight = 0.6 * known.iter().sum::<f32>() / known.len() as f32;
    let text_terms = terms(text);
    let (mut heaviest, mut lacking) = (0.0f32, 0.0f32);
    for (t, w) in query_terms.iter().zip(weights) {
        let w = w.unwrap_or(unknown_weight);
        heaviest = heaviest.max(w);
        let found = text_terms.iter().any(|p| p == t)
            || (t.chars().count() >= 2 && t.chars().all(|c| lang::is_cjk(c) && text.contains(c)));
        if !found {
            lacking = lacking.max(w);
        }
    }
    if heaviest > 0.0 { lacking / heaviest } else { 0.0 }
}

/// What is known about the question, computed once for all its candidates.
pub struct Question {
    pub language: Lang,
    pub terms: Vec<String>,
    pub weights: Vec<Option<f32>>,
    pub asks: Vec<Asks>,
    pub calibration: Calibration,
    /// The best BM25 score among the candidates.
    pub best_bm25: f32,
    /// Whether the question was searched with a vector (false: by words only).
    pub has_vector: bool,
}

/// A cosine on the embedder's own scale: 0 at the typical best cosine of an unrelated passage, 1 at that of
/// an answering one; bounded to [-2, 3] so that one odd value cannot dominate.
fn scaled(c: &Calibration, cosine: Option<f32>) -> f32 {
    match cosine {
        Some(x) => c.scale(x).clamp(-2.0, 3.0),
        None => 0.0,
    }
}

/// The features of sentence `sentence` of passage `hit`, which the fused search ranked `rank` (from 1);
/// `sentence_cosine` is the sentence's own cosine to the question when it was embedded.
pub fn features(
    q: &Question,
    hit: &Hit,
    rank: usize,
    sentence: &str,
    sentence_cosine: Option<f32>,
) -> [f32; FEATURES] {
    let mut multilingual_factor = 1.0;
    if q.language == Lang::Zh && !q.calibration.multilingual {
        multilingual_factor = 0.5;
    }
    let passage_cos = scaled(&q.calibration, hit.similarity) * multilingual_factor;
    let sentence_cos = match sentence_cosine {
        Some(_) => scaled(&q.calibration, sentence_cosine) * multilingual_factor,
        None => passage_cos,
    };
    // The passage is read with its headings (they say which product and topic); a sentence alone, since
    // its passage's headings are the same for each of its sentences and cannot tell them apart.
    let passage_text = format!("{}\n{}", hit.heading, hit.text);
    let sentence_text = sentence;
    [
        passage_cos,
        sentence_cos,
        coverage(&q.terms, &q.weights, &passage_text),
        coverage(&q.terms, &q.weights, sentence_text),
        match hit.bm25_score {
            Some(s) if q.best_bm25 > 0.0 => s / q.best_bm25,
            _ => 0.0,
        },
        1.0 / rank as f32,
        type_match(&q.asks, sentence),
        if hit.curated { 1.0 } else { 0.0 },
        if lang::detect(&hit.text) == q.language { 1.0 } else { 0.0 },
        if q.has_vector { 0.0 } else { 1.0 },
        // Filled in by `relate` once every candidate is scored.
        0.0,
        0.0,
        missing(&q.terms, &q.weights, &format!("{}\n{}", hit.heading, sentence_text)),
    ]
}

/// Fills in the features that compare a candidate with the best of all candidates of its question: what
/// makes a sentence the answer is often that it fits better than the others.
pub fn relate(all: &mut [[f32; FEATURES]]) {
    let best = |i: usize| all.iter().map(|f| f[i]).fold(f32::MIN, f32::max);
    let (cos, cov) = (best(1), best(3));
    for f in all.iter_mut() {
        f[10] = f[1] - cos;
        f[11] = f[3] - cov;
    }
}

/// A fitted logistic model and the Platt scaling that turns its best score into a calibrated
/// probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    pub weights: [f32; FEATURES],
    pub bias: f32,
    /// `p = σ(a · logit + b)` for the best sentence of a question.
    pub platt: (f32, f32),
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    /// The model's score for a candidate (a logit): higher is more likely to answer.
    pub fn logit(&self, f: &[f32; FEATURES]) -> f32 {
        self.bias + self.weights.iter().zip(f).map(|(w, x)| w * x).sum::<f32>()
    }

    /// The calibrated probability that the best candidate, with this logit, answers the question.
    pub fn confidence(&self, logit: f32) -> f32 {
        sigmoid(self.platt.0 * logit + self.platt.1)
    }

    /// Fits the weights by gradient descent on the log-loss with a small L2 penalty, over every candidate
    /// sentence (`true`: it answers), then the Platt scaling over each question's best candidate
    /// (`true`: the answer it gives is right).
    pub fn fit(
        candidates: &[([f32; FEATURES], bool)],
        best_of_each: impl Fn(&Model) -> Vec<(f32, bool)>,
    ) -> Model {
        let mut m = Model { weights: [0.0; FEATURES], bias: 0.0, platt: (1.0, 0.0) };
        let n = candidates.len().max(1) as f32;
        let positives = candidates.iter().filter(|c| c.1).count().max(1) as f32;
        // Positives are rare (one sentence among dozens): weigh the classes equally.
        let pos_weight = (n - positives) / positives;
        for step in 0..4_000 {
            let lr = if step < 2_000 { 0.5 } else { 0.1 };
            let (mut gw, mut gb) = ([0f32; FEATURES], 0f32);
            let mut total_weight = 0.0;
            for (f, y) in candidates {
                let w = if *y { pos_weight } else { 1.0 };
                let err = (sigmoid(m.logit(f)) - f32::from(u8::from(*y))) * w;
                for (g, x) in gw.iter_mut().zip(f) {
                    *g += err * x;
                }
                gb += err;
                total_weight += w;
            }
            for (w, g) in m.weights.iter_mut().zip(gw) {
                *w -= lr * (g / total_weight + 1e-3 * *w);
            }
            m.bias -= lr * gb / total_weight;
        }
        let best = best_of_each(&m);
        let (mut a, mut b) = (1.0f32, 0.0f32);
        for _ in 0..4_000 {
            let (mut ga, mut gb) = (0.0, 0.0);
            for (x, y) in &best {
                let err = sigmoid(a * x + b) - f32::from(u8::from(*y));
                ga += err * x;
                gb += err;
            }
            let k = best.len().max(1) as f32;
            a -= 0.2 * ga / k;
            b -= 0.2 * gb / k;
        }
        m.platt = (a, b);
        m
    }
}

/// The feature that says a candidate is an entry a person wrote (a question/answer row, a correction).
pub const CURATED: usize = 7;

/// How much an entry a person wrote is preferred to a passage that fits as well. The training set has no
/// such entries, so this is set by hand, and it only orders candidates: it does not raise the confidence,
/// which nothing measured would support (given to the confidence, it took BANKING77's answers given wrong
/// from 10% to 18%, see EVALUATION.md).
pub const CURATED_PREFERENCE: f32 = 1.0;

/// What is fitted per embedder: the re-ranker and the fusion weights of the vector list (the word list's
/// weight is 1), per language for passages of documents, and for entries a person wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuned {
    pub model: Model,
    pub vector_weight_en: f32,
    pub vector_weight_zh: f32,
    /// Fitted on our FAQ training set (`lianluo eval faq … eval/faq-lumio/train.jsonl --fit`).
    pub vector_weight_entries: f32,
}

/// Fitted for the default embedder (multilingual-e5-small) on `eval/kb-lumio-train.jsonl`.
pub const E5_SMALL: Tuned = Tuned {
    model: Model {
        // The training set has no question/answer entries, so their weight (the eighth) is 0: such an entry
        // is preferred by `CURATED_PREFERENCE` instead, in the order only.
        weights: [
            -0.5436, 1.0144, 0.3703, 1.2313, 0.4180, 2.6219, 0.4003, 0.0, -0.1068, 0.0, 3.8464, 1.6964,
            -0.5058,
        ],
        bias: -1.2161,
        platt: (1.17, -2.5359),
    },
    vector_weight_en: 2.0,
    vector_weight_zh: 3.0,
    vector_weight_entries: 8.0,
};

/// Fitted for all-MiniLM-L6-v2 (English embedder) on the same training set; its vectors get no vote on
/// Chinese questions (`Answerer::search_options`).
pub const MINILM: Tuned = Tuned {
    model: Model {
        // The Q&A weight is 0, as for E5.
        weights: [
            -0.0597, 1.0566, -0.2330, 1.2145, 0.8407, 2.3561, 0.4628, 0.0, 0.8628, 0.0, 2.2757, 2.8054,
            -1.0959,
        ],
        bias: -1.7103,
        platt: (0.9207, -1.8875),
    },
    vector_weight_en: 2.0,
    vector_weight_zh: 0.0,
    vector_weight_entries: 16.0,
};

/// What was fitted for an embedder, by its id; an HTTP provider's embedder is read like the default's.
pub fn tuned_for(embedder_id: &str) -> Tuned {
    if embedder_id.contains("minilm") { MINILM } else { E5_SMALL }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_types_are_read_in_both_languages() {
        assert_eq!(asks("how long does the watch battery last?"), vec![Asks::Duration]);
        assert_eq!(asks("Watch S3 的电池能用多久？"), vec![Asks::Duration, Asks::Permission]);
        assert!(asks("Can I take the power bank on a plane?").contains(&Asks::Permission));
        assert!(asks("whats your return policy").is_empty());
    }

    #[test]
    fn sentences_are_matched_to_what_is_asked() {
        let d = [Asks::Duration];
        assert_eq!(type_match(&d, "The battery lasts up to 14 days on a charge."), 1.0);
        assert_eq!(type_match(&d, "续航最长 14 天。"), 1.0);
        assert_eq!(type_match(&d, "It is water resistant to 5 ATM."), -1.0);
        assert_eq!(type_match(&[Asks::Permission], "It is allowed in carry-on luggage."), 1.0);
    }
}
