//! NPY and NPZ codecs: bytes identical to `numpy.save`, round trips of every dtype and
//! shape class, and errors (never panics) on corrupt, truncated or oversized input.

use std::io::{Cursor, Write};

use petastorm_native::codec::{npy, npz, Expect, Tensor, TensorRef};
use petastorm_native::dtype::{ArrayDType, Kind};
use petastorm_native::ErrorKind;

// `numpy.save` output (numpy 2.2.6), e.g. `np.save(b, np.arange(6, dtype='<f4').reshape(2, 3))`.
const F4_2X3: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                          \n\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@";
// np.array(['hello', 'world!'], dtype='<U11')
const U11: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<U11', 'fortran_order': False, 'shape': (2,), }                                                           \nh\x00\x00\x00e\x00\x00\x00l\x00\x00\x00l\x00\x00\x00o\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00w\x00\x00\x00o\x00\x00\x00r\x00\x00\x00l\x00\x00\x00d\x00\x00\x00!\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";
// np.array(7, dtype='<i8')
const I8_SCALAR: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (), }                                                              \n\x07\x00\x00\x00\x00\x00\x00\x00";
// np.arange(3, dtype='>f8')
const F8_BIG: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }                                                            \n\x00\x00\x00\x00\x00\x00\x00\x00?\xf0\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x00";
// np.asfortranarray(np.arange(6, dtype='<u2').reshape(2, 3))
const U2_FORTRAN: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<u2', 'fortran_order': True, 'shape': (2, 3), }                                                           \n\x00\x00\x03\x00\x01\x00\x04\x00\x02\x00\x05\x00";
// np.zeros((0, 5), dtype='|b1')
const B1_EMPTY: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (0, 5), }                                                          \n";
// np.array([b'ab', b'c'], dtype='S5')
const S5: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|S5', 'fortran_order': False, 'shape': (2,), }                                                            \nab\x00\x00\x00c\x00\x00\x00\x00";
// np.zeros((123456789012, 0), dtype='u1')
const U1_BIG_DIM: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (123456789012, 0), }                                               \n";
// np.full((1,) * 36, 9, dtype='<i2'): the one case where NumPy pads a whole 64 bytes.
const I2_36D: &[u8] = b"\x93NUMPY\x01\x00\xf6\x00{'descr': '<i2', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }                                                                                    \n\x09\x00";

fn dt(descr: &str) -> ArrayDType {
    ArrayDType::parse(descr).unwrap()
}

fn tensor(descr: &str, shape: &[usize], fortran_order: bool, data: Vec<u8>) -> Tensor {
    Tensor { dtype: dt(descr), shape: shape.to_vec(), fortran_order, data }
}

/// What a field of exactly this dtype and shape declares.
fn expect_of<'a>(dtype: ArrayDType, shape: &'a [Option<usize>]) -> Expect<'a> {
    Expect { kind: dtype.kind, itemsize: Some(dtype.itemsize), shape }
}

fn fixed(shape: &[usize]) -> Vec<Option<usize>> {
    shape.iter().map(|d| Some(*d)).collect()
}

fn le_bytes<const N: usize, T>(values: impl IntoIterator<Item = T>, f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    values.into_iter().flat_map(f).collect()
}

fn ucs4(strings: &[&str], chars: usize) -> Vec<u8> {
    strings
        .iter()
        .flat_map(|s| {
            let mut units: Vec<u32> = s.chars().map(u32::from).collect();
            units.resize(chars, 0);
            units.into_iter().flat_map(u32::to_le_bytes)
        })
        .collect()
}

/// Decodes with the expectation of exactly the tensor's dtype and shape.
fn decode_as(bytes: &[u8], dtype: ArrayDType, shape: &[usize]) -> Tensor {
    npy::decode(bytes, &expect_of(dtype, &fixed(shape))).unwrap()
}

