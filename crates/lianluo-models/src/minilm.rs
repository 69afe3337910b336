//! The embedded sentence embedder: a BERT encoder (all-MiniLM-L6-v2 by default) run with candle,
//! mean-pooled over the real tokens and normalised, as sentence-transformers does.

use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::{Embedder, ModelError, Result};

/// Longest input in tokens; longer text is cut (chunks are kept well under this).
const MAX_TOKENS: usize = 256;
/// Texts per forward pass.
const BATCH: usize = 32;

struct Inner {
    model: BertModel,
    tokenizer: Tokenizer,
    dimensions: usize,
}

/// A BERT sentence embedder loaded from a folder with `model.safetensors`, `config.json` and
/// `tokenizer.json`.
#[derive(Clone)]
pub struct MiniLm {
    inner: Arc<Inner>,
    id: String,
}

fn files(e: impl std::fmt::Display) -> ModelError {
    ModelError::Files(e.to_string())
}

fn engine(e: impl std::fmt::Display) -> ModelError {
    ModelError::Engine(e.to_string())
}

impl MiniLm {
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            let p = dir.join(name);
            if p.is_file() { Ok(p) } else { Err(ModelError::Files(format!("{} is missing", p.display()))) }
        };
        let config: Config = serde_json::from_slice(&std::fs::read(read("config.json")?).map_err(files)?)
            .map_err(|e| files(format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_file(read("tokenizer.json")?).map_err(files)?;
        // The shipped tokenizer pads everything to 128 tokens; pad to the longest in the batch instead.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(files)?;
        let device = Device::Cpu;
        let tensors = candle_core::safetensors::load(read("model.safetensors")?, &device).map_err(files)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config).map_err(files)?;
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("bert").to_string();
        Ok(Self {
            inner: Arc::new(Inner { model, tokenizer, dimensions: config.hidden_size }),
            id: format!("embedded:{name}"),
        })
    }

    /// Embeds on the calling thread (the async [`Embedder::embed`] moves this off the runtime).
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        crate::in_length_batches(texts, String::len, BATCH, |batch| {
            self.forward(&batch.iter().map(|t| t.as_str()).collect::<Vec<_>>())
        })
    }

    fn forward(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let inner = &*self.inner;
        let enc = inner.tokenizer.encode_batch(texts.to_vec(), true).map_err(engine)?;
        let rows = enc.len();
        let cols = enc.first().map(|e| e.get_ids().len()).unwrap_or(0);
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            enc.iter().flat_map(|e| f(e).iter().copied()).collect()
        };
        let dev = &Device::Cpu;
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (rows, cols), dev).map_err(engine)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (rows, cols), dev).map_err(engine)?;
        let mask = Tensor::from_vec(flat(&|e| e.get_attention_mask()), (rows, cols), dev).map_err(engine)?;
        let hidden = inner.model.forward(&ids, &types, Some(&mask)).map_err(engine)?;
        // Mean over the real tokens, then unit length.
        let maskf = mask.to_dtype(DType::F32).map_err(engine)?.unsqueeze(2).map_err(engine)?;
        let summed = hidden.broadcast_mul(&maskf).and_then(|t| t.sum(1)).map_err(engine)?;
        let counts = maskf.sum(1).map_err(engine)?;
        let mean = summed.broadcast_div(&counts).map_err(engine)?;
        let norm = mean.sqr().and_then(|t| t.sum_keepdim(1)).and_then(|t| t.sqrt()).map_err(engine)?;
        let unit = mean.broadcast_div(&norm).map_err(engine)?;
        unit.to_vec2::<f32>().map_err(engine)
    }
}

#[async_trait]
impl Embedder for MiniLm {
    fn id(&self) -> &str {
        &self.id
    }

    fn dimensions(&self) -> usize {
        self.inner.dimensions
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let this = self.clone();
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || this.embed_blocking(&texts))
            .await
            .map_err(|e| ModelError::Engine(format!("embedding task: {e}")))?
    }
}
