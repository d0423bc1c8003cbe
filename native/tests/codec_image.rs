//! PNG and JPEG codecs: exact PNG round trips (uint8 and uint16, gray and RGB), JPEG within
//! tolerance, header checks against the field, errors on bad input, damaged JPEG data decoded.

use petastorm_native::codec::{image as img, Expect, ImageFormat, Tensor, TensorRef};
use petastorm_native::dtype::{ArrayDType, Kind};
use petastorm_native::ErrorKind;

fn u8_image(shape: &[usize]) -> Tensor {
    let (h, w) = (shape[0], shape[1]);
    let c = shape.get(2).copied().unwrap_or(1);
    // Smooth gradients with a fine checker texture, like a photo, so JPEG loses little.
    let data = (0..h * w * c)
        .map(|i| {
            let (y, x, ch) = (i / (w * c), (i / c) % w, i % c);
            (x * 160 / w + y * 60 / h + ch * 15 + (x + y) % 2 * 8) as u8
        })
        .collect();
    Tensor { dtype: ArrayDType::native(Kind::UInt, 1), shape: shape.to_vec(), fortran_order: false, data }
}

fn u16_image(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n).flat_map(|i| ((i * 2654435761) as u16).to_le_bytes()).collect();
    Tensor { dtype: ArrayDType::native(Kind::UInt, 2), shape: shape.to_vec(), fortran_order: false, data }
}

fn expect_for(t: &Tensor, shape: &[Option<usize>]) -> Expect<'static> {
    Expect { kind: Kind::UInt, itemsize: Some(t.dtype.itemsize), shape: Box::leak(shape.to_vec().into_boxed_slice()) }
}

fn exact(t: &Tensor) -> Expect<'static> {
    expect_for(t, &t.shape.iter().map(|d| Some(*d)).collect::<Vec<_>>())
}

fn decode_error(bytes: &[u8], expect: &Expect) -> String {
    let e = img::decode(bytes, expect).expect_err("must not decode");
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    e.message().to_string()
}

fn encode_error(t: &TensorRef, format: ImageFormat) -> String {
    let e = img::encode(t, format, 90).expect_err("must not encode");
    assert_eq!(e.kind(), ErrorKind::Value, "{e}");
    e.message().to_string()
}

#[test]
fn png_round_trips_exactly() {
    for t in [u8_image(&[32, 16, 3]), u8_image(&[28, 28]), u16_image(&[9, 7]), u16_image(&[5, 6, 3]), u8_image(&[1, 1])]
    {
        let png = img::encode(&t.view(), ImageFormat::Png, 0).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        assert_eq!(img::decode(&png, &exact(&t)).unwrap(), t, "{:?} {:?}", t.dtype, t.shape);
        // Open dimensions accept any size.
        let open = expect_for(&t, &vec![None; t.shape.len()]);
        assert_eq!(img::decode(&png, &open).unwrap(), t);
    }
}

#[test]
fn png_u16_is_stored_big_endian() {
    let t = Tensor {
        dtype: ArrayDType::native(Kind::UInt, 2),
        shape: vec![1, 2],
        fortran_order: false,
        data: vec![0x34, 0x12, 0xcd, 0xab],
    };
    let png = img::encode(&t.view(), ImageFormat::Png, 0).unwrap();
    let decoded = image::load_from_memory(&png).unwrap().into_luma16();
    assert_eq!(decoded.into_raw(), vec![0x1234, 0xabcd]);
}

/// Mean and max absolute difference between two equally long byte buffers.
fn diff(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert_eq!(a.len(), b.len());
    let d = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y));
    (d.clone().map(f64::from).sum::<f64>() / a.len() as f64, d.max().unwrap_or(0))
}

#[test]
fn jpeg_round_trips_within_tolerance() {
    for t in [u8_image(&[64, 48, 3]), u8_image(&[40, 30])] {
        let jpeg = img::encode(&t.view(), ImageFormat::Jpeg, 95).unwrap();
        assert!(jpeg.starts_with(b"\xff\xd8\xff"));
        let decoded = img::decode(&jpeg, &exact(&t)).unwrap();
        assert_eq!((decoded.dtype, &decoded.shape), (t.dtype, &t.shape));
        let (mean, _) = diff(&decoded.data, &t.data);
        assert!(mean < 3.0, "mean abs diff {mean}");
    }
    // Lower quality gives smaller files.
    let t = u8_image(&[64, 64, 3]);
    let q = |quality| img::encode(&t.view(), ImageFormat::Jpeg, quality).unwrap().len();
    assert!(q(20) < q(95));
}

