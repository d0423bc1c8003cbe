//! Cell codecs with Petastorm-compatible bytes: NPY, NPZ (compressed ndarray), PNG/JPEG.
//! These functions know nothing of Unischema fields; `schema::cell` checks values against
//! fields and adds the field name to errors.

pub mod cast;
pub mod image;
mod jpeg;
pub mod npy;
pub mod npz;
pub mod pixels;

use std::borrow::Cow;

use crate::dtype::{ArrayDType, Kind};
use crate::error::{Error, Result};

/// An owned n-dimensional array: raw element bytes in C order (or Fortran order when flagged).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dtype: ArrayDType,
    pub shape: Vec<usize>,
    pub fortran_order: bool,
    pub data: Vec<u8>,
}

/// A borrowed view of an array's raw bytes, as handed over by Python or the JVM.
#[derive(Debug, Clone, Copy)]
pub struct TensorRef<'a> {
    pub dtype: ArrayDType,
    pub shape: &'a [usize],
    pub fortran_order: bool,
    pub data: &'a [u8],
}

impl Tensor {
    /// Borrows this tensor as a [`TensorRef`].
    pub fn view(&self) -> TensorRef<'_> {
        TensorRef { dtype: self.dtype, shape: &self.shape, fortran_order: self.fortran_order, data: &self.data }
    }
}

impl TensorRef<'_> {
    /// Checks that `data` holds exactly `product(shape) × itemsize` bytes (`Value` error otherwise).
    pub fn check_len(&self) -> Result<()> {
        match byte_len(self.dtype, self.shape) {
            Some(n) if n == self.data.len() => Ok(()),
            n => Err(Error::value(format!(
                "array data is {} bytes, but shape {} of dtype '{}' needs {}",
                self.data.len(),
                fmt_shape(self.shape.iter().map(|d| Some(*d))),
                self.dtype.descr(),
                n.map_or("more than the address space".to_string(), |n| n.to_string()),
            ))),
        }
    }

    /// The elements in C order and little-endian byte order, borrowed when they already are;
    /// fails like [`check_len`](Self::check_len).
    pub fn c_order_le(&self) -> Result<Cow<'_, [u8]>> {
        self.check_len()?;
        let transpose = self.fortran_order && !is_c_contiguous(self.shape);
        let unit = self.dtype.swap_unit();
        let swap = self.dtype.big_endian && unit > 1;
        if !transpose && !swap {
            return Ok(Cow::Borrowed(self.data));
        }
        let mut out = match transpose {
            true => fortran_to_c(self.data, self.shape, self.dtype.itemsize),
            false => self.data.to_vec(),
        };
        if swap {
            out.chunks_exact_mut(unit).for_each(<[u8]>::reverse);
        }
        Ok(Cow::Owned(out))
    }
}

/// What the field being decoded declares; checked against headers before anything is allocated.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Required dtype kind.
    pub kind: Kind,
    /// Required item size in bytes; `None` for strings of any width.
    pub itemsize: Option<usize>,
    /// Required shape: same rank, `None` matches any size.
    pub shape: &'a [Option<usize>],
}

impl Expect<'_> {
    /// `Decode` error unless `dtype` has the expected kind (and item size, when fixed).
    pub fn check_dtype(&self, dtype: ArrayDType) -> Result<()> {
        if dtype.kind == self.kind && self.itemsize.is_none_or(|s| s == dtype.itemsize) {
            return Ok(());
        }
        let expected = match (self.kind, self.itemsize) {
            (_, Some(size)) => format!("'{}'", ArrayDType::native(self.kind, size).descr()),
            (Kind::Unicode, None) => "a unicode string dtype ('<U')".to_string(),
            (Kind::Bytes, None) => "a bytes dtype ('|S')".to_string(),
            (kind, None) => format!("a {kind:?} dtype"),
        };
        Err(Error::decode(format!("expected dtype {expected}, found '{}'", dtype.descr())))
    }

    /// `Decode` error unless `shape` has the expected rank and every fixed dimension matches.
    pub fn check_shape(&self, shape: &[usize]) -> Result<()> {
        let fits =
            shape.len() == self.shape.len() && shape.iter().zip(self.shape).all(|(d, e)| e.is_none_or(|e| e == *d));
        match fits {
            true => Ok(()),
            false => Err(Error::decode(format!(
                "expected shape {}, found {}",
                fmt_shape(self.shape.iter().copied()),
                fmt_shape(shape.iter().map(|d| Some(*d))),
            ))),
        }
    }

    /// The exact byte size of the data when dtype and shape are fully fixed.
    pub fn fixed_byte_len(&self) -> Option<usize> {
        self.shape.iter().try_fold(self.itemsize?, |n, d| n.checked_mul((*d)?))
    }
}

