//! `lianluo eval mined`: how well mined candidates are sorted. Each labelled candidate (a customer's
//! question and the agent's reply that followed it, mined from the demo's resolved conversations) is
//! scored by the re-ranker as mining scores it, against the demo brand's knowledge; the report gives the
//! precision of the candidates kept at each confidence, and a calibration table.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

use crate::{
    config::Config,
    eval::{Bench, pct},
};

#[derive(Args)]
pub struct MinedArgs {
    /// The JSONL file of labelled candidates (`question`, `answer`, `language`, `answers`, `reusable`).
    file: PathBuf,
    /// The confidence from which a candidate is recommended [default: the product's].
    #[arg(long)]
    threshold: Option<f32>,
    /// Print every candidate with its score (to standard error).
    #[arg(long)]
    verbose: bool,
}

#[derive(Deserialize)]
struct Line {
    question: String,
    answer: String,
    language: String,
    /// The reply answers what the customer asked.
    answers: bool,
    /// An admin would add the pair for other customers (a standalone, general question).
    reusable: bool,
}

pub async fn mined(cfg: &Config, args: MinedArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let lines: Vec<Line> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {}", i + 1)))
        .collect::<anyhow::Result<_>>()?;
    let threshold = args.threshold.unwrap_or(lianluo_server::knowledge::MINED_MIN_CONFIDENCE);
    let bench = Bench::new(cfg, crate::demo::knowledge::sources()).await?;
    let pairs: Vec<(String, String)> = lines.iter().map(|l| (l.question.clone(), l.answer.clone())).collect();
    let questions: Vec<String> = pairs.iter().map(|(q, _)| q.clone()).collect();
    let vectors = bench.embedder.embed_queries(&questions).await.context("the embedder failed")?;
    let scores = bench
        .kb
        .answerer
        .score_replies(bench.ws, &bench.embedder, &pairs, &vectors)
        .await
        .context("the embedder failed")?;
    let mut rows: Vec<(&Line, f32)> = lines.iter().zip(scores.iter().map(|s| s.confidence)).collect();
    if args.verbose {
        for ((l, c), s) in rows.iter().zip(&scores) {
            eprintln!(
                "{c:.2} answers={} reusable={} | {} => {} [{}]",
                l.answers, l.reusable, l.question, l.answer, s.sentence
            );
        }
    }
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let right = |l: &Line| l.answers;
    let approvable = |l: &Line| l.answers && l.reusable;
    println!("### Mined candidates: {}\n", args.file.display());
    let langs = ["en", "zh"];
    println!(
        "{} candidates ({} en, {} zh): the reply answers the question for {}; an admin would add {} to the \
         knowledge (it also stands alone and holds for any customer).\n",
        rows.len(),
        rows.iter().filter(|(l, _)| l.language == langs[0]).count(),
        rows.iter().filter(|(l, _)| l.language == langs[1]).count(),
        pct(rows.iter().filter(|(l, _)| right(l)).count(), rows.len()),
        pct(rows.iter().filter(|(l, _)| approvable(l)).count(), rows.len()),
    );
    println!(
        "| Recommended from confidence | candidates kept | the reply answers | an admin would add | answering replies kept |"
    );
    println!("|---|---|---|---|---|");
    let answering = rows.iter().filter(|(l, _)| right(l)).count();
    for step in 0..20 {
        let t = step as f32 * 0.05;
        let kept: Vec<&(&Line, f32)> = rows.iter().filter(|(_, c)| *c >= t).collect();
        let ok = kept.iter().filter(|(l, _)| right(l)).count();
        println!(
            "| {t:.2}{} | {} | {} | {} | {} |",
            if (t - threshold).abs() < 0.025 { " (chosen)" } else { "" },
            kept.len(),
            pct(ok, kept.len()),
            pct(kept.iter().filter(|(l, _)| approvable(l)).count(), kept.len()),
            pct(ok, answering),
        );
    }
    for lang in langs {
        let kept: Vec<&(&Line, f32)> =
            rows.iter().filter(|(l, c)| l.language == lang && *c >= threshold).collect();
        println!(
            "\n{lang}: at {threshold:.2}, {} kept, the reply answers for {}",
            kept.len(),
            pct(kept.iter().filter(|(l, _)| right(l)).count(), kept.len())
        );
    }
    println!("\n| Stated confidence | Candidates | mean confidence | the reply answers |");
    println!("|---|---|---|---|");
    for bin in 0..10 {
        let (lo, hi) = (bin as f32 / 10.0, (bin + 1) as f32 / 10.0);
        let inside: Vec<&(&Line, f32)> =
            rows.iter().filter(|(_, c)| *c >= lo && (*c < hi || bin == 9)).collect();
        if inside.is_empty() {
            continue;
        }
        let mean = inside.iter().map(|(_, c)| *c as f64).sum::<f64>() / inside.len() as f64;
        let ok = inside.iter().filter(|(l, _)| right(l)).count();
        println!(
            "| {lo:.1}–{hi:.1} | {} | {mean:.2} | {:.2} |",
            inside.len(),
            ok as f64 / inside.len() as f64
        );
    }
    println!();
    Ok(())
}
