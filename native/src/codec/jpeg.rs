//! JPEG through libjpeg-turbo's TurboJPEG 3 API, built from source by `turbojpeg-sys`
//! (its x86-64 SIMD needs NASM at build time). It is the library inside OpenCV, so with
//! OpenCV's settings (baseline, 4:2:0 chroma, accurate integer DCT, smooth upsampling) files
//! and decoded pixels match upstream Petastorm's byte for byte.
//!
//! Each thread keeps one compressor and one decompressor and reuses them.
//!
//! 224x224x3 photo at quality 90, one thread (`benches/codecs.rs` against `codecs_reference.py`,
//! best of 6 alternating runs on a loaded 2-core machine): decode 1,108 cells/s (OpenCV 832;
//! `image`/zune-jpeg, used before, 661), encode 1,793 (OpenCV 1,566; `jpeg-encoder` 465).

use std::cell::RefCell;
use std::ffi::{c_int, CStr};
use std::thread::LocalKey;

use turbojpeg_sys as tj;

use crate::error::{Error, Result};

/// Progressive scans allowed per file: real files have about ten; the limit keeps a crafted
/// file with thousands of tiny scans from taking minutes to decode.
const MAX_SCANS: c_int = 500;

/// What a JPEG's header declares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    pub height: usize,
    pub width: usize,
    /// 1 (gray) or 3 (colour, decoded as RGB).
    pub channels: usize,
}

/// One TurboJPEG instance, destroyed on drop.
struct Handle(tj::tjhandle);

impl Handle {
    fn new(kind: tj::TJINIT) -> Result<Self> {
        // SAFETY: tj3Init has no preconditions; a null result is handled.
        let ptr = unsafe { tj::tj3Init(kind as c_int) };
        if ptr.is_null() {
            return Err(Error::internal("libjpeg-turbo could not create a codec instance"));
        }
        Ok(Handle(ptr))
    }

    /// The message of the last failed call on this instance.
    fn message(&self) -> String {
        // SAFETY: the handle is live; TurboJPEG returns a NUL-terminated string it owns.
        unsafe { CStr::from_ptr(tj::tj3GetErrorStr(self.0)) }.to_string_lossy().into_owned()
    }

    /// Whether the last failure was only a warning (damaged data decoded as far as possible).
    fn only_warned(&self) -> bool {
        // SAFETY: the handle is live.
        let code = unsafe { tj::tj3GetErrorCode(self.0) };
        code == tj::TJERR_TJERR_WARNING as c_int
    }

    fn set(&mut self, param: tj::TJPARAM, value: c_int) -> Result<()> {
        // SAFETY: the handle is live; unknown parameters or values are reported, not UB.
        match unsafe { tj::tj3Set(self.0, param as c_int, value) } {
            0 => Ok(()),
            _ => Err(Error::internal(format!("libjpeg-turbo refused a setting: {}", self.message()))),
        }
    }

    fn get(&self, param: tj::TJPARAM) -> c_int {
        // SAFETY: the handle is live.
        unsafe { tj::tj3Get(self.0, param as c_int) }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle is live and dropped once.
        unsafe { tj::tj3Destroy(self.0) }
    }
}

