//! Matrix products over 4-bit weights for short inputs: the weights stay in their Q4_0 blocks (32 values
//! sharing one scale), unpacked once to a byte per value and interleaved eight output rows at a time;
//! each input row is quantized to 8 bits per block of 32. A vector then holds one block's integer sums
//! for eight output rows at once (AVX-512 VNNI's `vpdpbusd` or AVX2's `maddubs` where the CPU has them,
//! plain integer loops elsewhere), so each block's sums are converted and scaled once per eight rows
//! rather than once per row. A question of a dozen tokens reads each weight once per tile of four (AVX2)
//! or eight (VNNI) tokens from the first-level cache, instead of a general f32 matrix product packing the
//! whole weight matrix for a few rows.

use rayon::prelude::*;

use crate::lanes;

/// Values per block.
pub(crate) const QK: usize = 32;
/// Bytes per Q4_0 block in the file: an f16 scale and 16 bytes of nibbles.
pub(crate) const BLOCK_BYTES: usize = 18;
/// Output rows interleaved in one group.
const GROUP: usize = 8;
/// Bytes of one group's block: eight rows' 32 values, as eight chunks of four values per row.
const GROUP_BLOCK: usize = GROUP * QK;
/// Output rows per parallel task.
const ROWS_PER_TASK: usize = 32;

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
    /// One byte per value, by group of eight rows, then block, then chunk of four columns, then row:
    /// `q[((g·blocks + b)·8 + c)·32 + r·4 + i]` is the value of row 8g+r at column 32b+4c+i. Rows past
    /// the last are zeros.
    q: Vec<u8>,
    /// One scale per block, by group, then block, then row: `d[(g·blocks + b)·8 + r]`.
    d: Vec<f32>,
}

impl Q4Matrix {
    /// From the file's blocks, row after row.
    pub(crate) fn from_blocks(blocks: &[u8], rows: usize, cols: usize) -> Self {
        assert!(cols.is_multiple_of(QK) && blocks.len() >= rows * cols / QK * BLOCK_BYTES);
        let nb = cols / QK;
        let groups = rows.div_ceil(GROUP);
        let mut q = vec![0u8; groups * nb * GROUP_BLOCK];
        let mut d = vec![0.0f32; groups * nb * GROUP];
        let mut values = [0u8; QK];
        for (i, b) in blocks.chunks_exact(BLOCK_BYTES).take(rows * nb).enumerate() {
            let (row, block) = (i / nb, i % nb);
            let (g, r) = (row / GROUP, row % GROUP);
            let at = (g * nb + block) * GROUP;
            d[at + r] = unpack(b, &mut values);
            for (c, chunk) in values.chunks_exact(4).enumerate() {
                let o = (at + c) * QK + r * 4;
                q[o..o + 4].copy_from_slice(chunk);
            }
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
        self.product(Kernel::detect(), x, bias, f)
    }

    fn product(&self, kernel: Kernel, x: &Q8Rows, bias: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
        assert_eq!(x.cols, self.cols);
        assert_eq!(bias.len(), self.rows);
        let (n, nb) = (x.n, self.cols / QK);
        let groups = self.rows.div_ceil(GROUP);
        // Each task's rows for every token, token-major within the task.
        let mut by_task = vec![0.0f32; self.rows.div_ceil(ROWS_PER_TASK) * n * ROWS_PER_TASK];
        by_task.par_chunks_mut(n * ROWS_PER_TASK).enumerate().for_each(|(task, buf)| {
            let first = task * ROWS_PER_TASK / GROUP;
            for g in first..groups.min(first + ROWS_PER_TASK / GROUP) {
                let wq = &self.q[g * nb * GROUP_BLOCK..(g + 1) * nb * GROUP_BLOCK];
                let wd = &self.d[g * nb * GROUP..(g + 1) * nb * GROUP];
                kernel.group(wq, wd, x, &mut buf[(g - first) * GROUP..], ROWS_PER_TASK);
            }
            let start = task * ROWS_PER_TASK;
            let bias = &bias[start..self.rows.min(start + ROWS_PER_TASK)];
            for token in buf.chunks_exact_mut(ROWS_PER_TASK) {
                for (v, b) in token.iter_mut().zip(bias) {
                    *v = f(*v + b);
                }
            }
        });
        let mut out = vec![0.0f32; n * self.rows];
        for (task, buf) in by_task.chunks_exact(n * ROWS_PER_TASK).enumerate() {
            let start = task * ROWS_PER_TASK;
            let width = ROWS_PER_TASK.min(self.rows - start);
            for (t, token) in buf.chunks_exact(ROWS_PER_TASK).enumerate() {
                out[t * self.rows + start..t * self.rows + start + width].copy_from_slice(&token[..width]);
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
    /// Per block, −8 × d × Σq: what the weights' offset of 8 takes from the block's product.
    offsets: Vec<f32>,
}

impl Q8Rows {
    /// Quantizes `x` (rows of `cols` values) block by block, each to its largest magnitude.
    pub(crate) fn quantize(x: &[f32], cols: usize) -> Self {
        assert!(cols.is_multiple_of(QK) && x.len().is_multiple_of(cols));
        let n = x.len() / cols;
        let mut q = vec![0i8; x.len()];
        let mut d = Vec::with_capacity(x.len() / QK);
        let mut offsets = Vec::with_capacity(x.len() / QK);
        for (xb, qb) in x.chunks_exact(QK).zip(q.chunks_exact_mut(QK)) {
            let scale = lanes(xb, 0.0, |m, v| m.max(v.abs())) / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            let mut sum = 0i32;
            for (v, out) in xb.iter().zip(qb.iter_mut()) {
                *out = (v * inv).round_ties_even() as i8;
                sum += i32::from(*out);
            }
            d.push(scale);
            offsets.push(-8.0 * scale * sum as f32);
        }
        Self { n, cols, q, d, offsets }
    }
}

/// How one group's products with every input row are computed: for token t and row r of the group,
/// `out[t·stride + r] = Σ (w − 8)·x` over the row, given the group's interleaved values and scales.
#[derive(Clone, Copy)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Vnni(vnni::Vnni),
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
    Portable,
}

impl Kernel {
    /// The fastest this CPU runs, found once per process (every product asks).
    fn detect() -> Self {
        static FASTEST: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *FASTEST.get_or_init(|| Self::available()[0])
    }

    /// Every kernel this CPU can run, fastest first.
    fn available() -> Vec<Self> {
        let mut kernels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            kernels.extend(vnni::Vnni::try_new().map(Kernel::Vnni));
            kernels.extend(pulp::x86::V3::try_new().map(Kernel::Avx2));
        }
        kernels.push(Kernel::Portable);
        kernels
    }

    fn group(self, wq: &[u8], wd: &[f32], x: &Q8Rows, out: &mut [f32], stride: usize) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni(proof) => vnni::group(proof, wq, wd, x, out, stride),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(simd) => avx2::group(simd, wq, wd, x, out, stride),
            Kernel::Portable => group_portable(wq, wd, x, out, stride),
        }
    }
}

