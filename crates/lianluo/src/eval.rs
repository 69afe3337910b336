//! `lianluo eval kb|pawsx|banking77`: the knowledge base's retrieval, re-ranking and answers measured the
//! way a customer meets them: is the passage right, is the quoted sentence right, is the confidence
//! honest, and are questions the knowledge cannot answer declined.
//!
//! Each set's knowledge is indexed into a fresh workspace of a temporary database, through the same
//! path as an admin's upload, with the configured models.
//! - `kb FILE`: the demo brand's documents (or `--kb-dir`) and our own labelled questions, one JSON object
//!   per line: `question`, `lang`, `source` (the document's key, or null when the knowledge does not
//!   answer), `answer` (exact words of the answering sentence, in each language's document), `turns`
//!   (earlier messages of the conversation) and `kind`. A passage is right when it contains the answer's
//!   words; a quote is right when it does. `--fit` fits the re-ranker and the fusion weights on FILE
//!   (the training set) and prints them instead.
//! - `pawsx DIR`: PAWS-X Chinese framed as FAQ retrieval (`faq_bank.tsv`, `queries.tsv`, `qrels.tsv`):
//!   the bank is imported as a question bank; a match is right when it is a paraphrase. A quarter of
//!   the queries have their paraphrases taken out of the bank, so they must be declined.
//! - `banking77 DIR`: BANKING77 framed as question matching: the training questions are the bank, each
//!   test question is matched, and the match is right when it has the same intent. Every seventh intent
//!   is left out of the bank, so its questions must be declined.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, bail};
use clap::Args;
use lianluo_domain::{
    WorkspaceId,
    knowledge::{NewKbSource, SourceKind},
};
use lianluo_knowledge::{
    Hit, Ranking, SearchOptions,
    rerank::{self, FEATURES, Model},
};
use lianluo_models::Embedder;
use lianluo_server::knowledge::{Indexed, Knowledge};
use lianluo_store::Store;
use serde::Deserialize;

use crate::config::Config;

