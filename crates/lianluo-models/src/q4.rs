//! Matrix products over 4-bit weights for short inputs, as the C engine that ships with the E5 model
//! computes them: the weights stay in their Q4_0 blocks (32 values sharing one scale, unpacked once to a
//! byte per value), each input row is quantized to 8 bits per block of 32, and every block's product is
//! a sum of byte products (AVX2's `maddubs` where the CPU has it, plain integer loops elsewhere), scaled
//! once. A question of a dozen tokens then reads each weight once per token from the first-level cache,
//! instead of a general f32 matrix product packing the whole weight matrix for a few rows.

use rayon::prelude::*;

/// Values per block.
pub(crate) const QK: usize = 32;
/// Bytes per Q4_0 block in the file: an f16 scale and 16 bytes of nibbles.
pub(crate) const BLOCK_BYTES: usize = 18;
/// Output rows per parallel task.
const ROWS_PER_TASK: usize = 32;

/// Blocks of a row rounded up to a whole vector of eight scales (the rest zeros), so the kernel folds
/// the weights' offset in with vector products.
fn padded(blocks: usize) -> usize {
    blocks.div_ceil(8) * 8
}

/// One Q4_0 block's 32 values (0..16, offset by 8) into `out`, and its scale: byte j of the block holds
/// value j in its low and j+16 in its high nibble.
fn unpack(block: &[u8], out: &mut [u8]) -> f32 {
    for j in 0..16 {
        out[j] = block[2 + j] & 0x0f;
        out[j + 16] = block[2 + j] >> 4;
    }
    half::f16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32()
}

/// Expands Q4_0 blocks into `out` as floats (the word table's rows, one token at a time).
pub(crate) fn dequantize(blocks: &[u8], out: &mut [f32]) {
    let mut q = [0u8; QK];
    for (b, o) in blocks.chunks_exact(BLOCK_BYTES).zip(out.chunks_exact_mut(QK)) {
        let d = unpack(b, &mut q);
        for (o, q) in o.iter_mut().zip(q) {
            *o = (f32::from(q) - 8.0) * d;
        }
    }
}

/// A `rows × cols` weight matrix in Q4_0 blocks: value = (q − 8) × d, q in 0..16.
pub(crate) struct Q4Matrix {
    rows: usize,
    cols: usize,
    /// One byte per value, row-major.
    q: Vec<u8>,
    /// One scale per block of 32 values, each row padded with zeros to [`padded`] blocks.
    d: Vec<f32>,
}

impl Q4Matrix {
    /// From the file's blocks.
    pub(crate) fn from_blocks(blocks: &[u8], rows: usize, cols: usize) -> Self {
        assert!(cols.is_multiple_of(QK) && blocks.len() >= rows * cols / QK * BLOCK_BYTES);
        let nb = cols / QK;
        let mut q = vec![0u8; rows * cols];
        let mut d = vec![0.0f32; rows * padded(nb)];
        for (i, (b, out)) in blocks.chunks_exact(BLOCK_BYTES).zip(q.chunks_exact_mut(QK)).enumerate() {
            d[i / nb * padded(nb) + i % nb] = unpack(b, out);
        }
        Self { rows, cols, q, d }
    }