fn group_portable(wq: &[u8], wd: &[f32], x: &Q8Rows, out: &mut [f32], stride: usize) {
    let nb = x.cols / QK;
    for t in 0..x.n {
        let xq = &x.q[t * x.cols..(t + 1) * x.cols];
        let mut acc = [0.0f32; GROUP];
        for b in 0..nb {
            let mut sums = [0i32; GROUP];
            for (c, xc) in xq[b * QK..(b + 1) * QK].chunks_exact(4).enumerate() {
                let w = &wq[(b * GROUP + c) * QK..(b * GROUP + c + 1) * QK];
                for (s, wr) in sums.iter_mut().zip(w.chunks_exact(4)) {
                    *s += wr.iter().zip(xc).map(|(&a, &v)| i32::from(a) * i32::from(v)).sum::<i32>();
                }
            }
            let (xd, offset) = (x.d[t * nb + b], x.offsets[t * nb + b]);
            for ((a, s), d) in acc.iter_mut().zip(sums).zip(&wd[b * GROUP..(b + 1) * GROUP]) {
                *a += (s as f32 * xd + offset) * d;
            }
        }
        out[t * stride..t * stride + GROUP].copy_from_slice(&acc);
    }
}

/// One group's products as the vector kernels read them: the weights in chunks of 32 bytes, the scales
/// in rows of eight, the input rows in chunks of four bytes; the lengths checked once.
#[cfg(target_arch = "x86_64")]
struct GroupView<'a> {
    w: &'a [[u8; QK]],
    wd: &'a [[f32; GROUP]],
    xq: &'a [[u8; 4]],
    x: &'a Q8Rows,
}

#[cfg(target_arch = "x86_64")]
impl<'a> GroupView<'a> {
    fn new(wq: &'a [u8], wd: &'a [f32], x: &'a Q8Rows, out: &[f32], stride: usize) -> Self {
        use pulp::bytemuck;
        let (w, wd): (&[[u8; QK]], &[[f32; GROUP]]) = (bytemuck::cast_slice(wq), bytemuck::cast_slice(wd));
        let xq: &[[u8; 4]] = bytemuck::cast_slice(&x.q);
        let nb = wd.len();
        assert!(w.len() == nb * GROUP && x.cols == nb * QK && xq.len() == x.n * nb * GROUP);
        assert!(x.d.len() == x.n * nb && x.offsets.len() == x.n * nb);
        assert!(out.len() >= (x.n - 1) * stride + GROUP);
        Self { w, wd, xq, x }
    }

