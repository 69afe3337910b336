//! Q4_1 weights converted to Q8_0 before llama.cpp loads them. llama.cpp multiplies a whole prompt
//! batch much faster with Q8_0 weights (its tiled matrix kernels and repacked layouts cover Q8_0, not
//! Q4_1), and a Q4_1 value (an offset plus one of 16 steps) fits Q8_0's 256 steps with a rounding error
//! far below the 4-bit step. The converted file is written once next to the original
//! (`NAME.q8_0.gguf`) and used while it is newer than the original.

use std::{
    fs::File,
    io::{BufReader, BufWriter},
    path::{Path, PathBuf},
};

use candle_core::{
    Device,
    quantized::{GgmlDType, QTensor, gguf_file},
};

/// Files up to this size are converted; a larger model keeps its own format (Q8_0 nearly doubles it).
const MAX_CONVERTED_BYTES: u64 = 1 << 30;

/// The file to load for `path`: its Q8_0 conversion when the model's weights are Q4_1, else `path`
/// itself. A model that cannot be converted (unreadable here, a read-only folder) loads as it is.
pub fn for_loading(path: &Path) -> PathBuf {
    match convert(path) {
        Ok(Some(converted)) => converted,
        Ok(None) => path.to_path_buf(),
        Err(e) => {
            tracing::warn!(error = %e, file = %path.display(), "kept the model's own weights");
            path.to_path_buf()
        }
    }
}

fn convert(path: &Path) -> Result<Option<PathBuf>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_CONVERTED_BYTES {
        return Ok(None);
    }
    let mut reader = BufReader::new(File::open(path).map_err(|e| e.to_string())?);
    let content = gguf_file::Content::read(&mut reader).map_err(|e| e.to_string())?;
    if !content.tensor_infos.values().any(|t| t.ggml_dtype == GgmlDType::Q4_1) {
        return Ok(None);
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    let out = path.with_file_name(format!("{stem}.q8_0.gguf"));
    let fresh = std::fs::metadata(&out).and_then(|o| Ok(o.modified()? >= meta.modified()?)).unwrap_or(false);
    if fresh {
        return Ok(Some(out));
    }
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort_by_key(|n| content.tensor_infos[*n].offset);
    let mut tensors = Vec::with_capacity(names.len());
    for name in names {
        let t = content.tensor(&mut reader, name, &Device::Cpu).map_err(|e| format!("{name}: {e}"))?;
        let t = if t.dtype() == GgmlDType::Q4_1 {
            let values = t.dequantize(&Device::Cpu).map_err(|e| format!("{name}: {e}"))?;
            QTensor::quantize(&values, GgmlDType::Q8_0).map_err(|e| format!("{name}: {e}"))?
        } else {
            t
        };
        tensors.push((name.as_str(), t));
    }
    // The writer aligns to 32 bytes itself; the file type now says Q8_0 (llama.cpp's number 7).
    let file_type = gguf_file::Value::U32(7);
    let mut metadata: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "general.alignment" | "general.file_type"))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    metadata.push(("general.file_type", &file_type));
    metadata.sort_by_key(|(k, _)| *k);
    // A name of its own per writer: two processes converting at once each rename a whole file.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let partial = out.with_extension(format!("{}.{nanos}.partial", std::process::id()));
    let written = (|| {
        let mut w = BufWriter::new(File::create(&partial).map_err(|e| e.to_string())?);
        let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
        gguf_file::write(&mut w, &metadata, &refs).map_err(|e| e.to_string())?;
        w.into_inner().map_err(|e| e.to_string())?.sync_all().map_err(|e| e.to_string())?;
        std::fs::rename(&partial, &out).map_err(|e| e.to_string())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    tracing::info!(file = %out.display(), "converted the chat model's Q4_1 weights to Q8_0");
    Ok(Some(out))
}