    /// The matrices' rows one after another (query, key and value as one product).
    pub(crate) fn stack(parts: Vec<Q4Matrix>) -> Self {
        let cols = parts[0].cols;
        assert!(parts.iter().all(|p| p.cols == cols));
        let rows = parts.iter().map(|p| p.rows).sum();
        let mut q = Vec::with_capacity(rows * cols);
        let mut d = Vec::with_capacity(rows * padded(cols / QK));
        for p in parts {
            q.extend(p.q);
            d.extend(p.d);
        }
        Self { rows, cols, q, d }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// `x · Wᵀ + bias` for `x` of `n × cols`, as `n × rows`.
    pub(crate) fn matmul(&self, x: &Q8Rows, bias: &[f32]) -> Vec<f32> {
        self.matmul_then(x, bias, |v| v)
    }

    /// `f(x · Wᵀ + bias)` element by element, `f` applied inside the parallel tasks.
    pub(crate) fn matmul_then(&self, x: &Q8Rows, bias: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
        assert_eq!(x.cols, self.cols);
        assert_eq!(bias.len(), self.rows);
        let n = x.n;
        let kernel = Kernel::detect();
        let nbp = padded(self.cols / QK);
        // Feature-major while the tasks write their rows, token-major for the caller.
        let mut by_row = vec![0.0f32; self.rows * n];
        by_row.par_chunks_mut(ROWS_PER_TASK * n).enumerate().for_each(|(task, chunk)| {
            for (r, out) in chunk.chunks_exact_mut(n).enumerate() {
                let o = task * ROWS_PER_TASK + r;
                kernel.row(
                    &self.q[o * self.cols..(o + 1) * self.cols],
                    &self.d[o * nbp..(o + 1) * nbp],
                    x,
                    out,
                );
                for v in out.iter_mut() {
                    *v = f(*v + bias[o]);
                }
            }
        });
        let mut out = vec![0.0f32; n * self.rows];
        for (o, col) in by_row.chunks_exact(n).enumerate() {
            for (t, v) in col.iter().enumerate() {
                out[t * self.rows + o] = *v;
            }
        }
        out
    }
}

/// Rows of activations quantized to 8 bits per block of 32: value ≈ q × d.
pub(crate) struct Q8Rows {
    n: usize,
    cols: usize,
    q: Vec<i8>,
    d: Vec<f32>,
    /// Per block, −8 × d × Σq: what the weights' offset of 8 takes from the block's product; each row
    /// padded with zeros to [`padded`] blocks.
    offsets: Vec<f32>,
}

impl Q8Rows {
    /// Quantizes `x` (rows of `cols` values) block by block, each to its largest magnitude.
    pub(crate) fn quantize(x: &[f32], cols: usize) -> Self {
        assert!(cols.is_multiple_of(QK) && x.len().is_multiple_of(cols));
        let (n, nb) = (x.len() / cols, cols / QK);
        let mut q = vec![0i8; x.len()];
        let mut d = Vec::with_capacity(n * nb);
        let mut offsets = vec![0.0f32; n * padded(nb)];
        for (i, (xb, qb)) in x.chunks_exact(QK).zip(q.chunks_exact_mut(QK)).enumerate() {
            // The largest magnitude in eight lanes, which the compiler keeps in one vector register.
            let mut lanes = [0.0f32; 8];
            for c in xb.chunks_exact(8) {
                for (m, v) in lanes.iter_mut().zip(c) {
                    *m = m.max(v.abs());
                }
            }
            let scale = lanes.iter().fold(0.0f32, |m, v| m.max(*v)) / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            let mut sum = 0i32;
            for (v, out) in xb.iter().zip(qb.iter_mut()) {
                *out = (v * inv).round_ties_even() as i8;
                sum += i32::from(*out);
            }
            d.push(scale);
            offsets[i / nb * padded(nb) + i % nb] = -8.0 * scale * sum as f32;
        }
        Self { n, cols, q, d, offsets }
    }
}

/// How one weight row's products with every input row are computed: `out[t] = Σ (w − 8)·x` over the row,
/// given the row's 4-bit values and its padded scales.
#[derive(Clone, Copy)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
    Portable,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            return Kernel::Avx2(simd);
        }
        Kernel::Portable
    }

    fn row(self, wq: &[u8], wd: &[f32], x: &Q8Rows, out: &mut [f32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(simd) => avx2::row(simd, wq, wd, x, out),
            Kernel::Portable => row_portable(wq, wd, x, out),
        }
    }
}