#[test]
fn fortran_and_big_endian_inputs_encode_like_c_order() {
    let c = u8_image(&[4, 5, 3]);
    // Fortran order of the same (4, 5, 3) array.
    let mut f = vec![0u8; 60];
    for (i, v) in c.data.iter().enumerate() {
        let (y, x, ch) = (i / 15, (i / 3) % 5, i % 3);
        f[y + 4 * x + 20 * ch] = *v;
    }
    let ft = TensorRef { fortran_order: true, data: &f, ..c.view() };
    assert_eq!(img::encode(&ft, ImageFormat::Png, 0).unwrap(), img::encode(&c.view(), ImageFormat::Png, 0).unwrap());

    let le = u16_image(&[3, 4]);
    let be: Vec<u8> = le.data.chunks(2).flat_map(|p| [p[1], p[0]]).collect();
    let bt = TensorRef { dtype: ArrayDType::parse(">u2").unwrap(), data: &be, ..le.view() };
    assert_eq!(img::encode(&bt, ImageFormat::Png, 0).unwrap(), img::encode(&le.view(), ImageFormat::Png, 0).unwrap());
}

#[test]
fn unsupported_arrays_are_value_errors() {
    let f4 = Tensor {
        dtype: ArrayDType::native(Kind::Float, 4),
        shape: vec![2, 2],
        fortran_order: false,
        data: vec![0; 16],
    };
    assert!(encode_error(&f4.view(), ImageFormat::Png).contains("'<f4'"));
    let rgba = u8_image(&[4, 4, 4]);
    assert!(encode_error(&rgba.view(), ImageFormat::Png).contains("(4, 4, 4)"));
    encode_error(&u8_image(&[4, 4, 3, 1]).view(), ImageFormat::Png);
    encode_error(&TensorRef { shape: &[12], ..u8_image(&[3, 4]).view() }, ImageFormat::Jpeg);
    encode_error(&u8_image(&[0, 4, 3]).view(), ImageFormat::Png);
    encode_error(&u16_image(&[4, 4]).view(), ImageFormat::Jpeg);
    let bool_image = Tensor { dtype: ArrayDType::native(Kind::Bool, 1), ..u8_image(&[2, 2]) };
    encode_error(&bool_image.view(), ImageFormat::Png);
    // Data length must match the shape.
    let short = u8_image(&[4, 4]);
    encode_error(&TensorRef { data: &short.data[1..], ..short.view() }, ImageFormat::Png);
    // JPEG sides are limited to 65535.
    let wide = Tensor {
        dtype: ArrayDType::native(Kind::UInt, 1),
        shape: vec![1, 70000],
        fortran_order: false,
        data: vec![0; 70000],
    };
    encode_error(&wide.view(), ImageFormat::Jpeg);
}

#[test]
fn header_mismatches_are_decode_errors_naming_both_sides() {
    let rgb = u8_image(&[32, 16, 3]);
    let gray = u8_image(&[32, 16]);
    for format in [ImageFormat::Png, ImageFormat::Jpeg] {
        let rgb_file = img::encode(&rgb.view(), format, 90).unwrap();
        let gray_file = img::encode(&gray.view(), format, 90).unwrap();
        let message = decode_error(&gray_file, &exact(&rgb));
        assert!(message.contains("32x16 RGB uint8") && message.contains("32x16 gray uint8"), "{message}");
        decode_error(&rgb_file, &exact(&gray));
        let message = decode_error(&rgb_file, &expect_for(&rgb, &[Some(16), Some(32), Some(3)]));
        assert!(message.contains("16x32") && message.contains("32x16"), "{message}");
        decode_error(&rgb_file, &expect_for(&rgb, &[Some(32), None, Some(4)]));
        decode_error(&rgb_file, &Expect { kind: Kind::UInt, itemsize: Some(2), shape: &[None, None, Some(3)] });
        decode_error(&rgb_file, &Expect { kind: Kind::Float, itemsize: Some(4), shape: &[None, None, Some(3)] });
        decode_error(&rgb_file, &Expect { kind: Kind::UInt, itemsize: Some(1), shape: &[None] });
        // An open last dimension means RGB.
        assert_eq!(img::decode(&rgb_file, &expect_for(&rgb, &[None, None, None])).unwrap().shape, vec![32, 16, 3]);
    }
    let png16 = img::encode(&u16_image(&[32, 16]).view(), ImageFormat::Png, 0).unwrap();
    assert!(decode_error(&png16, &exact(&gray)).contains("uint16"));
}

#[test]
fn rgba_and_gray_alpha_pngs_are_refused() {
    for color in [image::ExtendedColorType::Rgba8, image::ExtendedColorType::La8] {
        let channels = if color == image::ExtendedColorType::Rgba8 { 4 } else { 2 };
        let mut png = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut png),
            &vec![7; 6 * channels],
            3,
            2,
            color,
        )
        .unwrap();
        let message = decode_error(&png, &Expect { kind: Kind::UInt, itemsize: Some(1), shape: &[None, None, None] });
        assert!(message.contains("2x3"), "{message}");
    }
}