#[derive(Args)]
pub struct KbArgs {
    /// The JSONL file of questions.
    file: PathBuf,
    /// A folder of Markdown files to use as the knowledge instead of the demo brand's documents.
    #[arg(long)]
    kb_dir: Option<PathBuf>,
    /// Fit the re-ranker and the fusion weights on FILE and print them (FILE is then a training set).
    #[arg(long)]
    fit: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct PublicArgs {
    /// The folder of the data set.
    dir: PathBuf,
    /// Use every Nth test question only (1: all).
    #[arg(long, default_value_t = 1)]
    every: usize,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct Common {
    /// The decline threshold to report at [default: the product's default].
    #[arg(long)]
    threshold: Option<f32>,
    /// Print every question with its answer (to standard error).
    #[arg(long)]
    verbose: bool,
    /// Write every question's candidates (logit, language, passage, right, features) as JSON lines to
    /// this file.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Use these fitted numbers instead of the built-in ones (the `--fit` output's last line: the weights,
    /// the bias, the two Platt numbers and the three vector weights, separated by commas).
    #[arg(long)]
    tuned: Option<String>,
}

impl Common {
    fn tuned(&self, embedder: &dyn Embedder) -> anyhow::Result<rerank::Tuned> {
        let Some(spec) = &self.tuned else { return Ok(rerank::tuned_for(embedder.id())) };
        let n: Vec<f32> = spec.split(',').map(|x| x.trim().parse()).collect::<Result<_, _>>()?;
        if n.len() != FEATURES + 6 {
            bail!("--tuned takes {} numbers", FEATURES + 6);
        }
        let mut weights = [0f32; FEATURES];
        weights.copy_from_slice(&n[..FEATURES]);
        Ok(rerank::Tuned {
            model: Model { weights, bias: n[FEATURES], platt: (n[FEATURES + 1], n[FEATURES + 2]) },
            vector_weight_en: n[FEATURES + 3],
            vector_weight_zh: n[FEATURES + 4],
            vector_weight_entries: n[FEATURES + 5],
        })
    }
}

/// What makes a passage or an answer right for a question.
enum Judge {
    /// The passage (or the quote) contains one of these words.
    Words(Vec<String>),
    /// The passage is one of these bank entries.
    Entries(HashSet<String>),
}

/// A labelled question.
struct Case {
    question: String,
    turns: Vec<String>,
    lang: String,
    kind: String,
    /// `None` when the knowledge does not answer it.
    judge: Option<Judge>,
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Case {
    fn passage_ok(&self, h: &Hit) -> bool {
        match &self.judge {
            None => false,
            Some(Judge::Words(w)) => {
                let text = squash(&h.text);
                w.iter().any(|w| text.contains(w.as_str()))
            }
            Some(Judge::Entries(e)) => e.contains(&squash(&h.text)),
        }
    }

    /// The ranks (from 1) of the right passages in a list.
    fn ranks<'h>(&self, hits: impl IntoIterator<Item = &'h Hit>) -> Vec<usize> {
        hits.into_iter().enumerate().filter(|(_, h)| self.passage_ok(h)).map(|(i, _)| i + 1).collect()
    }

    /// Whether an answer quoting `quote` from passage `h` is right.
    fn answer_ok(&self, h: &Hit, quote: &str) -> bool {
        match &self.judge {
            None => false,
            Some(Judge::Words(w)) => {
                let q = squash(quote);
                w.iter().any(|w| q.contains(w.as_str()))
            }
            Some(Judge::Entries(_)) => self.passage_ok(h),
        }
    }
}

/// A fresh workspace with the configured models, and the knowledge indexed into it.
pub struct Bench {
    pub kb: Arc<Knowledge>,
    pub ws: WorkspaceId,
    pub embedder: Arc<dyn Embedder>,
    tmp: PathBuf,
    /// Every passage's text, to count the relevant passages of a question.
    passages: Vec<String>,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

impl Bench {
    pub async fn new(cfg: &Config, sources: Vec<NewKbSource>) -> anyhow::Result<Bench> {
        let tmp = std::env::temp_dir().join(format!("lianluo-eval-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&tmp)?;
        let store: Arc<dyn Store> = Arc::new(lianluo_store_sqlite::open_in_dir(&tmp)?);
        let (ws, _) = lianluo_server::setup::create_workspace(
            store.as_ref(),
            lianluo_server::setup::NewWorkspace {
                workspace_name: "Evaluation".into(),
                slug: "eval".into(),
                admin_name: "Eval".into(),
                admin_email: "eval@lianluo.invalid".into(),
                admin_password: "not-used-for-signing-in".into(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (embedder, chat) = crate::load_models(cfg).await?;
        let kb = Knowledge::load(store.clone(), embedder.clone(), Some(chat), cfg.knowledge_settings())
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let started = std::time::Instant::now();
        let mut passages = Vec::new();
        for new in sources {
            let s = store
                .create_kb_source(
                    ws.id,
                    &new,
                    lianluo_domain::event::Actor::System,
                    None,
                    lianluo_domain::Timestamp::now(),
                )
                .await?;
            if let Indexed::Failed { reason, .. } =
                kb.index_source(ws.id, s.id, false).await.map_err(|e| anyhow::anyhow!(e))?
            {
                bail!("{}: {reason}", s.title);
            }
            let source = store.get_kb_source(ws.id, s.id).await?;
            if let Some(reason) = source.error {
                bail!("{} could not be indexed: {reason}", new.title);
            }
            passages.extend(store.list_kb_chunks(ws.id, s.id).await?.into_iter().map(|c| squash(&c.text)));
        }
        eprintln!("indexed {} passages in {:.1} s", passages.len(), started.elapsed().as_secs_f64());
        Ok(Bench { kb, ws: ws.id, embedder, tmp, passages })
    }

    fn relevant_total(&self, case: &Case) -> usize {
        match &case.judge {
            None => 0,
            Some(Judge::Words(w)) => {
                self.passages.iter().filter(|p| w.iter().any(|w| p.contains(w.as_str()))).count()
            }
            Some(Judge::Entries(e)) => self.passages.iter().filter(|p| e.contains(*p)).count(),
        }
    }
}

/// One question's outcome: each list's relevant ranks, the ranking's best answer and its confidence.
struct Outcome {
    /// words, vectors, fused, re-ranked: the ranks (from 1) of relevant passages in each list.
    ranks: [Vec<usize>; 4],
    relevant: usize,
    confidence: f32,
    /// The best sentence's answer is right.
    right: bool,
    /// What would be quoted, for `--verbose`.
    quote: String,
    /// The candidates, best first: (logit, language, passage, right, features), for `--verbose` (the
    /// best one's features) and `--dump`.
    top: Vec<(f32, &'static str, usize, bool, [f32; FEATURES])>,
}

const LISTS: [&str; 4] = ["words (BM25)", "vectors", "fused", "re-ranked"];
/// The vector weights a fit tries.
const GRID: [f32; 12] = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0];
const DEPTH: usize = 50;

async fn run_case(bench: &Bench, case: &Case, model: &Model, fusion: SearchOptions) -> Outcome {
    let answerer = &bench.kb.answerer;
    let opts = SearchOptions { limit: DEPTH, depth: DEPTH, offset: 0, ..fusion };
    let ranking = answerer.rank(bench.ws, &case.question, &case.turns, &bench.embedder, opts, model).await;
    // Each list alone, for the same standalone question and its vector.
    let lists = [
        SearchOptions { vector_weight_en: 0.0, vector_weight_zh: 0.0, ..opts },
        SearchOptions { bm25_weight: 0.0, vector_weight_en: 1.0, vector_weight_zh: 1.0, ..opts },
    ]
    .map(|o| answerer.index.search(bench.ws, &ranking.query, ranking.vector.as_deref(), o));
    let ranks = [
        case.ranks(&lists[0]),
        case.ranks(&lists[1]),
        case.ranks(&ranking.passages),
        case.ranks(ranking.reranked_passages()),
    ];
    let (right, quote) = match best_answer(&ranking) {
        Some((hit, quote)) => (case.answer_ok(hit, &quote), quote),
        None => (false, String::new()),
    };
    let top = ranking
        .sentences
        .iter()
        .map(|s| {
            let hit = &ranking.passages[s.passage];
            let ok = case.answer_ok(hit, &s.text);
            (s.logit, lianluo_knowledge::lang::detect(&s.text).as_str(), s.passage, ok, s.features)
        })
        .collect();
    Outcome { top, ranks, relevant: bench.relevant_total(case), confidence: ranking.confidence, right, quote }
}

fn best_answer(ranking: &Ranking) -> Option<(&Hit, String)> {
    let best = ranking.sentences.first()?;
    Some((&ranking.passages[best.passage], lianluo_knowledge::answer::quote(ranking, best)))
}

#[derive(Default, Clone)]
struct Tally {
    n: usize,
    at1: usize,
    at5: usize,
    rr: f64,
    ap: f64,
}

impl Tally {
    fn add(&mut self, ranks: &[usize], relevant: usize) {
        self.n += 1;
        let first = ranks.first().copied();
        self.at1 += usize::from(first == Some(1));
        self.at5 += usize::from(first.is_some_and(|r| r <= 5));
        self.rr += first.map(|r| 1.0 / r as f64).unwrap_or(0.0);
        let ap: f64 = ranks.iter().enumerate().map(|(i, r)| (i + 1) as f64 / *r as f64).sum();
        self.ap += ap / relevant.max(ranks.len()).max(1) as f64;
    }

    fn row(&self) -> String {
        let n = self.n.max(1) as f64;
        format!(
            "{:.3} | {:.3} | {:.3} | {:.3}",
            self.at1 as f64 / n,
            self.at5 as f64 / n,
            self.rr / n,
            self.ap / n
        )
    }
}

pub(crate) fn pct(a: usize, b: usize) -> String {
    if b == 0 { "–".into() } else { format!("{:.1}% ({a}/{b})", 100.0 * a as f64 / b as f64) }
}

/// At a threshold: (answerable answered, answered right, wrong answers given, unanswerable declined).
fn at_threshold(results: &[(&Case, Outcome)], t: f32) -> (usize, usize, usize, usize) {
    let (mut answered, mut right, mut wrong, mut declined) = (0, 0, 0, 0);
    for (case, o) in results {
        let given = o.confidence >= t;
        match (&case.judge, given) {
            (Some(_), true) => {
                answered += 1;
                if o.right { right += 1 } else { wrong += 1 }
            }
            (None, true) => wrong += 1,
            (None, false) => declined += 1,
            (Some(_), false) => {}
        }
    }
    (answered, right, wrong, declined)
}

fn report(title: &str, results: &[(&Case, Outcome)], threshold: f32) {
    let answerable: Vec<&(&Case, Outcome)> = results.iter().filter(|(c, _)| c.judge.is_some()).collect();
    let unanswerable = results.len() - answerable.len();
    println!("### {title}\n");
    println!(
        "{} questions: {} answerable, {} that the knowledge does not answer.\n",
        results.len(),
        answerable.len(),
        unanswerable
    );
    println!("| List | Questions | recall@1 | recall@5 | MRR | MAP |");
    println!("|---|---|---|---|---|---|");
    let mut langs: Vec<String> = answerable.iter().map(|(c, _)| c.lang.clone()).collect();
    langs.sort();
    langs.dedup();
    if langs.len() > 1 {
        langs.push("all".into());
    }
    for (i, name) in LISTS.iter().enumerate() {
        for lang in &langs {
            let mut t = Tally::default();
            for (_, o) in answerable.iter().filter(|(c, _)| lang == "all" || &c.lang == lang) {
                t.add(&o.ranks[i], o.relevant);
            }
            println!("| {name} | {lang} ({}) | {} |", t.n, t.row());
        }
    }
    let top_right = answerable.iter().filter(|(_, o)| o.right).count();
    println!(
        "\nThe best sentence (the quote, before any threshold) is right for {} of answerable questions.\n",
        pct(top_right, answerable.len())
    );

    let (answered, right, wrong, declined) = at_threshold(results, threshold);
    let given = answered + (unanswerable - declined);
    println!("| At the operating point (confidence ≥ {threshold:.2}) | Share |");
    println!("|---|---|");
    println!("| answerable questions answered | {} |", pct(answered, answerable.len()));
    println!("| answerable questions answered rightly | {} |", pct(right, answerable.len()));
    println!("| answers given that are wrong (confidently wrong) | {} |", pct(wrong, given));
    println!("| unanswerable questions declined | {} |", pct(declined, unanswerable));
    let mut kinds: Vec<String> = results.iter().map(|(c, _)| c.kind.clone()).collect();
    kinds.sort();
    kinds.dedup();
    if kinds.len() > 1 {
        println!("\n| Kind | Questions | answered rightly | wrong answers given | declined |");
        println!("|---|---|---|---|---|");
        for k in &kinds {
            let rows: Vec<&(&Case, Outcome)> = results.iter().filter(|(c, _)| &c.kind == k).collect();
            let (mut r, mut w, mut d) = (0, 0, 0);
            for (c, o) in &rows {
                let given = o.confidence >= threshold;
                if !given {
                    d += 1;
                } else if c.judge.is_some() && o.right {
                    r += 1;
                } else {
                    w += 1;
                }
            }
            println!(
                "| {k} | {} | {} | {} | {} |",
                rows.len(),
                pct(r, rows.len()),
                pct(w, r + w),
                pct(d, rows.len())
            );
        }
    }

    println!(
        "\n| Threshold | answerable answered | precision of answers | confidently wrong | unanswerable declined |"
    );
    println!("|---|---|---|---|---|");
    for step in 1..20 {
        let t = step as f32 * 0.05;
        let (answered, right, wrong, declined) = at_threshold(results, t);
        println!(
            "| {t:.2}{} | {:.1}% | {:.1}% | {:.1}% | {:.1}% |",
            if (t - threshold).abs() < 0.025 { " (chosen)" } else { "" },
            100.0 * answered as f64 / answerable.len().max(1) as f64,
            100.0 * right as f64 / (right + wrong).max(1) as f64,
            100.0 * wrong as f64 / (right + wrong).max(1) as f64,
            100.0 * declined as f64 / unanswerable.max(1) as f64,
        );
    }

    println!("\n| Stated confidence | Questions | mean confidence | observed right |");
    println!("|---|---|---|---|");
    for bin in 0..10 {
        let (lo, hi) = (bin as f32 / 10.0, (bin + 1) as f32 / 10.0);
        let rows: Vec<&(&Case, Outcome)> =
            results.iter().filter(|(_, o)| o.confidence >= lo && (o.confidence < hi || bin == 9)).collect();
        if rows.is_empty() {
            continue;
        }
        let mean = rows.iter().map(|(_, o)| o.confidence as f64).sum::<f64>() / rows.len() as f64;
        let right = rows.iter().filter(|(c, o)| c.judge.is_some() && o.right).count();
        println!(
            "| {lo:.1}–{hi:.1} | {} | {mean:.2} | {:.2} |",
            rows.len(),
            right as f64 / rows.len() as f64
        );
    }
    println!();
}

async fn evaluate(bench: &Bench, cases: &[Case], common: &Common, title: &str) -> anyhow::Result<()> {
    let tuned = common.tuned(bench.embedder.as_ref())?;
    let model = tuned.model;
    let fusion = SearchOptions {
        vector_weight_en: tuned.vector_weight_en,
        vector_weight_zh: if bench.embedder.calibration().multilingual {
            tuned.vector_weight_zh
        } else {
            0.0
        },
        vector_weight_entries: tuned.vector_weight_entries,
        ..bench.kb.answerer.search_options(bench.embedder.as_ref())
    };
    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let o = run_case(bench, case, &model, fusion).await;
        if common.verbose {
            eprintln!(
                "[{}/{}] {} ({:.2}, {}) -> {}",
                case.lang,
                case.kind,
                case.question,
                o.confidence,
                if case.judge.is_none() {
                    "unanswerable"
                } else if o.right {
                    "right"
                } else {
                    "wrong"
                },
                o.quote.chars().take(100).collect::<String>()
            );
            eprintln!("    features {:.2?}", o.top.first().map(|c| c.4.to_vec()).unwrap_or_default());
        }
        if (i + 1) % 500 == 0 {
            eprintln!("{} of {} questions", i + 1, cases.len());
        }
        results.push((case, o));
    }
    if let Some(path) = &common.dump {
        let lines: Vec<String> = results
            .iter()
            .map(|(c, o)| {
                serde_json::json!({
                    "lang": c.lang, "kind": c.kind, "answerable": c.judge.is_some(),
                    "confidence": o.confidence, "right": o.right, "top": o.top,
                })
                .to_string()
            })
            .collect();
        std::fs::write(path, lines.join("\n") + "\n")?;
    }
    let threshold = common.threshold.unwrap_or(bench.kb.answerer.min_confidence);
    println!(
        "Embedder {}; fusion weights: words 1, vectors {} (en) / {} (zh) / {} (entries a person wrote); {} passages.\n",
        bench.embedder.id(),
        fusion.vector_weight_en,
        fusion.vector_weight_zh,
        fusion.vector_weight_entries,
        bench.passages.len()
    );
    report(title, &results, threshold);
    Ok(())
}

#[derive(Deserialize)]
struct KbLine {
    question: String,
    lang: String,
    source: Option<String>,
    answer: Option<Vec<String>>,
    #[serde(default)]
    turns: Vec<String>,
    #[serde(default)]
    kind: Option<String>,
}

fn read_kb_cases(file: &Path) -> anyhow::Result<Vec<Case>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line: KbLine = serde_json::from_str(l).with_context(|| format!("line {}", i + 1))?;
        let judge = match (&line.source, line.answer) {
            (Some(_), Some(words)) if !words.is_empty() => {
                Some(Judge::Words(words.iter().map(|w| squash(w)).collect()))
            }
            (Some(_), _) => bail!("line {}: an answerable question needs the answer's words", i + 1),
            (None, _) => None,
        };
        out.push(Case {
            question: line.question,
            turns: line.turns,
            lang: line.lang,
            kind: line.kind.unwrap_or_else(|| "direct".into()),
            judge,
        });
    }
    Ok(out)
}

fn kb_docs(kb_dir: Option<&PathBuf>) -> anyhow::Result<Vec<NewKbSource>> {
    let Some(dir) = kb_dir else { return Ok(crate::demo::knowledge::sources()) };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let content = std::fs::read_to_string(&path)?;
        let title = content.lines().next().unwrap_or(&name).trim_start_matches('#').trim().to_string();
        out.push(NewKbSource { kind: SourceKind::Markdown, title, content, url: None, page_limit: None });
    }
    Ok(out)
}

pub async fn kb(cfg: &Config, args: KbArgs) -> anyhow::Result<()> {
    let cases = read_kb_cases(&args.file)?;
    let bench = Bench::new(cfg, kb_docs(args.kb_dir.as_ref())?).await?;
    if args.fit {
        return fit(&bench, &cases).await;
    }
    evaluate(&bench, &cases, &args.common, &format!("Our set: {}", args.file.display())).await
}

/// Fits the fusion weights (by MAP of the fused list, per language) and then the re-ranker on a training
/// set, and prints them as the constants to paste into `lianluo-knowledge`.
async fn fit(bench: &Bench, cases: &[Case]) -> anyhow::Result<()> {
    let answerer = &bench.kb.answerer;
    let base = answerer.search_options(bench.embedder.as_ref());
    let mut queries = Vec::new();
    for case in cases.iter().filter(|c| c.judge.is_some()) {
        let query = answerer.follow_up(bench.ws, &case.question, &case.turns);
        let vector = answerer.embed_query(&bench.embedder, &query).await;
        queries.push(Query { case, text: query, vector });
    }
    let mut best_weight = HashMap::new();
    for lang in ["en", "zh"] {
        let of_lang: Vec<&Query> = queries.iter().filter(|q| q.case.lang == lang).collect();
        let w = best_vector_weight(bench, &format!("fusion {lang}"), &of_lang, |w| SearchOptions {
            vector_weight_en: w,
            vector_weight_zh: w,
            ..base
        });
        best_weight.insert(lang, w);
    }
    let mut fusion =
        SearchOptions { vector_weight_en: best_weight["en"], vector_weight_zh: best_weight["zh"], ..base };
    // As when serving (`Answerer::search_options`): an English-only embedder gets no vote on Chinese.
    if !bench.embedder.calibration().multilingual {
        fusion.vector_weight_zh = 0.0;
    }

    // Every candidate sentence of every question, with whether it answers.
    let probe = rerank::tuned_for(bench.embedder.id()).model;
    let mut candidates: Vec<([f32; FEATURES], bool)> = Vec::new();
    let mut per_case: Vec<Vec<([f32; FEATURES], bool)>> = Vec::new();
    for case in cases {
        let opts = SearchOptions { limit: DEPTH, depth: DEPTH, offset: 0, ..fusion };
        let ranking =
            answerer.rank(bench.ws, &case.question, &case.turns, &bench.embedder, opts, &probe).await;
        let rows: Vec<([f32; FEATURES], bool)> = ranking
            .sentences
            .iter()
            .map(|s| (s.features, case.answer_ok(&ranking.passages[s.passage], &s.text)))
            .collect();
        // The re-ranker learns to prefer an answer in the customer's own language; the calibration counts an
        // answer right in either language, as the report does.
        let same_language: Vec<([f32; FEATURES], bool)> = ranking
            .sentences
            .iter()
            .zip(&rows)
            .map(|(s, (f, ok))| (*f, *ok && lianluo_knowledge::lang::detect(&s.text).as_str() == case.lang))
            .collect();
        candidates.extend(same_language);
        per_case.push(rows);
    }
    let model = Model::fit(&candidates, |m| {
        per_case
            .iter()
            .filter_map(|rows| {
                rows.iter().map(|(f, ok)| (m.logit(f), *ok)).max_by(|a, b| a.0.total_cmp(&b.0))
            })
            .collect()
    });
    println!(
        "\nCandidates: {} sentences of {} questions, {} answering.",
        candidates.len(),
        cases.len(),
        candidates.iter().filter(|c| c.1).count()
    );
    for (name, w) in rerank::FEATURE_NAMES.iter().zip(model.weights) {
        println!("  {w:>8.3}  {name}");
    }
    println!("  {:>8.3}  bias\n  platt ({:.3}, {:.3})\n", model.bias, model.platt.0, model.platt.1);
    let numbers: Vec<String> = model
        .weights
        .iter()
        .chain(&[
            model.bias,
            model.platt.0,
            model.platt.1,
            fusion.vector_weight_en,
            fusion.vector_weight_zh,
            fusion.vector_weight_entries,
        ])
        .map(|x| format!("{x:.4}"))
        .collect();
    println!("--tuned {}", numbers.join(","));
    Ok(())
}

/// Reads a tab-separated file with a header, without quoting (the public sets hold `"` in their text).
fn tsv(path: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect())
}

/// A question bank as FAQ tables of questions without answers, in sources of at most 2,000 rows.
fn bank_sources(title: &str, questions: &[String]) -> Vec<NewKbSource> {
    questions
        .chunks(2_000)
        .enumerate()
        .map(|(i, part)| {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(["question"]);
            for q in part {
                let _ = w.write_record([q]);
            }
            NewKbSource {
                kind: SourceKind::FaqCsv,
                title: format!("{title} {}", i + 1),
                content: String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default(),
                url: None,
                page_limit: None,
            }
        })
        .collect()
}

pub async fn pawsx(cfg: &Config, args: PublicArgs) -> anyhow::Result<()> {
    let bank = tsv(&args.dir.join("faq_bank.tsv"))?;
    let queries = tsv(&args.dir.join("queries.tsv"))?;
    let mut qrels: HashMap<String, Vec<String>> = HashMap::new();
    for r in tsv(&args.dir.join("qrels.tsv"))? {
        qrels.entry(r[0].clone()).or_default().push(r[1].clone());
    }
    // A quarter of the queries (every fourth) lose their paraphrases from the bank.
    let held: HashSet<String> = queries
        .iter()
        .filter(|q| q[0].parse::<usize>().is_ok_and(|n| n % 4 == 0))
        .flat_map(|q| qrels.get(&q[0]).cloned().unwrap_or_default())
        .collect();
    let text_of: HashMap<String, String> = bank.iter().map(|r| (r[0].clone(), squash(&r[1]))).collect();
    let kept: Vec<String> = bank.iter().filter(|r| !held.contains(&r[0])).map(|r| r[1].clone()).collect();
    let mut cases = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        if i % args.every.max(1) != 0 {
            continue;
        }
        let relevant: HashSet<String> = qrels
            .get(&q[0])
            .into_iter()
            .flatten()
            .filter(|id| !held.contains(*id))
            .filter_map(|id| text_of.get(id).cloned())
            .collect();
        cases.push(Case {
            question: q[2].clone(),
            turns: Vec::new(),
            lang: "zh".into(),
            kind: if relevant.is_empty() {
                "paraphrase taken out".into()
            } else {
                "paraphrase in the bank".into()
            },
            judge: (!relevant.is_empty()).then_some(Judge::Entries(relevant)),
        });
    }
    let bench = Bench::new(cfg, bank_sources("PAWS-X zh", &kept)).await?;
    evaluate(&bench, &cases, &args.common, "PAWS-X Chinese as FAQ retrieval").await
}

pub async fn banking77(cfg: &Config, args: PublicArgs) -> anyhow::Result<()> {
    let read = |name: &str| -> anyhow::Result<Vec<(String, String)>> {
        let mut r =
            csv::Reader::from_path(args.dir.join(name)).with_context(|| format!("cannot read {name}"))?;
        r.records()
            .map(|row| {
                let row = row?;
                Ok((row.get(0).unwrap_or_default().to_string(), row.get(1).unwrap_or_default().to_string()))
            })
            .collect()
    };
    let train = read("train.csv")?;
    let test = read("test.csv")?;
    let mut intents: Vec<String> = train.iter().map(|(_, c)| c.clone()).collect();
    intents.sort();
    intents.dedup();
    // Every seventh intent is left out of the bank: its questions must be declined.
    let left_out: HashSet<&String> =
        intents.iter().enumerate().filter(|(i, _)| i % 7 == 0).map(|(_, c)| c).collect();
    let mut by_intent: HashMap<&str, HashSet<String>> = HashMap::new();
    let mut kept = Vec::new();
    for (text, intent) in &train {
        if !left_out.contains(intent) {
            by_intent.entry(intent.as_str()).or_default().insert(squash(text));
            kept.push(text.clone());
        }
    }
    let cases: Vec<Case> = test
        .iter()
        .enumerate()
        .filter(|(i, _)| i % args.every.max(1) == 0)
        .map(|(_, (text, intent))| Case {
            question: text.clone(),
            turns: Vec::new(),
            lang: "en".into(),
            kind: if left_out.contains(intent) {
                "intent left out".into()
            } else {
                "intent in the bank".into()
            },
            judge: by_intent.get(intent.as_str()).map(|e| Judge::Entries(e.clone())),
        })
        .collect();
    let bench = Bench::new(cfg, bank_sources("BANKING77 training questions", &kept)).await?;
    evaluate(&bench, &cases, &args.common, "BANKING77 as question matching").await
}

#[derive(Args)]
pub struct FaqArgs {
    /// The FAQ table (CSV: id, lang, question, answer; rows of one id say the same in each language).
    bank: PathBuf,
    /// The customer questions (JSONL: question, lang, match: the ids that answer it or null, kind).
    queries: PathBuf,
    /// Import the bank's questions alone (a question bank, as the public sets are framed).
    #[arg(long)]
    questions_only: bool,
    /// Fit the vector list's weight for entries on QUERIES (then a training set) and print it.
    #[arg(long)]
    fit: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Deserialize)]
struct FaqLine {
    question: String,
    lang: String,
    #[serde(rename = "match")]
    matches: Option<Vec<String>>,
    kind: String,
}

/// Our FAQ set: the demo brand's FAQ table imported as it is, and customer questions matched against it;
/// a match is right when it is an entry of the labelled ids (in either language).
pub async fn faq(cfg: &Config, args: FaqArgs) -> anyhow::Result<()> {
    let content = std::fs::read_to_string(&args.bank)
        .with_context(|| format!("cannot read {}", args.bank.display()))?;
    let mut rows = csv::Reader::from_reader(content.as_bytes());
    // What an entry's passage holds: its answer, or its question when imported alone.
    let mut entry_text: HashMap<String, HashSet<String>> = HashMap::new();
    let mut questions = Vec::new();
    for row in rows.records() {
        let row = row?;
        let (id, question, answer) =
            (row.get(0).unwrap_or_default(), row.get(2).unwrap_or_default(), row.get(3).unwrap_or_default());
        let text = if args.questions_only { question } else { answer };
        entry_text.entry(id.to_string()).or_default().insert(squash(text));
        questions.push(question.to_string());
    }
    let text = std::fs::read_to_string(&args.queries)
        .with_context(|| format!("cannot read {}", args.queries.display()))?;
    let mut cases = Vec::new();
    for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line: FaqLine = serde_json::from_str(l).with_context(|| format!("line {}", i + 1))?;
        let judge = match line.matches {
            Some(ids) => {
                let mut right = HashSet::new();
                for id in &ids {
                    let texts =
                        entry_text.get(id).with_context(|| format!("line {}: no entry {id}", i + 1))?;
                    right.extend(texts.iter().cloned());
                }
                Some(Judge::Entries(right))
            }
            None => None,
        };
        cases.push(Case {
            question: line.question,
            turns: Vec::new(),
            lang: line.lang,
            kind: line.kind,
            judge,
        });
    }
    let sources = if args.questions_only {
        bank_sources("Lumio FAQ questions", &questions)
    } else {
        vec![NewKbSource {
            kind: SourceKind::FaqCsv,
            title: "Lumio FAQ".into(),
            content,
            url: None,
            page_limit: None,
        }]
    };
    let bench = Bench::new(cfg, sources).await?;
    if args.fit {
        return fit_entries(&bench, &cases).await;
    }
    let title = format!(
        "Our FAQ set: {}{}",
        args.queries.display(),
        if args.questions_only { ", questions only" } else { "" }
    );
    evaluate(&bench, &cases, &args.common, &title).await
}