#[test]
fn encode_matches_numpy_save_bytes() {
    let cases = [
        (F4_2X3, tensor("<f4", &[2, 3], false, le_bytes((0..6).map(|v| v as f32), f32::to_le_bytes))),
        (U11, tensor("<U11", &[2], false, ucs4(&["hello", "world!"], 11))),
        (I8_SCALAR, tensor("<i8", &[], false, 7i64.to_le_bytes().to_vec())),
        (F8_BIG, tensor(">f8", &[3], false, le_bytes([0.0f64, 1.0, 2.0], f64::to_be_bytes))),
        (U2_FORTRAN, tensor("<u2", &[2, 3], true, le_bytes([0u16, 3, 1, 4, 2, 5], u16::to_le_bytes))),
        (B1_EMPTY, tensor("|b1", &[0, 5], false, vec![])),
        (S5, tensor("|S5", &[2], false, b"ab\0\0\0c\0\0\0\0".to_vec())),
        (U1_BIG_DIM, tensor("|u1", &[123456789012, 0], false, vec![])),
        (I2_36D, tensor("<i2", &[1; 36], false, vec![9, 0])),
    ];
    for (expected, t) in cases {
        assert_eq!(npy::encode(&t.view()).unwrap(), expected, "{:?} {:?}", t.dtype, t.shape);
    }
}

#[test]
fn fortran_flag_on_c_contiguous_layouts_is_written_as_c_order() {
    // NumPy reports (1, 5) and (0, 5) arrays as C-contiguous whatever their flags.
    for shape in [&[1usize, 5][..], &[0, 5], &[5], &[]] {
        let len: usize = shape.iter().product();
        let data = vec![1u8; len];
        let f = npy::encode(&TensorRef { dtype: dt("|u1"), shape, fortran_order: true, data: &data }).unwrap();
        let c = npy::encode(&TensorRef { dtype: dt("|u1"), shape, fortran_order: false, data: &data }).unwrap();
        assert_eq!(f, c, "{shape:?}");
    }
}

#[test]
fn decode_numpy_bytes_to_c_order_little_endian() {
    let t = decode_as(F8_BIG, dt("<f8"), &[3]);
    assert_eq!(t, tensor("<f8", &[3], false, le_bytes([0.0f64, 1.0, 2.0], f64::to_le_bytes)));
    let t = decode_as(U2_FORTRAN, dt("<u2"), &[2, 3]);
    assert_eq!(t, tensor("<u2", &[2, 3], false, le_bytes(0u16..6, u16::to_le_bytes)));
    let t = npy::decode(U11, &Expect { kind: Kind::Unicode, itemsize: None, shape: &[None] }).unwrap();
    assert_eq!(t, tensor("<U11", &[2], false, ucs4(&["hello", "world!"], 11)));
    assert_eq!(decode_as(I8_SCALAR, dt("<i8"), &[]).data, 7i64.to_le_bytes());
    assert_eq!(decode_as(U1_BIG_DIM, dt("|u1"), &[123456789012, 0]).data, Vec::<u8>::new());
    assert_eq!(decode_as(I2_36D, dt("<i2"), &[1; 36]).data, vec![9, 0]);
}

/// A deterministic byte pattern that is a valid value for every dtype (bools are 0/1).
fn sample(dtype: ArrayDType, n: usize) -> Vec<u8> {
    (0..n * dtype.itemsize)
        .map(|i| match dtype.kind {
            Kind::Bool => (i % 3 == 0) as u8,
            _ => (i.wrapping_mul(37) % 251) as u8,
        })
        .collect()
}

const ALL_DTYPES: [&str; 14] =
    ["|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<U7", "|S5"];

#[test]
fn round_trips_every_dtype_and_shape_class() {
    for descr in ALL_DTYPES {
        for shape in [&[3usize, 4][..], &[], &[0, 5], &[7], &[2, 3, 4]] {
            let dtype = dt(descr);
            let t = tensor(descr, shape, false, sample(dtype, shape.iter().product()));
            let npy_bytes = npy::encode(&t.view()).unwrap();
            assert_eq!(npy_bytes.len() % 64, t.data.len() % 64, "data is 64-byte aligned");
            assert_eq!(decode_as(&npy_bytes, dtype, shape), t, "npy {descr} {shape:?}");
            let npz_bytes = npz::encode(&t.view()).unwrap();
            assert_eq!(npz::decode(&npz_bytes, &expect_of(dtype, &fixed(shape))).unwrap(), t, "npz {descr} {shape:?}");
        }
    }
}

/// Reverses each `unit`-byte group: little ↔ big endian.
fn swapped(data: &[u8], unit: usize) -> Vec<u8> {
    data.chunks(unit).flat_map(|c| c.iter().rev().copied()).collect()
}

