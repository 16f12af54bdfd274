//! Image bytes → the f32 tensor an image tower takes: decode (format guessed from the content,
//! first frame of a GIF, EXIF orientation applied) → RGB → resize the shortest side → centre
//! crop → `(x * scale - mean) / std`, in NCHW or NHWC. Sizes and offsets are rounded as
//! `models/efficientnet-lite0/export.py` and `bench/embed_reference.py` round them, so the
//! vectors match the ones the export was checked with.

use std::io::Cursor;

use image::imageops::FilterType;

use super::resample::Kernel;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits, RgbImage};

use super::EmbedError;
use super::manifest::{Layout, Preprocess, ResizeFilter};

/// Headroom in bytes over the pixel buffer for a decoder's own tables and buffers.
const DECODER_OVERHEAD_BYTES: u64 = 64 * 1024 * 1024;

/// Worst case of the formats we decode: RGBA with 16 bits per channel.
const MAX_BYTES_PER_PIXEL: u64 = 8;

fn bad_image(message: String) -> EmbedError {
    EmbedError::BadImage(message)
}

fn convert_image_error(error: ImageError) -> EmbedError {
    match error {
        ImageError::Unsupported(unsupported) => bad_image(format!("unsupported image format: {unsupported}")),
        ImageError::Limits(limit) => bad_image(format!("the image is too large to decode: {limit}")),
        ImageError::Decoding(_) | ImageError::Encoding(_) | ImageError::Parameter(_) | ImageError::IoError(_) => {
            bad_image(format!("the image is corrupt: {error}"))
        }
    }
}

/// Decodes `bytes` into upright RGB. Refuses images over `max_pixels` from the header's
/// dimensions, before any pixel is decoded, so a small file cannot claim gigabytes.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<RgbImage, EmbedError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| bad_image(format!("the image is corrupt: {error}")))?;
    if reader.format().is_none() {
        return Err(bad_image(
            "unsupported image format: expected JPEG, PNG, WebP, GIF, BMP or TIFF".to_string(),
        ));
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(
        max_pixels
            .saturating_mul(MAX_BYTES_PER_PIXEL)
            .saturating_add(DECODER_OVERHEAD_BYTES),
    );
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(convert_image_error)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(bad_image(format!(
            "the image has {pixels} pixels ({width}x{height}), more than the limit of {max_pixels}"
        )));
    }
    if pixels == 0 {
        return Err(bad_image("the image is corrupt: it has no pixels".to_string()));
    }
    // A broken EXIF block must not cost the image: the pixels are still good.
    let orientation_opt = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(convert_image_error)?;
    if let Some(orientation) = orientation_opt {
        image.apply_orientation(orientation);
    }
    Ok(match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        // Alpha is dropped, not composited, as PIL's convert("RGB") does.
        other => other.to_rgb8(),
    })
}

/// How a filter named in a manifest resizes: Pillow's resampling for the kernels models are
/// evaluated with, the `image` crate's for nearest neighbour.
#[derive(Debug, Clone, Copy)]
enum Resizer {
    Pillow(Kernel),
    Image(FilterType),
}

fn resizer(filter: ResizeFilter) -> Resizer {
    match filter {
        ResizeFilter::CatmullRom => Resizer::Pillow(Kernel::CatmullRom),
        ResizeFilter::Triangle => Resizer::Pillow(Kernel::Triangle),
        ResizeFilter::Lanczos3 => Resizer::Pillow(Kernel::Lanczos3),
        ResizeFilter::Nearest => Resizer::Image(FilterType::Nearest),
    }
}

/// The size after resizing the shortest side to `shortest`; the other side is rounded half
/// to even (Python's `round(long * shortest / short)`).
fn resized_size(width: u32, height: u32, shortest: u32) -> (u32, u32) {
    debug_assert!(width > 0 && height > 0);
    let scale_long_side = |long: u32, short: u32| {
        let scaled = (f64::from(long) * f64::from(shortest) / f64::from(short)).round_ties_even();
        (scaled as u32).max(shortest)
    };
    if width <= height {
        (shortest, scale_long_side(height, width))
    } else {
        (scale_long_side(width, height), shortest)
    }
}

/// The top-left corner of a centred `crop` in `size` (the extra pixel of an odd margin goes
/// to the right or bottom).
fn crop_offset(size: u32, crop: u32) -> u32 {
    debug_assert!(crop <= size);
    (size - crop) / 2
}