/// Fits the vector list's weight for entries a person wrote, by MAP of the fused list over a training
/// set's answerable questions (the passages of documents keep their own weights), and prints it.
async fn fit_entries(bench: &Bench, cases: &[Case]) -> anyhow::Result<()> {
    let answerer = &bench.kb.answerer;
    let base = answerer.search_options(bench.embedder.as_ref());
    let mut queries = Vec::new();
    for case in cases.iter().filter(|c| c.judge.is_some()) {
        let vector = answerer.embed_query(&bench.embedder, &case.question).await;
        queries.push(Query { case, text: case.question.clone(), vector });
    }
    let all: Vec<&Query> = queries.iter().collect();
    let w =
        best_vector_weight(bench, "entries", &all, |w| SearchOptions { vector_weight_entries: w, ..base });
    println!("\nvector_weight_entries: {w}");
    Ok(())
}

/// An answerable question as searched: its standalone text and vector.
struct Query<'c> {
    case: &'c Case,
    text: String,
    vector: Option<Vec<f32>>,
}

/// The weight of [`GRID`] whose fused list has the best MAP over `queries` (the smaller on a tie), with
/// the search options each weight gives; prints every weight's row under `label`.
fn best_vector_weight(
    bench: &Bench,
    label: &str,
    queries: &[&Query],
    options: impl Fn(f32) -> SearchOptions,
) -> f32 {
    let mut best = (f64::MIN, 1.0);
    for w in GRID {
        let opts = SearchOptions { limit: DEPTH, depth: DEPTH, ..options(w) };
        let mut t = Tally::default();
        for q in queries {
            let hits = bench.kb.answerer.index.search(bench.ws, &q.text, q.vector.as_deref(), opts);
            t.add(&q.case.ranks(&hits), bench.relevant_total(q.case));
        }
        println!("{label}: vector weight {w}: {}", t.row());
        if t.ap > best.0 {
            best = (t.ap, w);
        }
    }
    best.1
}