#[test]
fn big_endian_arrays_decode_to_little_endian() {
    for descr in [">i2", ">i4", ">i8", ">u2", ">u4", ">u8", ">f2", ">f4", ">f8", ">U3"] {
        let big = dt(descr);
        let little = big.to_little_endian();
        let le = sample(little, 6);
        let be = tensor(descr, &[2, 3], false, swapped(&le, big.swap_unit()));
        let bytes = npy::encode(&be.view()).unwrap();
        assert!(std::str::from_utf8(&bytes[10..40]).unwrap().contains(&format!("'{descr}'")));
        assert_eq!(
            decode_as(&bytes, little, &[2, 3]),
            Tensor { dtype: little, shape: vec![2, 3], fortran_order: false, data: le }
        );
    }
}

#[test]
fn fortran_arrays_decode_to_c_order() {
    // (2, 3, 2) int16: C element (i, j, k) = 100i + 10j + k, stored at F offset i + 2j + 6k.
    let shape = [2usize, 3, 2];
    let mut c = [0i16; 12];
    let mut f = [0i16; 12];
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..2 {
                let v = (100 * i + 10 * j + k) as i16;
                c[i * 6 + j * 2 + k] = v;
                f[i + 2 * j + 6 * k] = v;
            }
        }
    }
    for (descr, to_bytes) in [("<i2", i16::to_le_bytes as fn(i16) -> [u8; 2]), (">i2", i16::to_be_bytes)] {
        let t = tensor(descr, &shape, true, le_bytes(f.iter().copied(), to_bytes));
        let bytes = npy::encode(&t.view()).unwrap();
        let decoded = decode_as(&bytes, dt("<i2"), &shape);
        assert_eq!(decoded, tensor("<i2", &shape, false, le_bytes(c.iter().copied(), i16::to_le_bytes)), "{descr}");
    }
}

/// Rewrites a v1.0 file as version `major` (2 or 3) with a 4-byte header length.
fn as_version(v1: &[u8], major: u8) -> Vec<u8> {
    let len = u16::from_le_bytes([v1[8], v1[9]]) as u32;
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[major, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&v1[10..]);
    out
}

#[test]
fn reads_v2_and_v3_headers_and_other_spellings() {
    for major in [2, 3] {
        assert_eq!(decode_as(&as_version(F4_2X3, major), dt("<f4"), &[2, 3]), decode_as(F4_2X3, dt("<f4"), &[2, 3]));
    }
    let data = [1u8, 2, 3];
    for header in [
        "{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"|u1\"}",
        "{'descr':'<u1','fortran_order':False,'shape':(3L,)}",
        "{'descr': u'|u1', 'fortran_order': False, 'shape': (3,),}\n\t ",
    ] {
        let t = decode_as(&with_header(header, &data), dt("|u1"), &[3]);
        assert_eq!(t.data, data, "{header}");
    }
}

/// An NPY v1.0 file with the given header text (unpadded) and data.
fn with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn decode_error(bytes: &[u8], expect: &Expect) -> String {
    let e = npy::decode(bytes, expect).expect_err("must not decode");
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    e.message().to_string()
}

#[test]
fn truncated_or_extended_files_are_decode_errors() {
    let expect = expect_of(dt("<f4"), &[Some(2), Some(3)]);
    for len in 0..F4_2X3.len() {
        decode_error(&F4_2X3[..len], &expect);
    }
    let mut longer = F4_2X3.to_vec();
    longer.push(0);
    decode_error(&longer, &expect);
}

#[test]
fn bad_headers_are_decode_errors() {
    let any_u1 = Expect { kind: Kind::UInt, itemsize: Some(1), shape: &[None] };
    for header in [
        "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }",
        "{'descr': [('a', '<u1')], 'fortran_order': False, 'shape': (3,), }",
        "{'descr': '|V1', 'fortran_order': False, 'shape': (3,), }",
        "{'descr': '|u1', 'shape': (3,), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
        "{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (3,), }",
        "{'descr': '|u1', 'fortran_order': 0, 'shape': (3,), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (-3,), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (3.0,), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': [3], }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (3), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': ('3',), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), } junk",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), ",
        "['descr', '|u1']",
        "",
    ] {
        decode_error(&with_header(header, &[1, 2, 3]), &any_u1);
    }
    decode_error(b"\x93NUMPX\x01\x00\x00\x00", &any_u1);
    decode_error(&as_version(F4_2X3, 4), &any_u1);
    // A header length pointing past the end of the file.
    decode_error(b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}", &any_u1);
}