/// The preprocessing constants of one image tower.
#[derive(Debug, Clone)]
pub struct ImagePreprocessor {
    resize_shortest: u32,
    filter: Resizer,
    crop_width: u32,
    crop_height: u32,
    /// Per channel: `x * multiplier + offset` is `(x * scale - mean) / std`.
    multiplier: [f32; 3],
    offset: [f32; 3],
    layout: Layout,
}

impl ImagePreprocessor {
    pub fn new(preprocess: &Preprocess) -> ImagePreprocessor {
        let [crop_width, crop_height] = preprocess.crop;
        let multiplier = std::array::from_fn(|channel| preprocess.scale / preprocess.std[channel]);
        let offset = std::array::from_fn(|channel| -preprocess.mean[channel] / preprocess.std[channel]);
        ImagePreprocessor {
            resize_shortest: preprocess.resize_shortest,
            filter: resizer(preprocess.filter),
            crop_width,
            crop_height,
            multiplier,
            offset,
            layout: preprocess.layout,
        }
    }

    /// Floats per image in the tensor.
    pub fn tensor_len(&self) -> usize {
        3 * self.crop_width as usize * self.crop_height as usize
    }

    /// The tower input's shape for `batch` images.
    pub fn input_shape(&self, batch: usize) -> [usize; 4] {
        let (height, width) = (self.crop_height as usize, self.crop_width as usize);
        match self.layout {
            Layout::Nchw => [batch, 3, height, width],
            Layout::Nhwc => [batch, height, width, 3],
        }
    }