    fn blocks(&self) -> usize {
        self.wd.len()
    }

    /// Input rows `t..t + M`: their chunks, their blocks' scales and their blocks' offsets.
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    fn tokens<const M: usize>(&self, t: usize) -> ([&'a [[u8; 4]]; M], [&'a [f32]; M], [&'a [f32]; M]) {
        let nb = self.blocks();
        let (mut rows, mut scales, mut offsets) =
            ([&self.xq[..0]; M], [&self.x.d[..0]; M], [&self.x.offsets[..0]; M]);
        for k in 0..M {
            rows[k] = &self.xq[(t + k) * nb * GROUP..(t + k + 1) * nb * GROUP];
            scales[k] = &self.x.d[(t + k) * nb..(t + k + 1) * nb];
            offsets[k] = &self.x.offsets[(t + k) * nb..(t + k + 1) * nb];
        }
        (rows, scales, offsets)
    }
}

/// Eight rows' results for each of tokens `t..t + M` into `out`, token `t + k` at `(t + k) · stride`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn store<const M: usize>(acc: [std::arch::x86_64::__m256; M], t: usize, out: &mut [f32], stride: usize) {
    for (k, a) in acc.iter().enumerate() {
        let at = (t + k) * stride;
        out[at..at + GROUP].copy_from_slice(&pulp::bytemuck::cast::<_, [f32; GROUP]>(*a));
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{__m256, __m256i};

    use pulp::{bytemuck, x86::V3};

    use super::{GROUP, GroupView, Q8Rows, store};

    pub(super) fn group(simd: V3, wq: &[u8], wd: &[f32], x: &Q8Rows, out: &mut [f32], stride: usize) {
        let view = GroupView::new(wq, wd, x, out, stride);
        simd.vectorize(
            #[inline(always)]
            || {
                let mut t = 0;
                while t + 4 <= x.n {
                    tile::<4>(simd, &view, t, out, stride);
                    t += 4;
                }
                match x.n - t {
                    3 => tile::<3>(simd, &view, t, out, stride),
                    2 => tile::<2>(simd, &view, t, out, stride),
                    1 => tile::<1>(simd, &view, t, out, stride),
                    _ => {}
                }
            },
        )
    }

    /// Input rows `t..t + M` against the group's eight weight rows. Per block, each chunk of four
    /// columns is one `maddubs` of the eight rows' values against the chunk broadcast, summed in 16 bits
    /// over the block's eight chunks (at most 8·2·15·127 = 30480, no overflow), widened to eight 32-bit
    /// sums, one per row, then scaled and the offset's share added.
    #[inline(always)]
    fn tile<const M: usize>(simd: V3, view: &GroupView, t: usize, out: &mut [f32], stride: usize) {
        let (w, wd, nb) = (view.w, view.wd, view.blocks());
        let (rows, scales, offsets) = view.tokens::<M>(t);
        let ones = simd.avx._mm256_set1_epi16(1);
        let mut acc: [__m256; M] = [simd.avx._mm256_setzero_ps(); M];
        for b in 0..nb {
            let mut sums: [__m256i; M] = [simd.avx._mm256_setzero_si256(); M];
            for c in 0..GROUP {
                let wv: __m256i = bytemuck::cast(w[b * GROUP + c]);
                for k in 0..M {
                    let xv = simd.avx._mm256_set1_epi32(i32::from_ne_bytes(rows[k][b * GROUP + c]));
                    sums[k] = simd.avx2._mm256_add_epi16(sums[k], simd.avx2._mm256_maddubs_epi16(wv, xv));
                }
            }
            let wdv: __m256 = bytemuck::cast(wd[b]);
            for k in 0..M {
                let s = simd.avx._mm256_cvtepi32_ps(simd.avx2._mm256_madd_epi16(sums[k], ones));
                let s = simd.fma._mm256_fmadd_ps(
                    s,
                    simd.avx._mm256_set1_ps(scales[k][b]),
                    simd.avx._mm256_set1_ps(offsets[k][b]),
                );
                acc[k] = simd.fma._mm256_fmadd_ps(s, wdv, acc[k]);
            }
        }
        store(acc, t, out, stride);
    }
}

/// The same products with AVX-512's VNNI on 256-bit vectors: one `vpdpbusd` multiplies a chunk's bytes,
/// sums them in fours and adds the sums to the accumulator, where AVX2 needs `maddubs`, an addition and,
/// per block, `madd`. This is the one place in the workspace with `unsafe`: `pulp` wraps no VNNI
/// instruction, so the kernel is a `#[target_feature]` function, entered once the CPU is known to have
/// the features (see `scripts/check-architecture`).
#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::{
        __m256, __m256i, _mm256_cvtepi32_ps, _mm256_dpbusd_epi32, _mm256_fmadd_ps, _mm256_set1_epi32,
        _mm256_set1_ps, _mm256_setzero_ps, _mm256_setzero_si256,
    };

    use pulp::bytemuck;

    use super::{GROUP, GroupView, Q8Rows, store};

    /// Proof that this CPU has the features [`group_with_vnni`] is compiled for.
    #[derive(Clone, Copy)]
    pub(super) struct Vnni(());

    impl Vnni {
        pub(super) fn try_new() -> Option<Self> {
            let present = is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni");
            present.then_some(Vnni(()))
        }
    }

    #[allow(unsafe_code)]
    pub(super) fn group(_: Vnni, wq: &[u8], wd: &[f32], x: &Q8Rows, out: &mut [f32], stride: usize) {
        let view = GroupView::new(wq, wd, x, out, stride);
        // SAFETY: a `Vnni` exists only where the CPU has every feature `group_with_vnni` enables; the
        // function itself is safe Rust (it reads through slices only).
        unsafe { group_with_vnni(&view, out, stride) }
    }

    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    fn group_with_vnni(view: &GroupView, out: &mut [f32], stride: usize) {
        let n = view.x.n;
        let mut t = 0;
        while t + 8 <= n {
            tile::<8>(view, t, out, stride);
            t += 8;
        }
        if n - t >= 4 {
            tile::<4>(view, t, out, stride);
            t += 4;
        }
        if n - t >= 2 {
            tile::<2>(view, t, out, stride);
            t += 2;
        }
        if n > t {
            tile::<1>(view, t, out, stride);
        }
    }

    /// Input rows `t..t + M` against the group's eight weight rows: per block, eight `vpdpbusd` (one per
    /// chunk of four columns) leave each row's 32-bit sum in its lane, then scaled and the offset's share
    /// added, as in the AVX2 kernel.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    #[inline]
    fn tile<const M: usize>(view: &GroupView, t: usize, out: &mut [f32], stride: usize) {
        let (w, wd, nb) = (view.w, view.wd, view.blocks());
        let (rows, scales, offsets) = view.tokens::<M>(t);
        let mut acc: [__m256; M] = [_mm256_setzero_ps(); M];
        for b in 0..nb {
            let mut sums: [__m256i; M] = [_mm256_setzero_si256(); M];
            for c in 0..GROUP {
                let wv: __m256i = bytemuck::cast(w[b * GROUP + c]);
                for k in 0..M {
                    let xv = _mm256_set1_epi32(i32::from_ne_bytes(rows[k][b * GROUP + c]));
                    sums[k] = _mm256_dpbusd_epi32(sums[k], wv, xv);
                }
            }
            let wdv: __m256 = bytemuck::cast(wd[b]);
            for k in 0..M {
                let s = _mm256_fmadd_ps(
                    _mm256_cvtepi32_ps(sums[k]),
                    _mm256_set1_ps(scales[k][b]),
                    _mm256_set1_ps(offsets[k][b]),
                );
                acc[k] = _mm256_fmadd_ps(s, wdv, acc[k]);
            }
        }
        store(acc, t, out, stride);
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

    /// The quantized product matches the product of the expanded weights, on every kernel this CPU runs,
    /// for every input length a tile can end with.
    #[test]
    fn products_match_the_expanded_weights() {
        let (rows, cols) = (70, 96);
        let (bytes, dense) = blocks(rows, cols);
        let w = Q4Matrix::from_blocks(&bytes, rows, cols);
        let bias = numbers(3, rows);
        let kernels = Kernel::available();
        for n in [1, 2, 3, 4, 5, 7, 8, 11, 12, 15, 17] {
            let x = numbers(n as u64, n * cols);
            let q8 = Q8Rows::quantize(&x, cols);
            let portable = w.product(Kernel::Portable, &q8, &bias, |v| v);
            for (which, kernel) in kernels.iter().enumerate() {
                let got = w.product(*kernel, &q8, &bias, |v| v);
                for o in 0..rows {
                    for t in 0..n {
                        let want: f32 =
                            (0..cols).map(|c| dense[o * cols + c] * x[t * cols + c]).sum::<f32>() + bias[o];
                        let fast = got[t * rows + o];
                        assert!(
                            (fast - want).abs() < 0.01,
                            "kernel {which} n {n} t {t} o {o}: {fast} against {want}"
                        );
                        let same = portable[t * rows + o];
                        assert!(
                            (same - fast).abs() < 1e-4,
                            "kernel {which} n {n} t {t} o {o}: {fast} against {same}"
                        );
                    }
                }
            }
        }
    }
}
