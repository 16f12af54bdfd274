//! A tower output → one vector per input: `none` (`[batch, dims]` already), `mean` over the
//! attention mask, `cls` (first token) or `eos` (the token at the highest id, where CLIP's
//! text tower reads its sentence vector), then optional L2 normalisation.

use super::manifest::Pooling;
use super::tokenize::TokenBatch;

/// Pools a row-major output of `shape` into `shape[0]` vectors. `tokens` are the text inputs
/// of that batch (`None` for images: `mean` then averages every position).
pub fn pool_batch(
    pooling: Pooling,
    shape: &[usize],
    values: &[f32],
    tokens_opt: Option<&TokenBatch>,
) -> Result<Vec<Vec<f32>>, String> {
    let expected_len: usize = shape.iter().product();
    if values.len() != expected_len {
        return Err(format!("output has {} values for shape {shape:?}", values.len()));
    }
    match (pooling, shape) {
        (Pooling::None, &[_, dims]) => Ok(values.chunks_exact(dims.max(1)).map(<[f32]>::to_vec).collect()),
        (Pooling::None, _) => Err(format!(
            "pooling `none` needs an output of shape [batch, dims], got {shape:?}: choose `mean`, `cls` or `eos`"
        )),
        (_, &[batch, seq_len, dims]) => {
            if let Some(tokens) = tokens_opt
                && (tokens.batch != batch || tokens.seq_len != seq_len)
            {
                return Err(format!(
                    "output shape {shape:?} does not match the token batch [{}, {}]",
                    tokens.batch, tokens.seq_len
                ));
            }
            let pooled = (0..batch)
                .map(|row| {
                    let states = &values[row * seq_len * dims..(row + 1) * seq_len * dims];
                    pool_row(pooling, states, seq_len, dims, row, tokens_opt)
                })
                .collect();
            Ok(pooled)
        }
        (_, _) => Err(format!(
            "pooling `{pooling:?}` needs an output of shape [batch, seq, dims], got {shape:?}"
        )),
    }
}

/// One sequence's `[seq_len, dims]` states → one vector.
fn pool_row(
    pooling: Pooling,
    states: &[f32],
    seq_len: usize,
    dims: usize,
    row: usize,
    tokens_opt: Option<&TokenBatch>,
) -> Vec<f32> {
    let token = |position: usize| &states[position * dims..(position + 1) * dims];
    match pooling {
        Pooling::Cls | Pooling::None => token(0).to_vec(),
        Pooling::Eos => {
            let ids = tokens_opt.map(|tokens| tokens.row_ids(row)).unwrap_or_default();
            // The first position of the highest id, as torch.argmax picks it.
            let position = ids
                .iter()
                .enumerate()
                .fold(
                    (0, i64::MIN),
                    |best, (position, id)| if *id > best.1 { (position, *id) } else { best },
                )
                .0;
            token(position.min(seq_len.saturating_sub(1))).to_vec()
        }
        Pooling::Mean => {
            let mut sum = vec![0.0_f32; dims];
            let mut kept = 0.0_f32;
            for position in 0..seq_len {
                let weight = tokens_opt.map_or(1.0, |tokens| tokens.row_mask(row)[position] as f32);
                if weight == 0.0 {
                    continue;
                }
                kept += weight;
                for (total, value) in sum.iter_mut().zip(token(position)) {
                    *total += weight * value;
                }
            }
            // Sentence-transformers clamps the count at 1e-9 so an all-padding row gives zeros.
            let count = kept.max(1e-9);
            sum.iter_mut().for_each(|total| *total /= count);
            sum
        }
    }
}

/// Scales `vector` to unit length; a zero vector stays zero.
pub fn l2_normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|value| *value /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(ids: Vec<i64>, mask: Vec<i64>, batch: usize) -> TokenBatch {
        let seq_len = ids.len() / batch;
        TokenBatch {
            batch,
            seq_len,
            type_ids: vec![0; ids.len()],
            ids,
            mask,
        }
    }

    /// Two sequences of three 2-d tokens: row 0 = (1,2) (3,4) (5,6), row 1 = (10,0) (0,10) (7,7).
    const STATES: [f32; 12] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0, 0.0, 0.0, 10.0, 7.0, 7.0];

    #[test]
    fn none_splits_rows() {
        let pooled = pool_batch(Pooling::None, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], None).expect("pool");
        assert_eq!(pooled, vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
        assert!(pool_batch(Pooling::None, &[2, 3, 2], &STATES, None).is_err());
    }

    #[test]
    fn mean_skips_masked_tokens() {
        let batch = tokens(vec![2, 5, 0, 2, 6, 3], vec![1, 1, 0, 1, 1, 1], 2);
        let pooled = pool_batch(Pooling::Mean, &[2, 3, 2], &STATES, Some(&batch)).expect("pool");
        // Row 0 keeps (1,2) and (3,4): mean (2,3). Row 1 keeps all: (17/3, 17/3).
        assert_eq!(pooled[0], vec![2.0, 3.0]);
        assert!((pooled[1][0] - 17.0 / 3.0).abs() < 1e-6 && (pooled[1][1] - 17.0 / 3.0).abs() < 1e-6);
        // Without tokens (an image tower's patches) every position counts.
        let unmasked = pool_batch(Pooling::Mean, &[2, 3, 2], &STATES, None).expect("pool");
        assert_eq!(unmasked[0], vec![3.0, 4.0]);
    }

    #[test]
    fn cls_takes_the_first_token_and_eos_the_highest_id() {
        let cls = pool_batch(Pooling::Cls, &[2, 3, 2], &STATES, None).expect("pool");
        assert_eq!(cls, vec![vec![1.0, 2.0], vec![10.0, 0.0]]);
        let batch = tokens(vec![49406, 49407, 0, 49406, 320, 49407], vec![1, 1, 0, 1, 1, 1], 2);
        let eos = pool_batch(Pooling::Eos, &[2, 3, 2], &STATES, Some(&batch)).expect("pool");
        assert_eq!(eos, vec![vec![3.0, 4.0], vec![7.0, 7.0]]);
    }

    #[test]
    fn shape_mismatches_are_errors() {
        assert!(pool_batch(Pooling::Mean, &[2, 3, 2], &STATES[..10], None).is_err());
        assert!(pool_batch(Pooling::Cls, &[2, 6], &STATES, None).is_err());
        let wrong_batch = tokens(vec![1, 1, 1, 1], vec![1, 1, 1, 1], 2);
        assert!(pool_batch(Pooling::Mean, &[2, 3, 2], &STATES, Some(&wrong_batch)).is_err());
    }

    #[test]
    fn l2_normalize_gives_unit_length() {
        let mut vector = vec![3.0, 4.0];
        l2_normalize(&mut vector);
        assert_eq!(vector, vec![0.6, 0.8]);
        let mut zero = vec![0.0, 0.0];
        l2_normalize(&mut zero);
        assert_eq!(zero, vec![0.0, 0.0]);
    }
}
