//! Image resizing that reproduces Pillow's `Image.resize` for 8-bit images: the same filter
//! kernels and support, the same fixed-point weights, a horizontal pass rounded and clipped
//! to 8 bits before the vertical pass. Models are exported and evaluated with Pillow, and
//! small images upscaled a lot (8×8 digits to 224×224) come out visibly different when the
//! overshoot of the bicubic kernel is not clipped between the passes as Pillow does.

use image::RgbImage;

/// The kernels Pillow offers (with its names in the comments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `BILINEAR`
    Triangle,
    /// `BICUBIC` (a = -0.5, the Catmull-Rom spline)
    CatmullRom,
    /// `LANCZOS` (a = 3)
    Lanczos3,
}

impl Kernel {
    fn support(self) -> f64 {
        match self {
            Kernel::Triangle => 1.0,
            Kernel::CatmullRom => 2.0,
            Kernel::Lanczos3 => 3.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        match self {
            Kernel::Triangle => {
                let x = x.abs();
                if x < 1.0 { 1.0 - x } else { 0.0 }
            }
            Kernel::CatmullRom => {
                const A: f64 = -0.5;
                let x = x.abs();
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
            Kernel::Lanczos3 => {
                if (-3.0..3.0).contains(&x) {
                    sinc(x) * sinc(x / 3.0)
                } else {
                    0.0
                }
            }
        }
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let scaled = x * std::f64::consts::PI;
        scaled.sin() / scaled
    }
}

/// Pillow's fixed-point precision for 8-bit images.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// For each output position: the first input position and the fixed-point weights.
struct Coefficients {
    bounds: Vec<(usize, usize)>,
    weights: Vec<Vec<i32>>,
}

fn coefficients(input_size: usize, output_size: usize, kernel: Kernel) -> Coefficients {
    let scale = input_size as f64 / output_size as f64;
    let filter_scale = scale.max(1.0);
    let support = kernel.support() * filter_scale;
    let mut bounds = Vec::with_capacity(output_size);
    let mut weights = Vec::with_capacity(output_size);
    for output in 0..output_size {
        let center = (output as f64 + 0.5) * scale;
        // Pillow truncates toward zero after adding 0.5.
        let first = ((center - support + 0.5) as i64).max(0) as usize;
        let last = ((center + support + 0.5) as i64).min(input_size as i64) as usize;
        let count = last.saturating_sub(first);
        let raw: Vec<f64> = (0..count)
            .map(|offset| kernel.weight(((first + offset) as f64 - center + 0.5) / filter_scale))
            .collect();
        let total: f64 = raw.iter().sum();
        let fixed: Vec<i32> = raw
            .iter()
            .map(|weight| {
                let normalised = if total != 0.0 { weight / total } else { *weight };
                let rounding = if normalised < 0.0 { -0.5 } else { 0.5 };
                (normalised * f64::from(1u32 << PRECISION_BITS) + rounding) as i32
            })
            .collect();
        bounds.push((first, count));
        weights.push(fixed);
    }
    Coefficients { bounds, weights }
}

fn clip8(accumulated: i32) -> u8 {
    (accumulated >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Pillow accumulates in 32-bit integers: with weights summing to 2^22 and 8-bit values the
/// sum stays below 2^31 for every kernel here (the negative lobes add at most ~30 %).
const ROUNDING: i32 = 1 << (PRECISION_BITS - 1);

/// Resizes an RGB image to `width` × `height` exactly as Pillow does.
pub fn resize(image: &RgbImage, width: u32, height: u32, kernel: Kernel) -> RgbImage {
    let (input_width, input_height) = (image.width() as usize, image.height() as usize);
    let (output_width, output_height) = (width as usize, height as usize);
    // Horizontal pass (skipped when the width does not change), rounded to 8 bits.
    let horizontal: Vec<u8> = if output_width == input_width {
        image.as_raw().clone()
    } else {
        let coefficients = coefficients(input_width, output_width, kernel);
        let mut out = vec![0u8; output_width * input_height * 3];
        for (source, target) in image
            .as_raw()
            .chunks_exact(input_width * 3)
            .zip(out.chunks_exact_mut(output_width * 3))
        {
            for ((pixel, (first, count)), weights) in target
                .chunks_exact_mut(3)
                .zip(&coefficients.bounds)
                .zip(&coefficients.weights)
            {
                let window = &source[first * 3..(first + count) * 3];
                let (mut red, mut green, mut blue) = (ROUNDING, ROUNDING, ROUNDING);
                for (weight, input) in weights.iter().zip(window.chunks_exact(3)) {
                    red += i32::from(input[0]) * weight;
                    green += i32::from(input[1]) * weight;
                    blue += i32::from(input[2]) * weight;
                }
                pixel[0] = clip8(red);
                pixel[1] = clip8(green);
                pixel[2] = clip8(blue);
            }
        }
        out
    };
    // Vertical pass: each output row is a weighted sum of whole input rows.
    let pixels = if output_height == input_height {
        horizontal
    } else {
        let coefficients = coefficients(input_height, output_height, kernel);
        let row_len = output_width * 3;
        let mut out = vec![0u8; row_len * output_height];
        let mut accumulator = vec![0i32; row_len];
        for ((target, (first, count)), weights) in out
            .chunks_exact_mut(row_len)
            .zip(&coefficients.bounds)
            .zip(&coefficients.weights)
        {
            accumulator.fill(ROUNDING);
            for (offset, weight) in weights.iter().enumerate().take(*count) {
                let source = &horizontal[(first + offset) * row_len..(first + offset + 1) * row_len];
                for (sum, value) in accumulator.iter_mut().zip(source) {
                    *sum += i32::from(*value) * weight;
                }
            }
            for (pixel, sum) in target.iter_mut().zip(&accumulator) {
                *pixel = clip8(*sum);
            }
        }
        out
    };
    RgbImage::from_raw(width, height, pixels).expect("the buffer has width × height × 3 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_size_returns_the_same_pixels() {
        let image = RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8 * 40, y as u8 * 80, 7]));
        assert_eq!(resize(&image, 5, 3, Kernel::CatmullRom), image);
    }

    #[test]
    fn constant_images_stay_constant_and_weights_sum_to_one() {
        let image = RgbImage::from_pixel(8, 8, image::Rgb([200, 10, 99]));
        for kernel in [Kernel::Triangle, Kernel::CatmullRom, Kernel::Lanczos3] {
            let resized = resize(&image, 224, 224, kernel);
            assert!(resized.pixels().all(|pixel| pixel.0 == [200, 10, 99]), "{kernel:?}");
            let downscaled = resize(&image, 3, 5, kernel);
            assert!(downscaled.pixels().all(|pixel| pixel.0 == [200, 10, 99]), "{kernel:?}");
        }
        let coefficients = coefficients(8, 224, Kernel::CatmullRom);
        for weights in &coefficients.weights {
            let total: i64 = weights.iter().map(|weight| i64::from(*weight)).sum();
            assert!((total - (1 << PRECISION_BITS)).abs() <= weights.len() as i64);
        }
    }

    fn pattern(width: u32, height: u32, step: usize) -> RgbImage {
        let bytes: Vec<u8> = (0..(width * height * 3) as usize)
            .map(|i| ((i * step) % 256) as u8)
            .collect();
        RgbImage::from_raw(width, height, bytes).expect("buffer")
    }

    /// Expected bytes come from Pillow 13.0.0, e.g.
    /// `Image.frombytes("RGB", (3, 2), bytes(range(0, 180, 10))).resize((7, 5), Image.BICUBIC).tobytes()`.
    #[test]
    fn pixels_match_pillow_exactly() {
        // A black-to-white step: the bicubic ringing is clipped to 0 and 255 as in Pillow.
        let step = RgbImage::from_fn(4, 1, |x, _| {
            if x < 2 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let row: Vec<u8> = resize(&step, 16, 1, Kernel::CatmullRom)
            .pixels()
            .map(|pixel| pixel.0[0])
            .collect();
        assert_eq!(
            row,
            vec![0, 0, 0, 0, 0, 0, 21, 88, 167, 234, 255, 255, 255, 255, 255, 255]
        );
        let bicubic = resize(&pattern(3, 2, 10), 7, 5, Kernel::CatmullRom);
        assert_eq!(
            bicubic.into_raw(),
            vec![
                0, 0, 8, 0, 4, 14, 6, 16, 26, 21, 31, 41, 36, 46, 56, 48, 58, 68, 54, 64, 74, 6, 13, 23, 9, 19, 29, 21,
                31, 41, 36, 46, 56, 51, 61, 71, 63, 73, 83, 69, 79, 89, 44, 52, 62, 48, 58, 68, 60, 70, 80, 75, 85, 95,
                90, 100, 110, 102, 112, 122, 108, 118, 128, 81, 91, 101, 87, 97, 107, 99, 109, 119, 114, 124, 134, 129,
                139, 149, 141, 151, 161, 147, 157, 167, 96, 106, 116, 102, 112, 122, 114, 124, 134, 129, 139, 149, 144,
                154, 164, 156, 166, 176, 162, 172, 182
            ]
        );
        let lanczos = resize(&pattern(9, 6, 37), 4, 3, Kernel::Lanczos3);
        assert_eq!(
            lanczos.into_raw(),
            vec![
                131, 90, 94, 133, 143, 109, 103, 130, 145, 126, 106, 140, 127, 162, 145, 85, 112, 159, 166, 100, 111,
                124, 158, 94, 125, 113, 163, 148, 118, 100, 118, 155, 133, 120, 112, 144
            ]
        );
        let bilinear = resize(&pattern(9, 6, 37), 5, 13, Kernel::Triangle).into_raw();
        assert_eq!(
            &bilinear[..24],
            &[
                63, 82, 119, 156, 65, 102, 128, 165, 66, 92, 129, 166, 75, 112, 149, 83, 81, 114, 151, 85, 97, 123,
                160, 87
            ]
        );
        assert_eq!(&bilinear[bilinear.len() - 6..], &[137, 95, 132, 169, 188, 97, 134][1..]);
    }
}
