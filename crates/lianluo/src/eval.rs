//! `lianluo eval kb FILE`: retrieval and answer quality of the knowledge base on a labelled set.
//!
//! The knowledge (the demo brand's documents, or a folder of Markdown files) is indexed into a fresh
//! workspace in a temporary database with the configured models. Each line of FILE is
//! `{"question": "...", "source": "returns" | null, "lang": "en" | "zh"}`, where `source` names the expected
//! document by the part of its file name before the first dot (`returns` for `returns.en.md` and
//! `returns.zh.md`), and `null` marks a question the knowledge does not answer. Retrieval is measured
//! three ways (words only, vectors only, the fused hybrid) and answers with the hybrid.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use anyhow::Context;
use clap::Args;
use lianluo_domain::{
    KbSourceId,
    knowledge::{NewKbSource, SourceKind},
};
use lianluo_knowledge::SearchOptions;
use lianluo_server::knowledge::Knowledge;
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
    /// Print every question with its answer (to standard error).
    #[arg(long)]
    verbose: bool,
}

#[derive(Deserialize)]
struct Case {
    question: String,
    source: Option<String>,
    lang: String,
}

#[derive(Default, Clone)]
struct Tally {
    n: usize,
    at1: usize,
    at5: usize,
    rr: f64,
}

impl Tally {
    fn add(&mut self, rank: Option<usize>) {
        self.n += 1;
        if rank == Some(1) {
            self.at1 += 1;
        }
        if rank.is_some_and(|r| r <= 5) {
            self.at5 += 1;
        }
        self.rr += rank.map(|r| 1.0 / r as f64).unwrap_or(0.0);
    }

    fn row(&self) -> String {
        let n = self.n.max(1) as f64;
        format!("{:.3} | {:.3} | {:.3}", self.at1 as f64 / n, self.at5 as f64 / n, self.rr / n)
    }
}

fn docs(kb_dir: Option<&PathBuf>) -> anyhow::Result<Vec<(String, NewKbSource)>> {
    let Some(dir) = kb_dir else {
        return Ok(crate::demo::knowledge::DOCS
            .iter()
            .zip(crate::demo::knowledge::sources())
            .map(|((name, _), s)| (key(name), s))
            .collect());
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let content = std::fs::read_to_string(&path)?;
        let title = content.lines().next().unwrap_or(&name).trim_start_matches('#').trim().to_string();
        out.push((
            key(&name),
            NewKbSource { kind: SourceKind::Markdown, title, content, url: None, page_limit: None },
        ));
    }
    Ok(out)
}

fn key(name: &str) -> String {
    name.split('.').next().unwrap_or(name).to_string()
}