/// Image file formats of `CompressedImageCodec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
}

/// `product(shape) × itemsize`, or `None` on overflow.
pub fn byte_len(dtype: ArrayDType, shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(dtype.itemsize, |n, d| n.checked_mul(*d))
}

/// Formats a shape as Python prints a tuple: `()`, `(5,)`, `(None, 128, 3)`.
pub fn fmt_shape(dims: impl Iterator<Item = Option<usize>>) -> String {
    let dims: Vec<String> = dims.map(|d| d.map_or("None".to_string(), |d| d.to_string())).collect();
    match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    }
}

/// True when C and Fortran order lay the elements out identically (NumPy then reports the
/// array as C-contiguous): empty arrays, and those with at most one dimension above 1.
pub fn is_c_contiguous(shape: &[usize]) -> bool {
    shape.contains(&0) || shape.iter().filter(|d| **d > 1).count() <= 1
}

/// Reorders Fortran-order elements of `item` bytes into C order.
/// `data` must hold exactly `product(shape) × item` bytes.
fn fortran_to_c(data: &[u8], shape: &[usize], item: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let Some((&inner, outer)) = shape.split_last() else {
        return data.to_vec();
    };
    if data.is_empty() {
        return out;
    }
    // Fortran strides in bytes: the first axis varies fastest.
    let strides: Vec<usize> = shape
        .iter()
        .scan(item, |s, d| {
            let cur = *s;
            *s *= d;
            Some(cur)
        })
        .collect();
    let inner_stride = strides[outer.len()];
    let mut index = vec![0usize; outer.len()];
    loop {
        let base: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        for j in 0..inner {
            let at = base + j * inner_stride;
            out.extend_from_slice(&data[at..at + item]);
        }
        // Advance the C-order odometer over the outer axes (last outer axis fastest).
        let mut axis = outer.len();
        loop {
            if axis == 0 {
                return out;
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < outer[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_to_c_transposes_any_rank() {
        // F-order (2,3) of 0..6 is [[0,2,4],[1,3,5]].
        assert_eq!(fortran_to_c(&[0, 1, 2, 3, 4, 5], &[2, 3], 1), vec![0, 2, 4, 1, 3, 5]);
        // (2,2,2): C index (i,j,k) ↔ F offset i + 2j + 4k.
        let f: Vec<u8> = (0..8).collect();
        let c: Vec<u8> = (0..8u8).map(|n| (n >> 2) + ((n >> 1) & 1) * 2 + (n & 1) * 4).collect();
        assert_eq!(fortran_to_c(&f, &[2, 2, 2], 1), c);
        // 2-byte items move as a whole.
        assert_eq!(fortran_to_c(&[0, 10, 1, 11, 2, 12, 3, 13], &[2, 2], 2), vec![0, 10, 2, 12, 1, 11, 3, 13]);
        assert_eq!(fortran_to_c(&[7], &[], 1), vec![7]);
    }

    #[test]
    fn shapes_format_like_python() {
        assert_eq!(fmt_shape([].into_iter()), "()");
        assert_eq!(fmt_shape([Some(5)].into_iter()), "(5,)");
        assert_eq!(fmt_shape([None, Some(3)].into_iter()), "(None, 3)");
    }
}