fn row_portable(wq: &[u8], wd: &[f32], x: &Q8Rows, out: &mut [f32]) {
    let nb = x.cols / QK;
    for (t, o) in out.iter_mut().enumerate() {
        let xq = &x.q[t * x.cols..(t + 1) * x.cols];
        let mut acc = 0.0f32;
        for b in 0..nb {
            let w = &wq[b * QK..(b + 1) * QK];
            let xs = &xq[b * QK..(b + 1) * QK];
            let dot: i32 = w.iter().zip(xs).map(|(&a, &c)| (i32::from(a) - 8) * i32::from(c)).sum();
            acc += wd[b] * x.d[t * nb + b] * dot as f32;
        }
        *o = acc;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{__m256, __m256i};

    use pulp::{bytemuck, x86::V3};

    use super::{Q8Rows, QK};

    pub(super) fn row(simd: V3, wq: &[u8], wd: &[f32], x: &Q8Rows, out: &mut [f32]) {
        let w: &[[u8; QK]] = bytemuck::cast_slice(wq);
        let xq: &[[u8; QK]] = bytemuck::cast_slice(&x.q);
        let (nb, nbp) = (w.len(), wd.len());
        assert!(nbp == super::padded(nb) && xq.len() == x.n * nb && x.d.len() == xq.len());
        assert!(x.offsets.len() == x.n * nbp && out.len() == x.n);
        simd.vectorize(
            #[inline(always)]
            || {
                let mut t = 0;
                while t + 4 <= x.n {
                    tile::<4>(simd, w, wd, x, xq, t, &mut out[t..t + 4]);
                    t += 4;
                }
                match x.n - t {
                    3 => tile::<3>(simd, w, wd, x, xq, t, &mut out[t..]),
                    2 => tile::<2>(simd, w, wd, x, xq, t, &mut out[t..]),
                    1 => tile::<1>(simd, w, wd, x, xq, t, &mut out[t..]),
                    _ => {}
                }
            },
        )
    }

    /// Input rows `t..t + M` against one weight row: each block's 32 byte products summed in integers
    /// and scaled, then the offset's share of every block subtracted in vectors of eight blocks.
    #[inline(always)]
    fn tile<const M: usize>(
        simd: V3,
        w: &[[u8; QK]],
        wd: &[f32],
        x: &Q8Rows,
        xq: &[[u8; QK]],
        t: usize,
        out: &mut [f32],
    ) {
        let (nb, nbp) = (w.len(), wd.len());
        let rows: [&[[u8; QK]]; M] = std::array::from_fn(|k| &xq[(t + k) * nb..(t + k + 1) * nb]);
        let scales: [&[f32]; M] = std::array::from_fn(|k| &x.d[(t + k) * nb..(t + k + 1) * nb]);
        let ones = simd.avx._mm256_set1_epi16(1);
        let mut acc: [__m256; M] = [simd.avx._mm256_setzero_ps(); M];
        for b in 0..nb {
            let wv: __m256i = bytemuck::cast(w[b]);
            let wdb = simd.avx._mm256_set1_ps(wd[b]);
            for k in 0..M {
                let xv: __m256i = bytemuck::cast(rows[k][b]);
                // Unsigned weights (0..16) times signed inputs, pairs summed to 16 bits (at most
                // 2·15·127, no saturation), then to eight 32-bit sums.
                let p = simd.avx2._mm256_madd_epi16(simd.avx2._mm256_maddubs_epi16(wv, xv), ones);
                let scaled = simd
                    .avx
                    ._mm256_mul_ps(simd.avx._mm256_cvtepi32_ps(p), simd.avx._mm256_set1_ps(scales[k][b]));
                acc[k] = simd.fma._mm256_fmadd_ps(scaled, wdb, acc[k]);
            }
        }
        let wdv: &[[f32; 8]] = bytemuck::cast_slice(wd);
        for (k, a) in acc.iter_mut().enumerate() {
            let offsets: &[[f32; 8]] = bytemuck::cast_slice(&x.offsets[(t + k) * nbp..(t + k + 1) * nbp]);
            for (wc, oc) in wdv.iter().zip(offsets) {
                *a = simd.fma._mm256_fmadd_ps(bytemuck::cast(*wc), bytemuck::cast(*oc), *a);
            }
        }
        for (a, o) in acc.iter().zip(out.iter_mut()) {
            let hi = simd.avx._mm256_extractf128_ps::<1>(*a);
            let s = simd.sse._mm_add_ps(simd.avx._mm256_castps256_ps128(*a), hi);
            let s = simd.sse._mm_add_ps(s, simd.sse._mm_movehl_ps(s, s));
            let s = simd.sse._mm_add_ss(s, simd.sse3._mm_movehdup_ps(s));
            *o = simd.sse._mm_cvtss_f32(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stream of numbers in [-1, 1).
    fn numbers(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn blocks(rows: usize, cols: usize) -> (Vec<u8>, Vec<f32>) {
        let mut bytes = Vec::new();
        let mut dense = Vec::new();
        let v = numbers(7, rows * cols);
        for (i, chunk) in v.chunks_exact(QK).enumerate() {
            let d = half::f16::from_f32(0.01 + (i % 5) as f32 * 0.003);
            bytes.extend(d.to_bits().to_le_bytes());
            let q: Vec<u8> = chunk.iter().map(|x| ((x * 8.0 + 8.0) as u8).min(15)).collect();
            for j in 0..16 {
                bytes.push(q[j] | (q[j + 16] << 4));
            }
            dense.extend(q.iter().map(|&q| (f32::from(q) - 8.0) * d.to_f32()));
        }
        (bytes, dense)
    }

    /// The quantized product matches the product of the expanded weights, on both kernels, for every
    /// input length a tile can end with.
    #[test]
    fn products_match_the_expanded_weights() {
        let (rows, cols) = (70, 96);
        let (bytes, dense) = blocks(rows, cols);
        let w = Q4Matrix::from_blocks(&bytes, rows, cols);
        let bias = numbers(3, rows);
        let nbp = padded(cols / QK);
        for n in [1, 2, 3, 4, 5, 11, 12] {
            let x = numbers(n as u64, n * cols);
            let q8 = Q8Rows::quantize(&x, cols);
            let got = w.matmul(&q8, &bias);
            let mut portable = vec![0.0; n];
            for o in 0..rows {
                let (wq, wd) = (&w.q[o * cols..(o + 1) * cols], &w.d[o * nbp..(o + 1) * nbp]);
                Kernel::Portable.row(wq, wd, &q8, &mut portable);
                for t in 0..n {
                    let want: f32 =
                        (0..cols).map(|c| dense[o * cols + c] * x[t * cols + c]).sum::<f32>() + bias[o];
                    let fast = got[t * rows + o];
                    assert!((fast - want).abs() < 0.01, "n {n} t {t} o {o}: {fast} against {want}");
                    assert!((portable[t] + bias[o] - fast).abs() < 1e-4, "n {n} t {t} o {o}: kernels differ");
                }
            }
        }
    }
}