#[test]
fn huge_announced_shapes_fail_before_allocating() {
    let open = Expect { kind: Kind::UInt, itemsize: Some(1), shape: &[None, None] };
    let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (50000000, 1000), }";
    assert!(decode_error(&with_header(header, &[0; 16]), &open).contains("50000000000"));
    let overflow = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }";
    let f8 = Expect { kind: Kind::Float, itemsize: Some(8), shape: &[None, None] };
    decode_error(&with_header(overflow, &[0; 16]), &f8);
    let too_big = "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999999,), }";
    decode_error(&with_header(too_big, &[0; 16]), &Expect { shape: &[None], ..open });
}

#[test]
fn dtype_and_shape_must_match_the_field() {
    let wants = |kind, itemsize, shape: &'static [Option<usize>]| Expect { kind, itemsize, shape };
    // F4_2X3 holds '<f4' (2, 3).
    for expect in [
        wants(Kind::Float, Some(8), &[Some(2), Some(3)]),
        wants(Kind::Int, Some(4), &[Some(2), Some(3)]),
        wants(Kind::Float, Some(4), &[Some(3), Some(2)]),
        wants(Kind::Float, Some(4), &[None]),
        wants(Kind::Float, Some(4), &[None, None, None]),
    ] {
        decode_error(F4_2X3, &expect);
    }
    assert!(npy::decode(F4_2X3, &wants(Kind::Float, Some(4), &[None, Some(3)])).is_ok());
    // bool and uint8 differ.
    decode_error(B1_EMPTY, &wants(Kind::UInt, Some(1), &[None, None]));
    let message = decode_error(F4_2X3, &wants(Kind::Float, Some(4), &[None, Some(4)]));
    assert!(message.contains("(None, 4)") && message.contains("(2, 3)"), "{message}");
}

#[test]
fn encode_checks_data_length() {
    for (shape, len) in [(&[2usize, 3][..], 23), (&[2, 3], 25), (&[], 0), (&[usize::MAX, 2], 0)] {
        let data = vec![0u8; len];
        let t = TensorRef { dtype: dt("<f4"), shape, fortran_order: false, data: &data };
        assert_eq!(npy::encode(&t).unwrap_err().kind(), ErrorKind::Value);
        assert_eq!(npz::encode(&t).unwrap_err().kind(), ErrorKind::Value);
    }
}

fn npz_error(bytes: &[u8], expect: &Expect) -> String {
    let e = npz::decode(bytes, expect).expect_err("must not decode");
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    e.message().to_string()
}

/// A zip with the given (name, stored-or-deflated contents) members.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn npz_member_selection() {
    let expect = expect_of(dt("<f4"), &[Some(2), Some(3)]);
    let reference = decode_as(F4_2X3, dt("<f4"), &[2, 3]);
    assert_eq!(npz::decode(&zip_of(&[("other.npy", F4_2X3)]), &expect).unwrap(), reference);
    assert_eq!(npz::decode(&zip_of(&[("x.npy", I8_SCALAR), ("arr.npy", F4_2X3)]), &expect).unwrap(), reference);
    assert!(npz_error(&zip_of(&[("x.npy", F4_2X3), ("y.npy", F4_2X3)]), &expect).contains("arr.npy"));
    npz_error(&zip_of(&[]), &expect);
    npz_error(&zip_of(&[("arr.npy", b"not npy")]), &expect);
}

#[test]
fn npz_corruption_is_a_decode_error() {
    let t = tensor("<f4", &[128], false, le_bytes((0..128).map(|v| v as f32 * 0.5), f32::to_le_bytes));
    let good = npz::encode(&t.view()).unwrap();
    let expect = expect_of(dt("<f4"), &[Some(128)]);
    assert_eq!(npz::decode(&good, &expect).unwrap(), t);
    for len in 0..good.len() {
        npz_error(&good[..len], &expect);
    }
    // Flipping any byte either still decodes to the same array (bytes zip ignores) or errors.
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x5a;
        if let Ok(decoded) = npz::decode(&bad, &expect) {
            assert_eq!(decoded, t, "flipped byte {at} decoded to other data");
        }
    }
}

#[test]
fn npz_members_larger_than_the_field_allows_are_refused_before_reading() {
    // 400 KB of zeros deflate to almost nothing: a small zip that inflates far beyond a (4,) field.
    let big = tensor("<f4", &[100_000], false, vec![0; 400_000]);
    let bomb = npz::encode(&big.view()).unwrap();
    assert!(bomb.len() < 4096);
    let message = npz_error(&bomb, &expect_of(dt("<f4"), &[Some(4)]));
    assert!(message.contains("declares"), "{message}");
    // An open dimension allows it.
    assert_eq!(npz::decode(&bomb, &expect_of(dt("<f4"), &[None])).unwrap(), big);
}