    /// Resizes and crops `image`, then writes its normalised values into `out`
    /// (`tensor_len()` floats).
    pub fn write_tensor(&self, image: &RgbImage, out: &mut [f32]) {
        assert_eq!(out.len(), self.tensor_len(), "the output slice must hold one image");
        let (new_width, new_height) = resized_size(image.width(), image.height(), self.resize_shortest);
        let resized_opt = if (new_width, new_height) == image.dimensions() {
            None
        } else {
            Some(match self.filter {
                Resizer::Pillow(kernel) => super::resample::resize(image, new_width, new_height, kernel),
                Resizer::Image(filter) => image::imageops::resize(image, new_width, new_height, filter),
            })
        };
        let resized = resized_opt.as_ref().unwrap_or(image);
        let left = crop_offset(new_width, self.crop_width);
        let top = crop_offset(new_height, self.crop_height);
        let (width, height) = (self.crop_width as usize, self.crop_height as usize);
        let plane = width * height;
        let source_row_len = resized.width() as usize * 3;
        let raw = resized.as_raw();
        for row in 0..height {
            let row_start = (top as usize + row) * source_row_len + left as usize * 3;
            let pixels = raw[row_start..row_start + width * 3].chunks_exact(3);
            for (column, pixel) in pixels.enumerate() {
                for (channel, component) in pixel.iter().enumerate() {
                    let value = f32::from(*component) * self.multiplier[channel] + self.offset[channel];
                    let index = match self.layout {
                        Layout::Nchw => channel * plane + row * width + column,
                        Layout::Nhwc => (row * width + column) * 3 + channel,
                    };
                    out[index] = value;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use image::{ImageFormat, Rgb, Rgba, RgbaImage};

    use super::*;

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Cursor::new(Vec::new());
        image.write_to(&mut bytes, format).expect("encode");
        bytes.into_inner()
    }

    /// Red on the left half, blue on the right half.
    fn halves(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        })
    }

    fn preprocess(layout: Layout) -> Preprocess {
        Preprocess {
            resize_shortest: 8,
            filter: ResizeFilter::CatmullRom,
            crop: [8, 8],
            scale: 1.0 / 255.0,
            mean: [0.5, 0.5, 0.5],
            std: [0.5, 0.5, 0.5],
            layout,
        }
    }

    #[test]
    fn png_and_jpeg_decode_to_rgb() {
        let png = encode(&DynamicImage::ImageRgb8(halves(40, 20)), ImageFormat::Png);
        let decoded = decode(&png, 1_000_000).expect("png");
        assert_eq!(decoded.dimensions(), (40, 20));
        assert_eq!(decoded.get_pixel(0, 0), &Rgb([255, 0, 0]));
        assert_eq!(decoded.get_pixel(39, 19), &Rgb([0, 0, 255]));

        let jpeg = encode(&DynamicImage::ImageRgb8(halves(64, 32)), ImageFormat::Jpeg);
        let decoded = decode(&jpeg, 1_000_000).expect("jpeg");
        assert_eq!(decoded.dimensions(), (64, 32));
        let [red, green, blue] = decoded.get_pixel(4, 16).0;
        assert!(red > 200 && green < 60 && blue < 60, "lossy red: {red} {green} {blue}");
    }

    #[test]
    fn grey_alpha_gif_and_webp_become_rgb() {
        let grey = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(5, 4, image::Luma([77])));
        assert_eq!(
            decode(&encode(&grey, ImageFormat::Png), 100)
                .expect("grey")
                .get_pixel(1, 1),
            &Rgb([77; 3])
        );
        let rgba = DynamicImage::ImageRgba8(RgbaImage::from_pixel(3, 3, Rgba([10, 20, 30, 0])));
        assert_eq!(
            decode(&encode(&rgba, ImageFormat::Png), 100)
                .expect("rgba")
                .get_pixel(0, 0),
            &Rgb([10, 20, 30])
        );
        let gif = DynamicImage::ImageRgba8(RgbaImage::from_pixel(6, 2, Rgba([0, 255, 0, 255])));
        assert_eq!(
            decode(&encode(&gif, ImageFormat::Gif), 100).expect("gif").dimensions(),
            (6, 2)
        );
        let webp = DynamicImage::ImageRgba8(RgbaImage::from_pixel(6, 2, Rgba([0, 0, 255, 255])));
        assert_eq!(
            decode(&encode(&webp, ImageFormat::WebP), 100)
                .expect("webp")
                .get_pixel(5, 1),
            &Rgb([0, 0, 255])
        );
        let bmp = DynamicImage::ImageRgb8(halves(4, 2));
        assert_eq!(
            decode(&encode(&bmp, ImageFormat::Bmp), 100).expect("bmp").dimensions(),
            (4, 2)
        );
        let tiff = DynamicImage::ImageRgb8(halves(4, 2));
        assert_eq!(
            decode(&encode(&tiff, ImageFormat::Tiff), 100)
                .expect("tiff")
                .dimensions(),
            (4, 2)
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        assert_eq!(
            decode(b"hello, not an image", 100).unwrap_err(),
            EmbedError::BadImage("unsupported image format: expected JPEG, PNG, WebP, GIF, BMP or TIFF".into())
        );
        let png = encode(&DynamicImage::ImageRgb8(halves(40, 20)), ImageFormat::Png);
        let EmbedError::BadImage(truncated) = decode(&png[..png.len() / 2], 1_000_000).unwrap_err() else {
            panic!("bad image expected");
        };
        assert!(truncated.starts_with("the image is corrupt: "), "{truncated}");
        assert_eq!(
            decode(&png, 799).unwrap_err(),
            EmbedError::BadImage("the image has 800 pixels (40x20), more than the limit of 799".into())
        );
    }

    /// A small PNG whose header is patched to claim 100000 × 100000 pixels: refused from the
    /// header alone, before the decoder allocates for the pixels.
    #[test]
    fn decompression_bombs_are_refused_before_decoding() {
        let mut png = encode(&DynamicImage::ImageRgb8(halves(4, 4)), ImageFormat::Png);
        // Signature (8 bytes), IHDR length (4), "IHDR" (4), width, height..., CRC after 13 bytes.
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            decode(&png, 50_000_000).unwrap_err(),
            EmbedError::BadImage(
                "the image has 10000000000 pixels (100000x100000), more than the limit of 50000000".into()
            )
        );
    }