pub async fn kb(cfg: &Config, args: KbArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let cases: Vec<Case> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {}", i + 1)))
        .collect::<anyhow::Result<_>>()?;
    let tmp = tempfile_dir()?;
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
    let mut keys: HashMap<KbSourceId, String> = HashMap::new();
    let started = std::time::Instant::now();
    for (k, new) in docs(args.kb_dir.as_ref())? {
        let s = store
            .create_kb_source(
                ws.id,
                &new,
                lianluo_domain::event::Actor::System,
                None,
                lianluo_domain::Timestamp::now(),
            )
            .await?;
        kb.index_source(ws.id, s.id).await.map_err(|e| anyhow::anyhow!(e))?;
        keys.insert(s.id, k);
    }
    eprintln!(
        "indexed {} documents, {} passages in {:.1} s",
        keys.len(),
        kb.index().len(),
        started.elapsed().as_secs_f64()
    );

    let base = kb.answerer.search_options(embedder.as_ref());
    let configs = [
        ("words (BM25, jieba)", SearchOptions { vector_weight_en: 0.0, vector_weight_zh: 0.0, ..base }),
        ("vectors", SearchOptions { bm25_weight: 0.0, vector_weight_en: 1.0, vector_weight_zh: 1.0, ..base }),
        ("hybrid, equal weights", SearchOptions { vector_weight_en: 1.0, vector_weight_zh: 1.0, ..base }),
        ("hybrid, default weights", base),
    ];
    let mut tallies: Vec<HashMap<String, Tally>> = vec![HashMap::new(); configs.len()];
    let (mut answerable, mut cited_ok, mut refused_ok, mut unanswerable, mut answered_wrongly) =
        (0, 0, 0, 0, 0);
    let mut by_lang_cited: HashMap<String, (usize, usize)> = HashMap::new();
    // Top cosines: when the top passage answers, when the question is out of scope, when it is wrong.
    let mut sims: (Vec<f32>, Vec<f32>, Vec<f32>) = (Vec::new(), Vec::new(), Vec::new());
    for case in &cases {
        let vector = embedder.embed_queries(std::slice::from_ref(&case.question)).await?;
        // The best vector hit's cosine, for the embedder's calibration: answering vs out of scope.
        let top =
            kb.index().search(ws.id, &case.question, vector.first().map(Vec::as_slice), configs[1].1)?;
        if let Some(h) = top.first().filter(|h| h.similarity.is_some()) {
            let right = case.source.is_some() && keys.get(&h.source_id) == case.source.as_ref();
            let bucket = if case.source.is_none() {
                &mut sims.1
            } else if right {
                &mut sims.0
            } else {
                &mut sims.2
            };
            bucket.push(h.similarity.unwrap_or(0.0));
        }
        for (i, (_, opts)) in configs.iter().enumerate() {
            let Some(expected) = &case.source else { continue };
            let hits = kb.index().search(ws.id, &case.question, vector.first().map(Vec::as_slice), *opts)?;
            let rank = hits.iter().position(|h| keys.get(&h.source_id) == Some(expected)).map(|r| r + 1);
            tallies[i].entry(case.lang.clone()).or_default().add(rank);
            tallies[i].entry("all".into()).or_default().add(rank);
        }
        let answer = kb
            .answerer
            .answer(ws.id, &case.question, &[], None, None)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        if args.verbose {
            eprintln!("[{}] {}\n    -> {}", case.lang, case.question, answer.text.replace('\n', " "));
        }
        match &case.source {
            Some(expected) => {
                answerable += 1;
                let ok = answer.answered
                    && answer.citations.first().and_then(|c| keys.get(&c.source_id)) == Some(expected);
                cited_ok += usize::from(ok);
                let e = by_lang_cited.entry(case.lang.clone()).or_default();
                e.0 += 1;
                e.1 += usize::from(ok);
                if !ok {
                    eprintln!(
                        "  miss [{}] {} -> {}",
                        case.lang,
                        case.question,
                        if answer.answered {
                            answer.text.chars().take(60).collect::<String>()
                        } else {
                            "(not answered)".into()
                        }
                    );
                }
            }
            None => {
                unanswerable += 1;
                if answer.answered {
                    answered_wrongly += 1;
                    eprintln!("  answered an unanswerable question: {}", case.question);
                } else {
                    refused_ok += 1;
                }
            }
        }
    }
    println!(
        "Knowledge: {} documents, {} passages; embedder {}; {} questions ({} without an answer in the knowledge).\n",
        keys.len(),
        kb.index().len(),
        embedder.id(),
        cases.len(),
        unanswerable
    );
    let median = |v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f32::NAN)
    };
    let c = embedder.calibration();
    println!(
        "Top vector cosine, median: {:.3} when it answers ({}), {:.3} when out of scope ({}), {:.3} when wrong ({}); \
         calibration in use: unrelated {:.2}, answering {:.2}, multilingual {}.\n",
        median(&mut sims.0),
        sims.0.len(),
        median(&mut sims.1),
        sims.1.len(),
        median(&mut sims.2),
        sims.2.len(),
        c.unrelated,
        c.answering,
        c.multilingual
    );
    println!("| Retrieval | Questions | recall@1 | recall@5 | MRR |");
    println!("|---|---|---|---|---|");
    for (i, (name, _)) in configs.iter().enumerate() {
        for lang in ["en", "zh", "all"] {
            if let Some(t) = tallies[i].get(lang) {
                println!("| {name} | {lang} ({}) | {} |", t.n, t.row());
            }
        }
    }
    println!();
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    println!("| Answers ({:?} mode) | Share |", cfg.models.answer_mode);
    println!("|---|---|");
    for lang in ["en", "zh"] {
        if let Some((n, ok)) = by_lang_cited.get(lang) {
            println!("| answered and citing the expected source, {lang} | {:.1}% ({ok}/{n}) |", pct(*ok, *n));
        }
    }
    println!(
        "| answered and citing the expected source, all | {:.1}% ({cited_ok}/{answerable}) |",
        pct(cited_ok, answerable)
    );
    println!(
        "| questions outside the knowledge declined | {:.1}% ({refused_ok}/{unanswerable}) |",
        pct(refused_ok, unanswerable)
    );
    let _ = answered_wrongly;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("lianluo-eval-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