thread_local! {
    static COMPRESSOR: RefCell<Option<Handle>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's instance of `kind`, creating it on first use.
fn with_handle<T>(
    slot: &'static LocalKey<RefCell<Option<Handle>>>,
    kind: tj::TJINIT,
    f: impl FnOnce(&mut Handle) -> Result<T>,
) -> Result<T> {
    slot.with(|slot| {
        let mut slot = slot.borrow_mut();
        let handle = match &mut *slot {
            Some(handle) => handle,
            None => {
                let mut handle = Handle::new(kind)?;
                if kind == tj::TJINIT_TJINIT_DECOMPRESS {
                    handle.set(tj::TJPARAM_TJPARAM_SCANLIMIT, MAX_SCANS)?;
                }
                slot.insert(handle)
            }
        };
        f(handle)
    })
}

/// Encodes `pixels` (C-order, `channels` 1 or 3 interleaved RGB samples per pixel; sides
/// checked by the caller to fit a JPEG) at `quality` 1–100, appending the file to `out`.
pub fn encode_into(
    pixels: &[u8],
    height: usize,
    width: usize,
    channels: usize,
    quality: u8,
    out: &mut Vec<u8>,
) -> Result<()> {
    let (format, subsamp) = match channels {
        1 => (tj::TJPF_TJPF_GRAY, tj::TJSAMP_TJSAMP_GRAY),
        _ => (tj::TJPF_TJPF_RGB, tj::TJSAMP_TJSAMP_420),
    };
    assert_eq!(pixels.len(), height * width * channels, "JPEG pixel buffer does not match its shape");
    let (w, h) = (width as c_int, height as c_int);
    with_handle(&COMPRESSOR, tj::TJINIT_TJINIT_COMPRESS, |handle| {
        handle.set(tj::TJPARAM_TJPARAM_QUALITY, quality.clamp(1, 100).into())?;
        handle.set(tj::TJPARAM_TJPARAM_SUBSAMP, subsamp as c_int)?;
        // Compress straight into `out`'s spare room, sized for the worst case.
        handle.set(tj::TJPARAM_TJPARAM_NOREALLOC, 1)?;
        // SAFETY: pure function of its arguments.
        let room = unsafe { tj::tj3JPEGBufSize(w, h, subsamp as c_int) } as usize;
        out.reserve(room);
        let start = out.len();
        let mut dst = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
        let mut written = room as tj::size_t;
        // SAFETY: `pixels` holds h rows of w * channels bytes; `dst` has `room` writable bytes,
        // the most TurboJPEG writes for this size with reallocation turned off.
        let status =
            unsafe { tj::tj3Compress8(handle.0, pixels.as_ptr(), w, 0, h, format as c_int, &mut dst, &mut written) };
        if status != 0 {
            return Err(Error::internal(format!("JPEG encoding failed: {}", handle.message())));
        }
        // SAFETY: TurboJPEG initialised `written` (≤ `room`) bytes after `start`.
        unsafe { out.set_len(start + written as usize) };
        Ok(())
    })
}

/// Reads the header, lets `check` refuse it (before any pixel is decoded), then decodes.
///
/// Damaged entropy data decodes as far as possible, as in libjpeg and OpenCV; an unreadable
/// header, CMYK, or a sample precision other than 8 bits is a `Decode` error.
pub fn decode(bytes: &[u8], check: impl FnOnce(&Header) -> Result<usize>) -> Result<(Header, Vec<u8>)> {
    with_handle(&DECOMPRESSOR, tj::TJINIT_TJINIT_DECOMPRESS, |handle| {
        let header = read_header(handle, bytes)?;
        let mut data = vec![0u8; check(&header)?];
        decompress(handle, bytes, &header, &mut data)?;
        Ok((header, data))
    })
}

/// [`decode`] into `out`, which must hold exactly the pixels the checked header announces
/// (a `Decode` error otherwise).
pub fn decode_into(bytes: &[u8], check: impl FnOnce(&Header) -> Result<usize>, out: &mut [u8]) -> Result<()> {
    with_handle(&DECOMPRESSOR, tj::TJINIT_TJINIT_DECOMPRESS, |handle| {
        let header = read_header(handle, bytes)?;
        let len = check(&header)?;
        if len != out.len() {
            return Err(Error::decode(format!("the JPEG decodes to {len} bytes, expected {}", out.len())));
        }
        decompress(handle, bytes, &header, out)
    })
}

/// Decompresses `bytes`, whose header `handle` has just read, into `data` (its pixels' size).
fn decompress(handle: &mut Handle, bytes: &[u8], header: &Header, data: &mut [u8]) -> Result<()> {
    assert_eq!(data.len(), header.height * header.width * header.channels, "JPEG check sized the buffer wrongly");
    let format = if header.channels == 1 { tj::TJPF_TJPF_GRAY } else { tj::TJPF_TJPF_RGB };
    // SAFETY: `data` holds the height x width x channels bytes this header announces; the
    // decoder re-reads the same header from the same bytes and writes no more.
    let status = unsafe {
        tj::tj3Decompress8(handle.0, bytes.as_ptr(), bytes.len() as tj::size_t, data.as_mut_ptr(), 0, format as c_int)
    };
    if status != 0 && !handle.only_warned() {
        return Err(Error::decode(format!("invalid JPEG: {}", handle.message())));
    }
    Ok(())
}

/// The header of `bytes`, or a `Decode` error.
pub fn header(bytes: &[u8]) -> Result<Header> {
    with_handle(&DECOMPRESSOR, tj::TJINIT_TJINIT_DECOMPRESS, |handle| read_header(handle, bytes))
}

fn read_header(handle: &mut Handle, bytes: &[u8]) -> Result<Header> {
    // SAFETY: the handle is live and `bytes` is a valid slice.
    if unsafe { tj::tj3DecompressHeader(handle.0, bytes.as_ptr(), bytes.len() as tj::size_t) } != 0 {
        return Err(Error::decode(format!("invalid JPEG: {}", handle.message())));
    }
    let channels = match handle.get(tj::TJPARAM_TJPARAM_COLORSPACE) as tj::TJCS {
        tj::TJCS_TJCS_GRAY => 1,
        tj::TJCS_TJCS_RGB | tj::TJCS_TJCS_YCbCr => 3,
        _ => return Err(Error::decode("CMYK JPEGs are not supported")),
    };
    let precision = handle.get(tj::TJPARAM_TJPARAM_PRECISION);
    if precision != 8 {
        return Err(Error::decode(format!("{precision}-bit JPEGs are not supported (8-bit only)")));
    }
    let side = |param| usize::try_from(handle.get(param)).map_err(|_| Error::decode("invalid JPEG: bad image size"));
    Ok(Header { height: side(tj::TJPARAM_TJPARAM_JPEGHEIGHT)?, width: side(tj::TJPARAM_TJPARAM_JPEGWIDTH)?, channels })
}