    /// A JPEG whose EXIF says "rotate 90° clockwise" comes out upright (portrait).
    #[test]
    fn exif_orientation_is_applied() {
        let jpeg = encode(&DynamicImage::ImageRgb8(halves(32, 16)), ImageFormat::Jpeg);
        // APP1 "Exif\0\0" + a little-endian TIFF with one IFD entry: Orientation (0x0112) = 6.
        let mut tiff = b"II*\x00\x08\x00\x00\x00\x01\x00".to_vec();
        tiff.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
        tiff.extend([0, 0, 0, 0]);
        let mut app1 = b"Exif\x00\x00".to_vec();
        app1.extend(&tiff);
        let mut rotated = jpeg[..2].to_vec();
        rotated.extend([0xFF, 0xE1]);
        rotated.extend(u16::try_from(app1.len() + 2).expect("short").to_be_bytes());
        rotated.extend(&app1);
        rotated.extend(&jpeg[2..]);
        let decoded = decode(&rotated, 1_000_000).expect("decode");
        assert_eq!(decoded.dimensions(), (16, 32));
        // Rotating clockwise puts the left (red) half on top.
        let [red, _, blue] = decoded.get_pixel(8, 4).0;
        assert!(red > 200 && blue < 60, "top should be red: {red} {blue}");
    }

    #[test]
    fn resize_and_crop_round_like_the_reference() {
        // 640 * 224 / 480 = 298.67 → 299; 300 * 224 / 200 = 336 exactly.
        assert_eq!(resized_size(640, 480, 224), (299, 224));
        assert_eq!(resized_size(480, 640, 224), (224, 299));
        assert_eq!(resized_size(300, 200, 224), (336, 224));
        assert_eq!(resized_size(100, 100, 224), (224, 224));
        // 451 * 2 / 4 = 225.5 → 226 (half to even), 453 * 2 / 4 = 226.5 → 226.
        assert_eq!(resized_size(451, 4, 2), (226, 2));
        assert_eq!(resized_size(453, 4, 2), (226, 2));
        assert_eq!(crop_offset(299, 224), 37);
        assert_eq!(crop_offset(300, 224), 38);
        assert_eq!(crop_offset(224, 224), 0);
    }

    #[test]
    fn tensor_is_normalised_in_the_requested_layout() {
        // 32 × 16 halves → resized to 16 × 8 → centre 8 × 8 crop: columns 4..12, so the crop's
        // left half is red and its right half blue.
        let image = halves(32, 16);
        let nchw = ImagePreprocessor::new(&preprocess(Layout::Nchw));
        assert_eq!(nchw.input_shape(2), [2, 3, 8, 8]);
        let mut planar = vec![0.0; nchw.tensor_len()];
        nchw.write_tensor(&image, &mut planar);
        let at = |channel: usize, row: usize, column: usize| planar[channel * 64 + row * 8 + column];
        assert!((at(0, 3, 0) - 1.0).abs() < 1e-6, "red at left: {}", at(0, 3, 0));
        assert!((at(2, 3, 0) + 1.0).abs() < 1e-6, "no blue at left: {}", at(2, 3, 0));
        assert!((at(0, 3, 7) + 1.0).abs() < 1e-6, "no red at right: {}", at(0, 3, 7));
        assert!((at(2, 3, 7) - 1.0).abs() < 1e-6, "blue at right: {}", at(2, 3, 7));
        assert!((at(1, 5, 5) + 1.0).abs() < 1e-6, "no green anywhere");

        let nhwc = ImagePreprocessor::new(&preprocess(Layout::Nhwc));
        assert_eq!(nhwc.input_shape(1), [1, 8, 8, 3]);
        let mut interleaved = vec![0.0; nhwc.tensor_len()];
        nhwc.write_tensor(&image, &mut interleaved);
        for channel in 0..3 {
            for row in 0..8 {
                for column in 0..8 {
                    assert_eq!(interleaved[(row * 8 + column) * 3 + channel], at(channel, row, column));
                }
            }
        }
    }

    #[test]
    fn mean_and_std_apply_per_channel() {
        let settings = Preprocess {
            resize_shortest: 2,
            filter: ResizeFilter::Nearest,
            crop: [2, 2],
            scale: 0.5,
            mean: [0.0, 10.0, 20.0],
            std: [1.0, 2.0, 4.0],
            layout: Layout::Nchw,
        };
        let preprocessor = ImagePreprocessor::new(&settings);
        let image = RgbImage::from_pixel(2, 2, Rgb([100, 100, 100]));
        let mut out = vec![0.0; 12];
        preprocessor.write_tensor(&image, &mut out);
        assert_eq!(&out[..4], &[50.0; 4]);
        assert_eq!(&out[4..8], &[20.0; 4]);
        assert_eq!(&out[8..], &[7.5; 4]);
    }
}