#[test]
fn corrupt_and_truncated_files_are_decode_errors() {
    let t = u8_image(&[24, 20, 3]);
    let expect = exact(&t);
    decode_error(b"", &expect);
    decode_error(b"GIF89a....", &expect);
    for format in [ImageFormat::Png, ImageFormat::Jpeg] {
        let good = img::encode(&t.view(), format, 90).unwrap();
        // Any cut into the data fails (a PNG's final IEND chunk is not needed for the pixels).
        let data_end = if format == ImageFormat::Png { good.len() - 12 } else { good.len() };
        for len in 0..data_end {
            decode_error(&good[..len], &expect);
        }
        // Byte flips must never panic (JPEG, like libjpeg, may decode damaged data).
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0xa5;
            if let Ok(decoded) = img::decode(&bad, &expect) {
                assert_eq!(decoded.shape, t.shape);
            }
        }
    }
}

#[test]
fn damaged_jpeg_data_decodes_to_a_damaged_image_as_libjpeg_does() {
    // As in OpenCV (upstream): corrupt entropy data is a libjpeg warning, not an error.
    let t = u8_image(&[64, 64, 3]);
    let good = img::encode(&t.view(), ImageFormat::Jpeg, 90).unwrap();
    let clean = img::decode(&good, &exact(&t)).unwrap();
    let scan = good.windows(2).position(|w| w == [0xff, 0xda]).unwrap();
    let mut bad = good.clone();
    // Zero a run in the middle of the scan data (zeros never form a marker).
    let mid = scan + (good.len() - scan) / 2;
    bad[mid..mid + 16].fill(0);
    let damaged = img::decode(&bad, &exact(&t)).unwrap();
    assert_eq!(damaged.shape, t.shape);
    assert_ne!(damaged.data, clean.data);
}

#[test]
fn oversized_headers_are_refused_before_decoding() {
    // A PNG announcing 60000x60000 RGB (10.8 GB) with an empty IDAT behind it.
    let chunk = |kind: &[u8], body: &[u8]| {
        let mut typed = kind.to_vec();
        typed.extend_from_slice(body);
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&typed);
        out.extend_from_slice(&crc32(&typed).to_be_bytes());
        out
    };
    let ihdr = |w: u32, h: u32| {
        let mut body = w.to_be_bytes().to_vec();
        body.extend_from_slice(&h.to_be_bytes());
        body.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend(chunk(b"IHDR", &body));
        out.extend(chunk(b"IDAT", &[]));
        out.extend(chunk(b"IEND", &[]));
        out
    };
    let open = Expect { kind: Kind::UInt, itemsize: Some(1), shape: &[None, None, Some(3)] };
    assert!(decode_error(&ihdr(60000, 60000), &open).contains("60000x60000"));
    let fixed = Expect { kind: Kind::UInt, itemsize: Some(1), shape: &[Some(32), Some(16), Some(3)] };
    decode_error(&ihdr(60000, 60000), &fixed);

    // A JPEG whose frame header (SOF0) is patched to 60000x60000.
    let mut jpeg = img::encode(&u8_image(&[32, 16, 3]).view(), ImageFormat::Jpeg, 90).unwrap();
    let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xea, 0x60, 0xea, 0x60]);
    assert!(decode_error(&jpeg, &open).contains("60000x60000"));
    decode_error(&jpeg, &fixed);
}

/// CRC-32 (IEEE) as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, b| {
        (0..8).fold(crc ^ u32::from(*b), |c, _| if c & 1 == 1 { (c >> 1) ^ 0xedb8_8320 } else { c >> 1 })
    })
}

#[test]
fn decoding_into_a_slot_gives_the_same_pixels_and_refuses_a_wrong_size() {
    for (t, format) in [
        (u8_image(&[12, 20, 3]), ImageFormat::Png),
        (u16_image(&[7, 9]), ImageFormat::Png),
        (u8_image(&[16, 24, 3]), ImageFormat::Jpeg),
        (u8_image(&[16, 24]), ImageFormat::Jpeg),
    ] {
        let bytes = img::encode(&t.view(), format, 90).unwrap();
        let expect = exact(&t);
        let decoded = img::decode(&bytes, &expect).unwrap();
        let mut slot = vec![0xAB; decoded.data.len()];
        img::decode_into(&bytes, &expect, &mut slot).unwrap();
        assert_eq!(slot, decoded.data, "{format:?} {:?}", t.shape);

        let mut short = vec![0; decoded.data.len() - 1];
        let e = img::decode_into(&bytes, &expect, &mut short).expect_err("a slot one byte short");
        assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
        assert!(e.message().contains(&format!("expected {}", short.len())), "{e}");
        let other = expect_for(&t, &[Some(t.shape[0] + 1), Some(t.shape[1])]);
        let e = img::decode_into(&bytes, &other, &mut slot).expect_err("the header does not match the field");
        assert!(e.message().contains("expected a"), "{e}");
    }
}
